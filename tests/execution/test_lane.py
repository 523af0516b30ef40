"""The inline lane's watchdog: it stops a statement at its deadline, in the process that armed it and in a
forked child, and its interrupt never reaches a later statement."""

from __future__ import annotations

import os
import sqlite3
import time

import pytest

from extensions.execution.lane import Watchdog
from tests.conftest import child_exit_code

# Counts to 10^12 (hours): only an interrupt ends it.
RUNAWAY = (
    "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 1000000000000) SELECT count(*) FROM r"
)


def _interrupted(w: Watchdog, conn: sqlite3.Connection, after_s: float) -> bool:
    ticket = w.arm(conn, time.monotonic() + after_s)
    try:
        conn.execute(RUNAWAY).fetchall()
        return False
    except sqlite3.OperationalError as exc:
        return "interrupted" in str(exc)
    finally:
        w.disarm(ticket)


def test_a_statement_past_its_deadline_is_interrupted_and_the_next_one_is_not():
    w = Watchdog()
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    assert _interrupted(w, conn, 0.05)
    for _ in range(200):  # disarmed in time (each takes microseconds): nothing reaches these
        t = w.arm(conn, time.monotonic() + 1.0)
        assert conn.execute("SELECT count(*) FROM (SELECT 1 UNION SELECT 2)").fetchone() == (2,)
        w.disarm(t)
    assert _interrupted(w, conn, 0.05)  # the same connection is stopped again once it passes a deadline
    assert w.interrupts == 2


def test_an_earlier_deadline_armed_later_still_fires_first():
    w = Watchdog()
    far = sqlite3.connect(":memory:", check_same_thread=False)
    t_far = w.arm(far, time.monotonic() + 3600)  # the thread now waits an hour for this one
    assert _interrupted(w, sqlite3.connect(":memory:", check_same_thread=False), 0.05)
    w.disarm(t_far)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_has_a_watchdog_of_its_own():
    """Forked while the parent's watchdog thread waits on a far deadline, the child's statements are still
    stopped: that thread does not exist in the child, and the child starts its own."""
    w = Watchdog()
    far = sqlite3.connect(":memory:", check_same_thread=False)
    ticket = w.arm(far, time.monotonic() + 3600)
    pid = os.fork()
    if pid == 0:  # the child
        ok = False
        try:
            ok = _interrupted(w, sqlite3.connect(":memory:", check_same_thread=False), 0.05)
        finally:
            os._exit(0 if ok else 1)
    code = child_exit_code(pid, "the child's statement was never interrupted")
    w.disarm(ticket)
    assert code == 0
