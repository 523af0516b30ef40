"""Build (and run) the ``python -m verl.trainer.main_ppo ...`` command from our config.

    python -m extensions.verl_launch --config configs/train_24gb.yaml --print
    python -m extensions.verl_launch --config configs/verl_8gpu.yaml --set verl.nnodes=2

The command runs GRPO (``algorithm.adv_estimator=grpo``) with ``rollout.n``
samples per prompt, the KL loss, LoRA (rank, alpha, target modules; vLLM then
needs ``load_format=safetensors``), gradient checkpointing, FSDP offload,
``gpu_memory_utilization`` and the single- or multi-node ``trainer.*`` keys,
and wires our reward in with the hook keys of the installed verl version:

* verl >= 0.8: ``reward.custom_reward_function.path/name`` and
  ``+reward.custom_reward_function.reward_kwargs.config=<yaml>``; on verl >= 0.9
  the name is ``verl.reward_hook`` (default ``compute_score_async``: verl's
  reward loop awaits it per sample and the calls of a batch are scored
  together);
* verl <= 0.7: the top-level ``custom_reward_function.*`` keys (0.9 accepts
  those but silently ignores them, and training then dies with
  ``NotImplementedError: Reward function is not implemented for data_source=...``).

The v1 trainer of verl 0.9 imports ``transfer_queue``, which ``pip install verl``
does not install, so ``trainer.use_v1=False`` is set unless ``verl.use_v1``
is true in the config.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata

from extensions.config import ENV_PREFIX, Config, config_path, dump_config, load_config
from extensions.errors import ConfigError

HOOK_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "verl_hook.py")
DEFAULT_VERSION = (0, 9, 1)


def installed_verl_version() -> tuple[int, ...] | None:
    """The installed verl version as a tuple, or None when verl is not installed."""
    try:
        v = metadata.version("verl")
    except metadata.PackageNotFoundError:
        return None
    parts = []
    for p in v.split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) or None


def parse_version(text: str) -> tuple[int, ...]:
    """``"0.9.1"`` -> ``(0, 9, 1)``.

    >>> parse_version("0.7.0")
    (0, 7, 0)
    """
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def reward_overrides(
    config_path: str, version: tuple[int, ...], *, hook_name: str = "compute_score", overrides: Sequence[str] = ()
) -> list[str]:
    """The hook keys for ``version`` of verl.

    Args:
        config_path: the YAML config the hook reads (``reward_kwargs.config``).
        version: the verl version.
        hook_name: the hook function's name.
        overrides: ``section.key=value`` items the hook applies on top of that file (``reward_kwargs.overrides``).

    Returns:
        Hydra overrides.

    >>> reward_overrides("/c.yaml", (0, 9, 1), overrides=["reward.schema_weight=-0.3"])[-1]
    '+reward.custom_reward_function.reward_kwargs.overrides=["reward.schema_weight=-0.3"]'
    """
    prefix = "reward.custom_reward_function" if version >= (0, 8) else "custom_reward_function"
    out = [
        f"{prefix}.path={HOOK_PATH}",
        f"{prefix}.name={hook_name}",
        f"+{prefix}.reward_kwargs.config={config_path}",
    ]
    if overrides:
        out.append(f"+{prefix}.reward_kwargs.overrides=" + _list([json.dumps(o) for o in overrides]))
    return out


def _list(values: list[str]) -> str:
    return "[" + ",".join(values) + "]"


def _data_keys(cfg: Config) -> list[str]:
    """verl's ``algorithm.*`` and ``data.*`` keys."""
    o, v = cfg.optimization, cfg.verl
    return [
        "algorithm.adv_estimator=grpo",
        "algorithm.use_kl_in_reward=False",
        f"data.train_files={os.path.abspath(v.train_files)}",
        f"data.val_files={os.path.abspath(v.val_files)}",
        f"data.train_batch_size={v.train_batch_size}",
        f"data.max_prompt_length={o.max_prompt_length}",
        f"data.max_response_length={o.max_response_length}",
        "data.filter_overlong_prompts=True",
        "data.truncation=error",
    ]


