"""A lock that a forked child gets fresh.

A lock held by another thread when the process forks stays held in the child forever (that thread
does not exist there). Every lock of the reward path (module-level locks, the byte-bounded caches
behind the SQL memos, the structural cache and the engine's caches, the inline lane) is a
:class:`ForkSafeLock` instead, so a DataLoader worker or a ``multiprocessing`` child forked from a
trainer while other threads score never hangs on one.

It is the interpreter's own lock type (a subclass of ``_thread.RLock``, so ``with`` costs what a plain
lock's does), re-made unlocked in the child by ``os.register_at_fork`` with the same
``_at_fork_reinit`` the ``threading`` module uses for its own locks. It is re-entrant: a thread that
holds it may take it again.

>>> lock = ForkSafeLock()
>>> with lock:
...     pass
"""

from __future__ import annotations

import _thread
import os
import weakref

_locks: weakref.WeakSet[ForkSafeLock] = weakref.WeakSet()


class ForkSafeLock(_thread.RLock):  # type: ignore[misc]
    """A re-entrant lock (``with`` blocks, ``acquire``/``release``), unlocked again in a forked child.

    >>> lock = ForkSafeLock()
    >>> lock.acquire(), lock.locked()
    (True, True)
    >>> lock.release(); lock.locked()
    False
    """

    def __init__(self) -> None:
        super().__init__()
        _locks.add(self)

    def locked(self) -> bool:
        """Whether some thread holds the lock."""
        if self.acquire(blocking=False):
            held_before = self._is_owned() and self._recursion_count() > 1  # type: ignore[attr-defined]
            self.release()
            return held_before
        return True


def _renew_in_child() -> None:
    for lock in list(_locks):
        lock._at_fork_reinit()  # type: ignore[attr-defined]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_in_child)
