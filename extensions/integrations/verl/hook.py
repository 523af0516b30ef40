"""VERL reward hook: ``reward.custom_reward_function.path=<this file>``,
``name=compute_score_async`` (what ``extensions.verl_launch`` sets on verl >= 0.9)
or ``name=compute_score``.

verl 0.9.x calls ``compute_score(data_source=..., solution_str=<decoded response>,
ground_truth=<reward_model.ground_truth>, extra_info=<parquet extra_info>,
**reward_kwargs)`` from each reward-loop worker (a Ray actor), in the default
thread pool; a coroutine function such as :func:`compute_score_async` it
awaits directly on its event loop. This module turns each call into one
:class:`~extensions.rewards.combine.EnhancedRewardComputer` call and returns
its breakdown:

* the dict always has the same keys (``score``, ``acc`` = 1.0 on execution
  match, the components, one-hot ``status_*``), and every value is a finite
  float: verl builds its metric columns from the first sample's keys;
* it never raises, whatever arrives (``None``, a missing database, a
  malformed ground truth, hostile SQL): failures give ``score = 0`` with
  ``status_internal_error = 1`` or the matching status, logged once;
* it is thread-safe; each process (Ray actor) lazily starts its own worker
  pool, which is cleaned up at exit.

Configuration, first match wins: ``reward_kwargs.config=<yaml>``, then
``$EXTENSIONS_CONFIG``, then defaults; ``reward_kwargs.overrides`` takes
``section.key=value`` items (a list or a comma-separated string) and
``reward_kwargs.db_root`` sets ``data.db_root``.

``ground_truth`` is ``{"sql": ..., "db_path": ...}`` or ``{"sql": ..., "db_id": ...}``
(resolved under ``data.db_root``), or a JSON string of either; ``db_id``/``db_path``
may also come from ``extra_info``.

Other entry points: :func:`compute_score_async` (awaited directly by verl;
the calls of one batch are scored together, the fastest way in),
:func:`compute_score_batch` (``BatchRewardManager``) and
:func:`compute_score_prime` (``PrimeRewardManager``'s positional call).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

# verl loads this file by path; make the package importable even when it is
# used from a source checkout that was not pip-installed.
if __package__ in (None, ""):
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from extensions._util.coalesce import Coalescer, by_group  # noqa: E402
from extensions._util.forksafe import ForkSafeLock  # noqa: E402
from extensions._util.log import log_once  # noqa: E402
from extensions.config import CONFIG_ENV, Config, load_config  # noqa: E402
from extensions.execution.status import ALL_STATUSES  # noqa: E402
from extensions.rewards.combine import EnhancedRewardComputer  # noqa: E402

log = logging.getLogger("extensions.verl_hook")

_lock = ForkSafeLock()
_computers: dict[tuple, EnhancedRewardComputer] = {}
_IGNORED_KWARGS = {"reward_router_address", "reward_model_tokenizer"}


def _config_key(kwargs: Mapping[str, Any]) -> tuple:
    path = kwargs.get("config") or os.environ.get(CONFIG_ENV) or ""
    overrides = kwargs.get("overrides") or ()
    if isinstance(overrides, str):
        overrides = tuple(o.strip() for o in overrides.split(",") if o.strip())
    else:
        overrides = tuple(str(o) for o in overrides)
    db_root = kwargs.get("db_root") or ""
    return (str(path), overrides, str(db_root))


def get_computer(**kwargs: Any) -> EnhancedRewardComputer:
    """The process-wide computer for this configuration (built once, thread-safe)."""
    key = _config_key(kwargs)
    comp = _computers.get(key)
    if comp is not None:
        return comp
    with _lock:
        comp = _computers.get(key)
        if comp is None:
            path, overrides, db_root = key
            ov = list(overrides) + ([f"data.db_root={db_root}"] if db_root else [])
            cfg: Config = load_config(path or None, overrides=ov)
            comp = EnhancedRewardComputer.from_config(cfg)
            _computers[key] = comp
    return comp


def _fallback(keys: Sequence[str], status: str) -> dict[str, float]:
    out = dict.fromkeys(keys, 0.0)
    out[f"status_{status}"] = 1.0
    return out


def _default_keys() -> tuple[str, ...]:
    try:
        return EnhancedRewardComputer(load_config(env=True).reward.baseline).keys
    except Exception:  # broken config: still return a stable shape
        return ("score", "acc") + tuple(f"status_{s}" for s in ALL_STATUSES)


def compute_score(
    data_source: Any = None,
    solution_str: Any = None,
    ground_truth: Any = None,
    extra_info: Any = None,
    **kwargs: Any,
) -> dict[str, float]:
    """Score one response for verl. Never raises; always the same keys; finite floats."""
    for k in _IGNORED_KWARGS:
        kwargs.pop(k, None)
    try:
        computer = get_computer(**kwargs)
    except Exception as exc:
        log_once(log, f"config:{type(exc).__name__}", "extensions.verl_hook: cannot build the reward (%s); every score is 0", exc)
        return _fallback(_default_keys(), "internal_error")
    try:
        result = computer.compute_reward(solution_str, ground_truth, extra_info=extra_info if isinstance(extra_info, Mapping) else None)
        return _finite(result.breakdown)
    except Exception as exc:  # compute_reward never raises; this is belt and braces
        log_once(log, f"score:{type(exc).__name__}", "extensions.verl_hook: internal error %r; score 0", exc, exc_info=True)
        return _fallback(computer.keys, "internal_error")


async def compute_score_async(
    data_source: Any = None,
    solution_str: Any = None,
    ground_truth: Any = None,
    extra_info: Any = None,
    **kwargs: Any,
) -> dict[str, float]:
    """``async`` variant, the fastest entry point for verl's reward loop (``name=compute_score_async``).

    verl awaits it directly (no thread pool), once per sample, for a whole
    batch at once. The calls made together on one event loop are scored as
    one :func:`compute_score_batch` call in a thread, with the same results
    as :func:`compute_score`; the event loop never blocks. Never raises.
    """
    return await _coalescer((data_source, solution_str, ground_truth, extra_info, kwargs))


def _score_coalesced(items: list[tuple[Any, Any, Any, Any, dict[str, Any]]]) -> list[dict[str, float]]:
    """:func:`compute_score_batch` over calls that may carry different ``reward_kwargs``."""

    def run(group: list[tuple[Any, Any, Any, Any, dict[str, Any]]]) -> list[dict[str, float]]:
        sources, sols, gts, extras, kwargs = zip(*group)
        return compute_score_batch(list(sources), list(sols), list(gts), list(extras), **dict(kwargs[0]))

    return by_group(items, lambda it: _config_key(it[4]), run)


_coalescer = Coalescer(_score_coalesced, lambda item, exc: _fallback(_default_keys(), "internal_error"), name="compute_score_async")


def _finite(out: dict[str, float]) -> dict[str, float]:
    if all(isinstance(v, float) and math.isfinite(v) for v in out.values()):
        return out
    return {k: (v if isinstance(v, float) and math.isfinite(v) else 0.0) for k, v in out.items()}


def compute_score_batch(
    data_sources: Sequence[Any] | None = None,
    solution_strs: Sequence[Any] | None = None,
    ground_truths: Sequence[Any] | None = None,
    extra_infos: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[dict[str, float]]:
    """For the legacy ``BatchRewardManager``: lists in, one dict per sample out, the same as :func:`compute_score`.

    The batch's distinct statements run first (through the inline lane in the
    calling thread, what it cannot settle across the worker processes in
    parallel), then every sample is scored from cache
    (:meth:`EnhancedRewardComputer.compute_rewards`). Never raises.
    """
    for k in _IGNORED_KWARGS:
        kwargs.pop(k, None)
    sols = list(solution_strs or [])
    n = len(sols)
    try:
        computer = get_computer(**kwargs)
    except Exception as exc:
        log_once(log, f"config:{type(exc).__name__}", "extensions.verl_hook: cannot build the reward (%s); every score is 0", exc)
        keys = _default_keys()
        return [_fallback(keys, "internal_error") for _ in range(n)]

    def pick(seq: Sequence[Any] | None, i: int) -> Any:
        try:
            return seq[i] if seq is not None else None
        except (IndexError, TypeError, KeyError):
            return None

    gts = [pick(ground_truths, i) for i in range(n)]
    extras = [e if isinstance(e, Mapping) else None for e in (pick(extra_infos, i) for i in range(n))]
    try:
        return [_finite(r.breakdown) for r in computer.compute_rewards(sols, gts, extra_infos=extras)]
    except Exception as exc:  # compute_rewards never raises; this is belt and braces
        log_once(log, f"batch:{type(exc).__name__}", "extensions.verl_hook: internal error %r; batch scored 0", exc, exc_info=True)
        return [_fallback(computer.keys, "internal_error") for _ in range(n)]


def compute_score_prime(data_source: Any, completion: Any, reference: Any, extra_info: Any = None) -> float:
    """For ``PrimeRewardManager``, which calls ``fn(data_source, completion, reference, extra_info)``
    positionally in a process pool and keeps a float."""
    return compute_score(data_source, completion, reference, extra_info)["score"]