def _actor_keys(cfg: Config) -> list[str]:
    """verl's ``actor_rollout_ref.*`` keys (LoRA aside)."""
    o, v, g, a = cfg.optimization, cfg.verl, cfg.grpo, "actor_rollout_ref"
    return [
        f"{a}.model.path={o.model_name}",
        f"{a}.model.enable_gradient_checkpointing={o.gradient_checkpointing}",
        f"{a}.model.use_remove_padding=True",
        f"{a}.actor.optim.lr={o.learning_rate}",
        f"{a}.actor.ppo_mini_batch_size={v.ppo_mini_batch_size}",
        f"{a}.actor.ppo_micro_batch_size_per_gpu={v.ppo_micro_batch_size_per_gpu}",
        f"{a}.actor.use_kl_loss={v.kl_loss_coef > 0}",
        f"{a}.actor.kl_loss_coef={v.kl_loss_coef}",
        f"{a}.actor.kl_loss_type=low_var_kl",
        f"{a}.actor.entropy_coeff={v.entropy_coeff}",
        f"{a}.actor.clip_ratio={g.epsilon}",
        f"{a}.actor.fsdp_config.param_offload={v.param_offload}",
        f"{a}.actor.fsdp_config.optimizer_offload={v.optimizer_offload}",
        f"{a}.ref.fsdp_config.param_offload={v.param_offload}",
        f"{a}.ref.log_prob_micro_batch_size_per_gpu={v.ppo_micro_batch_size_per_gpu}",
        f"{a}.rollout.name={v.rollout_name}",
        f"{a}.rollout.n={v.rollout_n}",
        f"{a}.rollout.temperature={g.temperature}",
        f"{a}.rollout.gpu_memory_utilization={v.gpu_memory_utilization}",
        f"{a}.rollout.tensor_model_parallel_size={v.tensor_model_parallel_size}",
        f"{a}.rollout.log_prob_micro_batch_size_per_gpu={v.ppo_micro_batch_size_per_gpu}",
    ]


def _trainer_keys(cfg: Config, version: tuple[int, ...]) -> list[str | None]:
    """verl's ``reward.*`` and ``trainer.*`` keys."""
    v = cfg.verl
    return [
        f"reward.num_workers={v.reward_num_workers}" if version >= (0, 8) else None,
        f"trainer.n_gpus_per_node={v.n_gpus_per_node}",
        f"trainer.nnodes={v.nnodes}",
        "trainer.critic_warmup=0",
        "trainer.logger=" + _list(["console", "wandb"] if cfg.logging.wandb.enabled else ["console"]),
        f"trainer.project_name={v.project_name}",
        f"trainer.experiment_name={v.experiment_name}",
        f"trainer.save_freq={v.save_freq}",
        f"trainer.test_freq={v.test_freq}",
        f"trainer.total_epochs={v.total_epochs}",
        f"trainer.default_local_dir={os.path.abspath(os.path.join(cfg.logging.output_dir, 'verl_checkpoints'))}",
    ]


