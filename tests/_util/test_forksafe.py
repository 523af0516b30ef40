"""A child forked while other threads use the reward path's caches never hangs on their locks."""

import os
import signal
import threading
import time

import pytest

from extensions._util.cache import ResultCache
from extensions.rewards.structural import StructuralReward
from extensions.sql.guard import check_sql
from extensions.sql.normalize import cache_key
from extensions.sql.parse import parse_sql

SQL = [f"SELECT a{i}, count(*) FROM t{i % 7} WHERE b > {i} GROUP BY a{i} ORDER BY 2 DESC" for i in range(400)]


def _reward_path_calls(i: int) -> None:
    sql = SQL[i % len(SQL)]
    check_sql(sql)
    parse_sql(sql)
    cache_key(sql)
    StructuralReward().compute(sql, SQL[(i + 1) % len(SQL)])


def _hammer(stop: threading.Event) -> None:
    i = 0
    while not stop.is_set():
        _reward_path_calls(i)
        i += 1


def _wait_all(pids: list[int], timeout_s: float) -> list[int]:
    """Reap the children; return those still running after ``timeout_s`` (killed) and those that failed."""
    deadline = time.monotonic() + timeout_s
    left, bad = set(pids), []
    while left and time.monotonic() < deadline:
        for pid in list(left):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                left.discard(pid)
                if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
                    bad.append(pid)
        time.sleep(0.01)
    for pid in left:  # hung: kill by PID and reap
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return sorted(left) + bad


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_children_forked_while_threads_score_all_finish():
    shared: ResultCache[int] = ResultCache(100, 10_000)
    started, release = threading.Event(), threading.Event()

    def in_flight() -> int:  # holds a computation in flight across every fork below
        started.set()
        release.wait(120)
        return 1

    holder = threading.Thread(target=shared.get_or_compute, args=("k", in_flight), kwargs={"cost": lambda v: 8})
    holder.start()
    started.wait(30)
    stop = threading.Event()
    threads = [threading.Thread(target=_hammer, args=(stop,)) for _ in range(4)]
    for t in threads:
        t.start()
    pids = []
    try:
        for n in range(12):
            time.sleep(0.02)  # let the threads get into the caches between forks
            pid = os.fork()
            if pid == 0:  # the child: the same calls, on the same caches, then exit at once
                code = 1
                try:
                    for i in range(50):
                        _reward_path_calls(i + n)
                    code = 0 if shared.get_or_compute("k", lambda: 2, cost=lambda v: 8)[0] == 2 else 1
                finally:
                    os._exit(code)
            pids.append(pid)
    finally:
        stop.set()
        release.set()
        for t in threads + [holder]:
            t.join(60)
    assert _wait_all(pids, 60.0) == []
