"""What one statement may spend (:class:`Budget`) and how much of its result comes back (:class:`Cap`).

Standard library only: the worker processes load it.

* **Budget**: two measures of work decide verdicts: VM steps (``max_vm_steps``, counted by SQLite's
  progress handler, exact) and CPU seconds of the thread that runs the statement (``max_cpu_s``,
  which also covers single VM steps that run long, such as a GLOB against a KiB-sized character
  class). Neither grows with machine load the way wall time does. ``timeout_s`` is a wall-clock
  backstop for stalls (a stopped or swapped-out worker), never a verdict.
* **Cap**: what the caller will look at. A tool that shows 10 rows asks for 10 rows, cells cut to a
  few dozen characters and no more than a few KiB; the worker keeps only that (and counts the rest),
  so nothing the caller would throw away crosses the pipe. The reward's comparison needs every row
  and every value, but no column names.

>>> Budget(max_vm_steps=10**6, max_cpu_s=1.0).max_cpu_s
1.0
>>> Cap(rows=3, cell_chars=5).clip_cell("abcdefgh")
'abcde'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Budget:
    """The work one statement may do; 0 for a measure means "no bound".

    Attributes:
        max_vm_steps: VM instructions (past it: ``timeout``).
        max_cpu_s: CPU seconds of the executing thread (past it: ``timeout_cpu``).
        timeout_s: wall-clock backstop (past it: ``timeout_wall``, never cached); also sets how long a
            call may wait for a free worker (``WorkerPool.wait_limit``).

    >>> Budget(100, 0.5, 2.0).steps_detail()
    'more than max_vm_steps=100 VM steps'
    """

    max_vm_steps: int = 0
    max_cpu_s: float = 0.0
    timeout_s: float = 60.0

    def steps_detail(self) -> str:
        """The detail of a step timeout under this budget.

        Returns:
            ``more than max_vm_steps=N VM steps``.
        """
        return f"more than max_vm_steps={self.max_vm_steps} VM steps"

    def cpu_detail(self) -> str:
        """The detail of a CPU timeout under this budget.

        Returns:
            ``more than max_cpu_s=X CPU seconds``.

        >>> Budget(max_cpu_s=1.5).cpu_detail()
        'more than max_cpu_s=1.5 CPU seconds'
        """
        return f"more than max_cpu_s={self.max_cpu_s:g} CPU seconds"


@dataclass(frozen=True)
class Cap:
    """How much of a result comes back: ``rows`` rows (-1: all), text cut to ``cell_chars`` characters
    and blobs to ``cell_chars`` bytes (-1: whole), kept rows at most ``max_bytes`` bytes of cell data
    (-1: no bound beyond the engine's own), and column names when ``names``.

    A capped result still counts every row (``ExecResult.total_rows``); the engine's row cap
    (``max_rows``) holds as before. The kept rows are the first ones, and a row that would take the
    kept bytes past ``max_bytes`` is left out with every row after it, so a capped result is
    deterministic.

    >>> Cap().whole, Cap(names=False).whole, Cap(rows=10).whole
    (True, True, False)
    """

    rows: int = -1
    cell_chars: int = -1
    max_bytes: int = -1
    names: bool = True

    @property
    def whole(self) -> bool:
        """Every row and every value comes back whole."""
        return self.rows < 0 and self.cell_chars < 0 and self.max_bytes < 0

    def clip_cell(self, value: Any) -> Any:
        """``value`` cut to ``cell_chars`` (text: characters, blob: bytes); numbers and NULL unchanged.

        Args:
            value: a value SQLite returned.

        Returns:
            The kept value.

        >>> Cap(cell_chars=2).clip_cell(b"abc"), Cap(cell_chars=2).clip_cell(12345)
        (b'ab', 12345)
        """
        n = self.cell_chars
        if n >= 0 and isinstance(value, (str, bytes)) and len(value) > n:
            return value[:n]
        return value


NO_BUDGET = Budget()
WHOLE = Cap()
VALUES_ONLY = Cap(names=False)
