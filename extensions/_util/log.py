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


_last: dict[str, float] = {}


def log_every(logger: logging.Logger, key: str, interval_s: float, msg: str, *args: object) -> None:
    """Log ``msg`` at WARNING level at most once per ``interval_s`` seconds for each ``key``, with the host name.

    Args:
        logger: where to log.
        key: what is rate-limited together (e.g. a status and a database path).
        interval_s: the shortest time between two records of one key.
        msg, args: the message, %-formatted.
    """
    import socket
    import time

    now = time.monotonic()
    with _lock:
        last = _last.get(key)
        if last is not None and now - last < interval_s:
            return
        if len(_last) >= 4096:
            _last.clear()
        _last[key] = now
    logger.warning("[%s] " + msg, socket.gethostname(), *args)
