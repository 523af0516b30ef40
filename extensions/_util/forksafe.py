"""A lock that a forked child gets fresh.

A ``threading.Lock`` held by another thread when the process forks stays held
in the child forever (that thread does not exist there). Every lock of the
reward path (module-level locks, the byte-bounded caches behind the SQL memos,
the structural cache and the engine's caches, the inline lane) is a
:class:`ForkSafeLock` instead, so a DataLoader worker or a ``multiprocessing``
child forked from a trainer while other threads score never hangs on one.

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
    """``threading.Lock`` (``with`` blocks, ``acquire``/``release``), re-made unlocked in a forked child.

    >>> lock = ForkSafeLock()
    >>> lock.acquire(), lock.locked()
    (True, True)
    >>> lock.release()
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        _locks.add(self)

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._lock.__exit__(*exc)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """As ``threading.Lock.acquire``."""
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        """As ``threading.Lock.release``."""
        self._lock.release()

    def locked(self) -> bool:
        """As ``threading.Lock.locked``."""
        return self._lock.locked()


def _renew_in_child() -> None:
    for lock in list(_locks):
        lock._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_in_child)
