"""The knobs of the ``execute_sql`` tool, defined once (standard library only).

``extensions.config.MultiTurnConfig`` takes its defaults from here.

>>> ToolLimits().replace(max_calls=2).max_calls
2
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class ToolLimits:
    """Bounds of the ``execute_sql`` tool.

    ``max_calls`` per episode; each answer shows at most ``max_rows`` rows, each cell at most
    ``max_cell_chars`` characters and the whole answer (errors too) at most ``max_chars`` characters.
    A query may hold at most ``max_query_chars`` characters.

    A query's limit is a work budget, the same kind as the reward's: ``max_vm_steps`` VM steps and
    ``max_cpu_s`` CPU seconds of the thread that runs it, neither of which grows with machine load
    the way wall time does. The steps decide a query whose steps are ordinary (tens of nanoseconds
    each, up to about twice as long on a loaded machine) only when the CPU budget is well past what
    the steps take: keep ``max_cpu_s`` at about ``max_vm_steps`` x 60 ns or more, as the defaults do
    (30,000,000 steps, 2 CPU seconds), so that the CPU budget stops only single steps that run long.
    ``timeout_s`` is only a wall-clock backstop against a stalled worker (it also sets how long a
    call waits for a free worker: ``WorkerPool.wait_limit``). The engine's own bounds (rows, bytes,
    memory) hold as well.

    >>> ToolLimits().max_rows
    10
    """

    max_calls: int = 5
    max_rows: int = 10
    max_cell_chars: int = 40
    max_chars: int = 1200
    timeout_s: float = 30.0
    max_query_chars: int = 4000
    max_vm_steps: int = 30_000_000
    max_cpu_s: float = 2.0

    def replace(self, **kw: object) -> ToolLimits:
        """A copy with the given fields changed.

        Args:
            **kw: field names and their new values.

        Returns:
            A new :class:`ToolLimits`.

        >>> ToolLimits().replace(max_rows=3).max_rows
        3
        """
        return dataclasses.replace(self, **kw)  # type: ignore[arg-type]


DEFAULT_LIMITS = ToolLimits()
