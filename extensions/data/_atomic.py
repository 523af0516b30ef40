"""Write a SQLite file atomically: build it under a temporary name, then rename it into place."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def atomic_sqlite(path: str) -> Iterator[sqlite3.Connection]:
    """Yield a connection to a temporary file that becomes ``path`` only if the block succeeds.

    Readers never see a half-written database, and a failure leaves nothing behind.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".sqlite", dir=folder)
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        try:
            yield conn
            conn.commit()
        finally:
            conn.close()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
