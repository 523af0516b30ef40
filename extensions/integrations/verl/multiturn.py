"""The verl overrides of a multi-turn run: the tool agent loop, the SQL tool's YAML, the episode reward hook.

``verl_launch --multi-turn`` adds these to the usual command (verl 0.9 keys):

* ``actor_rollout_ref.rollout.multi_turn.enable=True``, ``format=hermes`` (``<tool_call>{json}</tool_call>``),
  ``max_assistant_turns`` = the call budget + 1 (room for the final answer), ``max_parallel_calls=1``,
  ``max_tool_response_length`` = ``multi_turn.max_chars``, ``tool_config_path`` = the tool YAML;
* ``actor_rollout_ref.rollout.agent.default_agent_loop=tool_agent``;
* the reward hook :mod:`extensions.integrations.verl.episode` instead of the single-turn one.

The tool YAML is ``configs/verl_sql_tool.yaml`` with its ``config:`` set to the run's resolved config, written
next to it (:func:`write_tool_config`), so the tool and the reward read the same ``multi_turn`` and
``execution`` sections.

>>> from extensions.config import load_config
>>> ov = multi_turn_overrides(load_config(env=False), tool_config_for("/run/reward_config.yaml"))
>>> "actor_rollout_ref.rollout.multi_turn.tool_config_path=/run/verl_sql_tool.yaml" in ov
True
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import yaml

from extensions.config import PACKAGED_CONFIGS, Config

__all__ = ["EPISODE_HOOK_PATH", "episode_hook", "multi_turn_overrides", "tool_config_for", "write_tool_config"]

EPISODE_HOOK_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "episode.py")
TOOL_YAML = os.path.join(PACKAGED_CONFIGS, "verl_sql_tool.yaml")


def tool_config_for(config_path: str) -> str:
    """Where the run's tool YAML goes: next to the reward config.

    Args:
        config_path: the resolved reward config the hook reads.

    Returns:
        ``<its folder>/verl_sql_tool.yaml``.

    >>> tool_config_for("/run/reward_config.yaml")
    '/run/verl_sql_tool.yaml'
    """
    return os.path.join(os.path.dirname(os.path.abspath(config_path)), "verl_sql_tool.yaml")


def write_tool_config(config_path: str, overrides: Sequence[str] = ()) -> str:
    """Write the shipped tool YAML with ``config:`` set to ``config_path``; returns the file written.

    Args:
        config_path: the reward config (its ``multi_turn`` and ``execution`` sections bound the tool).
        overrides: ``section.key=value`` items applied on top of it, as the reward hook does.

    Returns:
        The path of the tool YAML, next to ``config_path``.
    """
    with open(TOOL_YAML) as fh:
        spec = yaml.safe_load(fh)
    for tool in spec["tools"]:
        tool["config"]["config"] = os.path.abspath(config_path)
        tool["config"]["overrides"] = list(overrides)
    path = tool_config_for(config_path)
    with open(path, "w") as fh:
        yaml.safe_dump(spec, fh, sort_keys=False)
    return path


def multi_turn_overrides(cfg: Config, tool_config_path: str) -> list[str]:
    """Hydra overrides (verl 0.9) that turn a GRPO rollout into a multi-turn one with the SQL tool.

    Args:
        cfg: the resolved config (``multi_turn.max_calls``, ``multi_turn.max_chars``).
        tool_config_path: the tool YAML (:func:`write_tool_config`).

    Returns:
        The rollout's overrides (the reward hook's keys come from :func:`episode_hook`).
    """
    mt = "actor_rollout_ref.rollout.multi_turn"
    return [
        f"{mt}.enable=True",
        f"{mt}.format=hermes",
        f"{mt}.max_assistant_turns={cfg.multi_turn.max_calls + 1}",
        f"{mt}.max_parallel_calls=1",
        f"{mt}.max_tool_response_length={cfg.multi_turn.max_chars}",
        f"{mt}.tool_config_path={os.path.abspath(tool_config_path)}",
        "actor_rollout_ref.rollout.agent.default_agent_loop=tool_agent",
    ]


def episode_hook(hook_overrides: list[str]) -> list[str]:
    """The single-turn hook's keys with its ``path`` pointing at the multi-turn hook (same name and kwargs).

    Args:
        hook_overrides: the ``custom_reward_function`` keys of the single-turn command.

    Returns:
        The same keys, the ``...custom_reward_function.path`` one replaced.

    >>> episode_hook(["reward.custom_reward_function.path=/x/verl_hook.py"])[0].endswith("verl/episode.py")
    True
    """
    return [
        o.split("=", 1)[0] + "=" + EPISODE_HOOK_PATH
        if o.split("=", 1)[0].endswith("custom_reward_function.path")
        else o
        for o in hook_overrides
    ]