def build_overrides(
    cfg: Config,
    config_path: str,
    version: tuple[int, ...] = DEFAULT_VERSION,
    hook_overrides: Sequence[str] = (),
    tool_config: str | None = None,
) -> list[str]:
    """Hydra overrides for ``verl.trainer.main_ppo`` (without the program name).

    Args:
        cfg: the resolved config.
        config_path: the YAML config the hook reads.
        version: the verl version whose keys to use.
        hook_overrides: ``section.key=value`` items the hook applies on top of ``config_path``.
        tool_config: the SQL tool's YAML for a multi-turn run (``--multi-turn``); None: single-turn.

    Returns:
        The overrides, verl's keys first, the hook's last, then ``verl.extra_overrides``.
    """
    o, v = cfg.optimization, cfg.verl
    a = "actor_rollout_ref"
    out = [*_data_keys(cfg), *_actor_keys(cfg), *_trainer_keys(cfg, version)]
    if o.lora.enabled:
        out += [
            f"{a}.model.lora_rank={o.lora.r}",
            f"{a}.model.lora_alpha={o.lora.alpha}",
            f"{a}.model.target_modules={_list(o.lora.target_modules)}",
            f"{a}.rollout.load_format=safetensors",  # vLLM needs real weights to attach LoRA
        ]
    if version >= (0, 9) and not v.use_v1:
        out.append("trainer.use_v1=False")
    hook = v.reward_hook if version >= (0, 9) else "compute_score"
    hook_keys = reward_overrides(config_path, version, hook_name=hook, overrides=hook_overrides)
    if tool_config is not None:
        from extensions.integrations.verl.multiturn import episode_hook, multi_turn_overrides

        out += multi_turn_overrides(cfg, tool_config)
        hook_keys = episode_hook(hook_keys)
    out += hook_keys
    out += list(v.extra_overrides)
    return [x for x in out if x is not None]


def build_command(
    cfg: Config,
    config_path: str,
    version: tuple[int, ...] = DEFAULT_VERSION,
    python: str = sys.executable,
    hook_overrides: Sequence[str] = (),
    tool_config: str | None = None,
) -> list[str]:
    """``[python, "-m", "verl.trainer.main_ppo", *overrides]`` for ``cfg``, the hook reading ``config_path``."""
    overrides = build_overrides(cfg, config_path, version, hook_overrides, tool_config)
    return [python, "-m", "verl.trainer.main_ppo", *overrides]


def _gpus() -> int:
    try:
        import torch
    except ImportError:
        return 0
    try:
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # a broken driver counts as no GPU
        return 0


def missing_requirements(cfg: Config) -> list[str]:
    """What this machine lacks to run the verl command: verl, enough CUDA GPUs, the rollout engine.

    Args:
        cfg: the resolved config (``verl.n_gpus_per_node``, ``verl.rollout_name``).

    Returns:
        One short phrase per missing piece; empty when the command can run here.

    >>> cfg = load_config(overrides=["verl.n_gpus_per_node=1000"], env=False)
    >>> any("1000 CUDA GPU" in m for m in missing_requirements(cfg))
    True
    """
    missing = []
    if installed_verl_version() is None:
        missing.append("verl is not installed (pip install 'text2sql-rewards[verl]')")
    gpus = _gpus()
    if gpus < cfg.verl.n_gpus_per_node:
        missing.append(f"{cfg.verl.n_gpus_per_node} CUDA GPU(s) per node wanted, {gpus} usable")
    engine = cfg.verl.rollout_name
    if engine in ("vllm", "sglang") and importlib.util.find_spec(engine) is None:
        missing.append(f"the rollout engine {engine} is not installed")
    return missing


def missing_data(cfg: Config) -> list[str]:
    """The train/val parquet files the command names that do not exist.

    >>> missing_data(load_config(overrides=["verl.train_files=/nope.parquet"], env=False))[0]
    'verl.train_files=/nope.parquet'
    """
    files = (("train_files", cfg.verl.train_files), ("val_files", cfg.verl.val_files))
    return [f"verl.{k}={p}" for k, p in files if not os.path.exists(p)]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m extensions.verl_launch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", required=True, help="our YAML config (see configs/)")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value, e.g. verl.nnodes=2"
    )
    p.add_argument(
        "--print",
        action="store_true",
        help="print the command instead of running it; the hook reads "
        "--config with the --set overrides (writes nothing unless --write-config)",
    )
    p.add_argument(
        "--write-config",
        metavar="PATH",
        help="write the resolved reward config the hook reads to PATH "
        "(default when running: <logging.output_dir>/reward_config.yaml)",
    )
    p.add_argument(
        "--multi-turn",
        action="store_true",
        help="rollouts call the SQL tool (execute_sql) before "
        "answering; needs data from `python -m extensions.data prepare --multi-turn`",
    )
    p.add_argument("--verl-version", help="assume this verl version instead of the installed one (e.g. 0.7.0)")
    return p


