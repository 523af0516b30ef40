"""A lock that a forked child gets fresh.

A ``threading.Lock`` held by another thread when the process forks stays held
in the child forever (that thread does not exist there). Module-level locks
of the reward path use :class:`ForkSafeLock` instead, so a DataLoader worker
or a ``multiprocessing`` child forked from a trainer never hangs on one.

>>> lock = ForkSafeLock()
>>> with lock:
...     pass
"""

from __future__ import annotations

import os
import threading
import weakref

_locks: "weakref.WeakSet[ForkSafeLock]" = weakref.WeakSet()


class ForkSafeLock:
    """``threading.Lock`` for ``with`` blocks, re-made unlocked in a forked child."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        _locks.add(self)

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._lock.__exit__(*exc)


def _renew_in_child() -> None:
    for lock in list(_locks):
        lock._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_in_child)
