"""Log-once helper: internal failures are reported once per kind, never swallowed silently."""

from __future__ import annotations

import logging
import os
import threading

_seen: set[str] = set()
_lock = threading.Lock()


def _new_lock_in_child() -> None:  # a lock held by another thread at fork time stays held in the child
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


def log_once(logger: logging.Logger, key: str, msg: str, *args: object, exc_info: bool = False) -> None:
    """Log ``msg`` at WARNING level the first time ``key`` is seen in this process."""
    with _lock:
        if key in _seen:
            return
        _seen.add(key)
    logger.warning(msg + " (further occurrences of this kind are not logged)", *args, exc_info=exc_info)
