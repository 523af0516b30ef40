"""Log-once helper: internal failures are reported once per kind, never swallowed silently."""

from __future__ import annotations

import logging

from extensions._util.forksafe import ForkSafeLock

_seen: set[str] = set()
_lock = ForkSafeLock()


def log_once(logger: logging.Logger, key: str, msg: str, *args: object, exc_info: bool = False) -> None:
    """Log ``msg`` at WARNING level the first time ``key`` is seen in this process."""
    with _lock:
        if key in _seen:
            return
        _seen.add(key)
    logger.warning(msg + " (further occurrences of this kind are not logged)", *args, exc_info=exc_info)
