"""verl reward hook: one :class:`~extensions.rewards.combine.RewardComputer` call per verl call.

verl 0.9.x calls ``compute_score(data_source=..., solution_str=<decoded response>,
ground_truth=<reward_model.ground_truth>, extra_info=<parquet extra_info>, **reward_kwargs)``
from each reward-loop worker (a Ray actor); a coroutine function such as
:func:`compute_score_async` it awaits directly on its event loop. Users point verl at the
thin file ``extensions/verl_hook.py``, which re-exports these functions.

* The returned dict always has the same keys (``score``, ``acc``, the components, one-hot
  ``status_*``) and finite float values: verl builds its metric columns from the first sample.
* Per-sample inputs never raise (``None``, a missing database, a malformed ground truth,
  hostile SQL give a defined score and status). A configuration that cannot be built
  raises :class:`~extensions.errors.ConfigError` naming the key, on the first call.
* Thread-safe; each process (Ray actor) lazily starts its own worker pool, cleaned up at exit.

``reward_kwargs``: ``config=<yaml>`` (else ``$EXTENSIONS_CONFIG``, else defaults),
``overrides`` (``section.key=value`` items, a list or a comma-separated string) and
``db_root`` (sets ``data.db_root``). Any other key is a configuration mistake.

>>> compute_score("demo", "no sql here", "SELECT 1", None, overrides=["reward.baseline=arctic"])["score"]
0.0
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from extensions._util.coalesce import Coalescer, by_group
from extensions._util.log import log_once
from extensions.config import Config
from extensions.execution.status import ALL_STATUSES
from extensions.integrations import computers
from extensions.rewards.breakdown import EnhancedRewardResult
from extensions.rewards.combine import RewardComputer

log = logging.getLogger("extensions.verl_hook")

VERL_KWARGS = ("reward_router_address", "reward_model_tokenizer")  # passed by verl, unused here


def node_cores() -> int:
    """The cores this process may use on the node it runs on (its CPU affinity, else the CPU count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def share_node_cores(cfg: Config, cores: int | None = None) -> Config:
    """``cfg`` with ``execution.workers: 0`` (auto) sized for one of the reward-loop actors on this node.

    Every reward-loop worker (a Ray actor) starts its own sandbox pool; ``verl.reward_num_workers`` actors
    spread over ``verl.nnodes`` nodes share each node's cores instead of each starting an all-cores pool.
    This runs inside the actor, on the training node, so the launching machine's cores do not matter.

    Args:
        cfg: the configuration the hook loaded.
        cores: the node's usable cores (default: :func:`node_cores`).

    Returns:
        ``cfg`` itself when ``execution.workers`` is set, else a copy with ``cores // actors per node`` workers.

    >>> from extensions.config import load_config
    >>> cfg = load_config(overrides=["verl.reward_num_workers=8", "verl.nnodes=2"], env=False)
    >>> share_node_cores(cfg, cores=32).execution.workers   # 4 actors per node
    8
    """
    if cfg.execution.workers != 0:
        return cfg
    per_node = math.ceil(cfg.verl.reward_num_workers / cfg.verl.nnodes)
    out = cfg.model_copy(deep=True)
    out.execution.workers = max(1, (cores or node_cores()) // per_node)
    return out


def get_computer(**kwargs: Any) -> RewardComputer:
    """The process-wide computer for these ``reward_kwargs`` (built once, thread-safe).

    Args:
        **kwargs: ``config``, ``overrides``, ``db_root`` (and verl's own keys, ignored).

    Returns:
        The computer; the same object for the same configuration.

    Raises:
        ConfigError: the configuration cannot be built; the message names the key.

    >>> get_computer() is get_computer(reward_router_address=None)
    True
    """
    return computers.get_computer(VERL_KWARGS, share_node_cores, **kwargs)


def _fallback(keys: Sequence[str], status: str) -> dict[str, float]:
    out = dict.fromkeys(keys, 0.0)
    out[f"status_{status}"] = 1.0
    return out


def _default_keys() -> tuple[str, ...]:
    return ("score", "acc") + tuple(f"status_{s}" for s in ALL_STATUSES)


def _breakdown(result: EnhancedRewardResult) -> dict[str, float]:
    """The breakdown verl records: fixed keys, finite floats (the combiner guarantees both).

    A sample nothing can verify (on several nodes, one may lack the database files) is logged by
    the combiner, rate-limited, naming the host and the database path.
    """
    return result.breakdown


def _scoring_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k not in VERL_KWARGS}


def compute_score(
    data_source: Any = None,
    solution_str: Any = None,
    ground_truth: Any = None,
    extra_info: Any = None,
    **kwargs: Any,
) -> dict[str, float]:
    """Score one response for verl.

    Args:
        data_source: verl's data source (unused).
        solution_str: the decoded response.
        ground_truth: ``{"sql", "db_path"|"db_id"}``, a JSON string of it, or SQL.
        extra_info: the row's ``extra_info`` (may carry ``db_id``/``db_path``).
        **kwargs: ``reward_kwargs``: ``config``, ``overrides``, ``db_root``.

    Returns:
        The breakdown: ``score``, ``acc``, components, ``status_*``; finite floats, fixed keys.

    Raises:
        ConfigError: only for a configuration that cannot be built; never for a sample.

    >>> compute_score("demo", None, None)["status_gold_error"]
    1.0
    """
    computer = get_computer(**kwargs)
    try:
        result = computer.compute_reward(
            solution_str, ground_truth, extra_info=extra_info if isinstance(extra_info, Mapping) else None
        )
        return _breakdown(result)
    except Exception as exc:  # compute_reward never raises; this is belt and braces
        log_once(
            log, f"score:{type(exc).__name__}", "extensions.verl_hook: internal error %r; score 0", exc, exc_info=True
        )
        return _fallback(computer.keys, "internal_error")


async def compute_score_async(
    data_source: Any = None,
    solution_str: Any = None,
    ground_truth: Any = None,
    extra_info: Any = None,
    **kwargs: Any,
) -> dict[str, float]:
    """``async`` :func:`compute_score`, the fastest entry point for verl's reward loop.

    verl awaits it once per sample for a whole batch at once; the calls made together on
    one event loop are scored as one :func:`compute_score_batch` call in a thread (the same
    results as :func:`compute_score`); the event loop never blocks.

    Args:
        data_source, solution_str, ground_truth, extra_info, **kwargs: as :func:`compute_score`.

    Returns:
        The breakdown, as :func:`compute_score`.

    Raises:
        ConfigError: only for a configuration that cannot be built.

    >>> import asyncio
    >>> asyncio.run(compute_score_async("demo", None, None))["status_gold_error"]
    1.0
    """
    key = computers.config_key(kwargs, VERL_KWARGS)
    computers.computer_for(key, share_node_cores)  # a config mistake raises here, in the caller
    return await coalescer.submit((data_source, solution_str, ground_truth, extra_info, kwargs, key))


_Call = tuple[Any, Any, Any, Any, dict[str, Any], tuple]  # verl's four arguments, reward_kwargs, their config key


def _score_coalesced(items: list[_Call]) -> list[dict[str, float]]:
    """:func:`compute_score_batch` over calls that may carry different ``reward_kwargs`` (grouped by config key)."""

    def run(group: list[_Call]) -> list[dict[str, float]]:
        sources, sols, gts, extras, kwargs, _ = zip(*group)
        return compute_score_batch(list(sources), list(sols), list(gts), list(extras), **_scoring_kwargs(kwargs[0]))

    return by_group(items, lambda it: it[5], run)


def _coalesced_fallback(item: _Call, exc: BaseException) -> dict[str, float]:
    """A failed batch: ``internal_error`` with the computer's usual keys."""
    try:
        keys = get_computer(**item[4]).keys
    except Exception:  # the config was checked when the call was made; keep a stable shape anyway
        keys = _default_keys()
    return _fallback(keys, "internal_error")


coalescer = Coalescer(_score_coalesced, _coalesced_fallback, name="compute_score_async")


def _at(seq: Any, i: int) -> Any:
    try:
        return seq[i] if seq is not None else None
    except (IndexError, TypeError, KeyError):
        return None


def compute_score_batch(
    data_sources: Sequence[Any] | None = None,
    solution_strs: Sequence[Any] | None = None,
    ground_truths: Sequence[Any] | None = None,
    extra_infos: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[dict[str, float]]:
    """For ``BatchRewardManager``: sequences in (lists, tuples, numpy arrays), one breakdown per sample out.

    The batch's distinct statements run first, then every sample is scored from cache
    (:meth:`RewardComputer.compute_rewards`): the same results as :func:`compute_score`.

    Args:
        data_sources, solution_strs, ground_truths, extra_infos: one entry per sample; missing entries are ``None``.
        **kwargs: ``reward_kwargs``, as :func:`compute_score`.

    Returns:
        One breakdown per solution, in order.

    Raises:
        ConfigError: only for a configuration that cannot be built.

    >>> import numpy as np
    >>> [b["status_gold_error"] for b in compute_score_batch(None, np.array(["SELECT 1", "x"]), None)]
    [1.0, 1.0]
    """
    computer = get_computer(**kwargs)
    sols = list(solution_strs) if solution_strs is not None else []
    n = len(sols)
    gts = [_at(ground_truths, i) for i in range(n)]
    extras = [e if isinstance(e, Mapping) else None for e in (_at(extra_infos, i) for i in range(n))]
    try:
        return [r.breakdown for r in computer.compute_rewards(sols, gts, extra_infos=extras)]  # as _breakdown
    except Exception as exc:  # compute_rewards never raises; this is belt and braces
        log_once(
            log,
            f"batch:{type(exc).__name__}",
            "extensions.verl_hook: internal error %r; batch scored 0",
            exc,
            exc_info=True,
        )
        return [_fallback(computer.keys, "internal_error") for _ in range(n)]


def compute_score_prime(data_source: Any, completion: Any, reference: Any, extra_info: Any = None) -> float:
    """For ``PrimeRewardManager``, which calls ``fn(data_source, completion, reference, extra_info)`` positionally.

    Args:
        data_source, completion, reference, extra_info: as :func:`compute_score`'s first four.

    Returns:
        The total reward.

    >>> compute_score_prime("demo", None, None)
    0.0
    """
    return compute_score(data_source, completion, reference, extra_info)["score"]
