"""The engine's knobs and their defaults, defined once.

``extensions.config.ExecutionConfig`` takes its defaults from here, and
``ExecutionConfig.engine_settings()`` turns a validated config back into an
:class:`EngineSettings`. Standard library only.

>>> EngineSettings().replace(workers=2).workers
2
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

MIB = 1024 * 1024
# The default work budget: above every official Spider dev gold and every bundled gold
# (measured with ``python -m extensions.cli.bench.steps``; docs/engine.md has the figures).
MAX_VM_STEPS = 1_000_000_000
# The default CPU budget: above the time MAX_VM_STEPS take on a slow core, so that VM steps decide
# every statement whose steps are ordinary; it bounds single steps that run long.
MAX_CPU_S = 30.0


@dataclass(frozen=True)
class EngineSettings:
    """Every knob of the engine, with defaults for a 2-to-64-core trainer node.

    Work: ``max_vm_steps`` VM instructions per statement, counted by SQLite's
    progress handler, for golds and predictions on every path (past it:
    ``timeout``, a verdict independent of machine load; 0 = no step budget), and
    ``max_cpu_s`` CPU seconds of the thread that runs it (past it: ``timeout_cpu``,
    a verdict, never retried; it bounds single VM steps that run long; 0 = no CPU
    budget). With ``adaptive_timeout`` a prediction gets ``clamp(adaptive_k *
    gold_steps, adaptive_min_steps, max_vm_steps)`` steps and ``clamp(adaptive_cpu_margin *
    adaptive_k * gold_cpu_s, adaptive_min_cpu_s, max_cpu_s)`` CPU seconds: the margin puts the
    CPU budget well past what its step budget costs at the gold's pace (CPU per step varies with
    the load, up to about twice), so steps decide every prediction whose steps are ordinary.

    Time: ``timeout_s`` is a wall-clock backstop per statement (past it, or when a
    worker does not answer by ``timeout_s + grace_s`` and is killed without having
    used its CPU budget: ``timeout_wall``, tried once more, never cached); a call
    waits for a free worker at most as long as the calls queued before it may hold the
    workers (``WorkerPool.wait_limit``; then ``timeout_wall``).

    Size: ``max_rows``, ``max_value_bytes`` and ``max_sql_bytes`` per statement;
    ``max_result_bytes`` for a whole result, measured in the worker before it
    is sent (past it: ``too_large``); ``memory_mb`` is each worker's address
    space (``RLIMIT_AS``, which also holds SQLite's temporary tables).

    Caches: ``*_cache_entries`` entries each, and at most ``cache_max_bytes``
    bytes per cache (gold results, prediction results, verdicts); a single
    result larger than 1/16 of that is never cached. 0 entries disables a cache.

    Inline lane: each new statement is first tried in the calling thread with a
    deadline of ``inline_budget_ms`` (0 = always a worker), values of at most
    ``inline_max_value_bytes`` and ``inline_max_rows`` rows; what it cannot
    settle goes to a worker. ``stat_ttl_s``: how often a database file's
    signature is re-read (0 = every call).

    >>> EngineSettings(timeout_s=5).timeout_s
    5
    """

    workers: int = 0  # 0 = os.cpu_count()
    timeout_s: float = 60.0
    max_vm_steps: int = MAX_VM_STEPS
    adaptive_timeout: bool = True
    adaptive_k: float = 20.0
    adaptive_min_steps: int = 1_000_000
    max_cpu_s: float = MAX_CPU_S
    adaptive_min_cpu_s: float = 1.0
    adaptive_cpu_margin: float = 10.0
    grace_s: float = 1.0
    max_rows: int = 100_000
    max_value_bytes: int = 16 * MIB
    max_sql_bytes: int = 1_000_000
    max_result_bytes: int = 64 * MIB
    memory_mb: int = 2048
    max_open_connections: int = 32
    gold_cache_entries: int = 50_000
    result_cache_entries: int = 20_000
    verdict_cache_entries: int = 50_000
    cache_max_bytes: int = 128 * MIB
    immutable: bool = True
    inline_budget_ms: float = 10.0
    inline_max_value_bytes: int = 4096
    inline_max_rows: int = 10_000
    stat_ttl_s: float = 1.0

    def replace(self, **kw: object) -> "EngineSettings":
        """A copy with the given fields changed.

        Args:
            **kw: field names and their new values.

        Returns:
            A new :class:`EngineSettings`.

        >>> EngineSettings().replace(timeout_s=1.0).timeout_s
        1.0
        """
        return dataclasses.replace(self, **kw)  # type: ignore[arg-type]


DEFAULTS = EngineSettings()
