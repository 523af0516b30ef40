"""``bench instructions --parts``: the pieces of a caller's work, each run alone under callgrind.

Each part is run once in the same child as ``bench instructions`` (its workload, its engine settling
every statement in the calling thread), so its count, less the setup's, is the instructions that piece
costs:

* ``noop_async``: the 1,024 coroutines and the coalescer, with a batch function that does nothing;
* ``match_many``, ``execute_batch``: the engine's batch call, and its statements alone;
* ``lane``, ``sandbox``, ``raw``: the batch's distinct statements (as written, not normalised) through
  the inline lane, through a sandbox connection, and through plain ``sqlite3``;
* ``hook_batch``, ``computer_batch``: the engine-only hook's ``compute_score_batch`` and the reward
  computer's ``compute_rewards`` on the whole workload.

>>> sorted(PARTS)[:3]
['computer_batch', 'execute_batch', 'hook_batch']
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

from extensions._util.coalesce import Coalescer
from extensions.execution.budget import Budget
from extensions.execution.compare import CompareOptions
from extensions.execution.engine import ExecutionEngine
from extensions.execution.sandbox import Limits, db_signature, open_sandbox

_OPTS = CompareOptions("bird")


def _statements(samples: list[Any]) -> list[tuple[str, str]]:
    """The distinct ``(database, prepared SQL)`` of the workload's golds and predictions, as written."""
    golds = [(s.db_path, _OPTS.prepare(s.gold)) for s in samples]
    preds = [(s.db_path, _OPTS.prepare(s.pred)) for s in samples if isinstance(s.pred, str) and s.pred.strip()]
    return list(dict.fromkeys(golds + preds))


def _noop_async(samples: list[Any], eng: ExecutionEngine, hook_batch: Callable) -> None:
    noop: Coalescer[Any, Any] = Coalescer(lambda xs: list(xs), lambda x, exc: None, name="noop")

    async def main() -> list[Any]:
        return await asyncio.gather(*(noop(s) for s in samples))

    asyncio.run(main())


def _lane(samples: list[Any], eng: ExecutionEngine, hook_batch: Callable) -> None:
    budget = Budget(10**9, 30.0, 10.0)
    for path, sql in _statements(samples):
        eng._inline.run(path, db_signature(path) or (), sql, 600.0, budget)


def _sandbox(samples: list[Any], eng: ExecutionEngine, hook_batch: Callable) -> None:
    conns: dict[str, Any] = {}
    for path, sql in _statements(samples):
        if path not in conns:
            conns[path] = open_sandbox(path, Limits(max_rows=10_000, max_value_bytes=4096), refuse_growing=True)
        conns[path].run(sql, 600.0, 10**9)


def _raw(samples: list[Any], eng: ExecutionEngine, hook_batch: Callable) -> None:
    conns: dict[str, sqlite3.Connection] = {}
    for path, sql in _statements(samples):
        if path not in conns:
            conns[path] = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, cached_statements=0)
        try:
            conns[path].execute(sql).fetchall()
        except sqlite3.Error:
            pass


PARTS: dict[str, Callable[[list[Any], ExecutionEngine, Callable], Any]] = {
    "noop_async": _noop_async,
    "match_many": lambda s, eng, h: eng.match_many([(x.db_path, x.pred, x.gold) for x in s], options=_OPTS),
    "execute_batch": lambda s, eng, h: eng.execute_batch([(x.db_path, x.pred, x.gold) for x in s], options=_OPTS),
    "lane": _lane,
    "sandbox": _sandbox,
    "raw": _raw,
    "hook_batch": lambda s, eng, h: h("hook"),
    "computer_batch": lambda s, eng, h: h("computer"),
}
