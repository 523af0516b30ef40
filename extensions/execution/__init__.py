"""Sandboxed SQLite execution: worker pool, caches and comparison semantics.

The public names are loaded lazily so that worker processes, which import
``extensions.execution.worker``, stay light.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CompareOptions",
    "ExecResult",
    "ExecutionEngine",
    "EngineSettings",
    "MatchResult",
    "Status",
    "results_match",
    "shared_engine",
]


def __getattr__(name: str) -> Any:
    if name in ("ExecResult", "Status"):
        from extensions.execution import status

        return getattr(status, name)
    if name in ("ExecutionEngine", "EngineSettings", "MatchResult", "shared_engine"):
        from extensions.execution import engine

        return getattr(engine, name)
    if name in ("results_match", "CompareOptions"):
        from extensions.execution import compare

        return getattr(compare, name)
    raise AttributeError(name)