def launch_overrides(items: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """The launch's ``EXTENSIONS__*`` environment variables as ``section.key=value`` items, then ``items``.

    The printed command hands them to the hook (``reward_kwargs.overrides``), so that it works on the training
    nodes without a written copy of the config and without the launching shell's environment.

    >>> launch_overrides(["verl.nnodes=2"], {"EXTENSIONS__REWARD__SCHEMA_WEIGHT": "-0.3", "HOME": "/root"})
    ['reward.schema_weight=-0.3', 'verl.nnodes=2']
    """
    env = os.environ if environ is None else environ
    from_env = [
        f"{k[len(ENV_PREFIX) :].lower().replace('__', '.')}={v}"
        for k, v in sorted(env.items())
        if k.startswith(ENV_PREFIX)
    ]
    return from_env + list(items)


def _version(arg: str | None) -> tuple[int, ...]:
    if arg:
        return parse_version(arg)
    if installed_verl_version() is None:
        print(f"# verl is not installed; assuming {'.'.join(map(str, DEFAULT_VERSION))}", file=sys.stderr)
    return installed_verl_version() or DEFAULT_VERSION


def _write(cfg: Config, path: str) -> str:
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    dump_config(cfg, path)
    print(f"# wrote the reward config the hook reads: {path}", file=sys.stderr)
    return path


def _print_command(cmd: list[str]) -> None:
    head = " ".join(shlex.quote(c) for c in cmd[:3])
    print(" \\\n    ".join([head] + [shlex.quote(c) for c in cmd[3:]]))


def _tool_config(a: argparse.Namespace, cfg: Config, written: str | None) -> str | None:
    """With ``--multi-turn``: the SQL tool's YAML, written next to the written reward config (else only named)."""
    if not a.multi_turn:
        return None
    from extensions.integrations.verl.multiturn import tool_config_for, write_tool_config

    if written is not None:
        path = write_tool_config(written)
        print(f"# wrote the SQL tool config: {path}", file=sys.stderr)
        return path
    path = tool_config_for(os.path.join(os.path.abspath(cfg.logging.output_dir), "reward_config.yaml"))
    print(f"# not written: {path} (the command reads it; add --write-config to write it)", file=sys.stderr)
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m extensions.verl_launch``: 0 after ``--print``, 2 when verl cannot run here, else verl's code."""
    a = _parser().parse_args(argv)
    try:
        cfg = load_config(a.config, overrides=a.set)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for item in missing_data(cfg):
        print(f"warning: {item} does not exist (python -m extensions.data prepare writes it)", file=sys.stderr)
    version = _version(a.verl_version)
    if a.print:
        if a.write_config:
            path = _write(cfg, a.write_config)
            cmd = build_command(cfg, path, version, tool_config=_tool_config(a, cfg, path))
        else:  # the hook reads the same file with the same overrides: nothing to write, nothing to add
            source = os.path.abspath(config_path(a.config))
            hook = launch_overrides(a.set)
            cmd = build_command(cfg, source, version, hook_overrides=hook, tool_config=_tool_config(a, cfg, None))
        _print_command(cmd)
        return 0
    missing = missing_requirements(cfg)
    if missing:
        print(
            f"error: cannot run verl here: {'; '.join(missing)}. Use --print to get the command anyway.",
            file=sys.stderr,
        )
        return 2
    path = _write(cfg, a.write_config or os.path.join(cfg.logging.output_dir, "reward_config.yaml"))
    return subprocess.call(build_command(cfg, path, version, tool_config=_tool_config(a, cfg, path)))


if __name__ == "__main__":
    raise SystemExit(main())
