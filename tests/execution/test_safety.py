"""The sandbox's guarantees beyond the hostile SQL corpus: the worker pipe format, byte budgets,
temp space, the inline lane's deadline, the same verdict on every path, and current data."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from extensions.cli.bench.lane import HOSTILE
from extensions.data.demo import build_database
from extensions.execution.engine import ExecutionEngine
from extensions.execution.status import ExecResult, Status
from extensions.execution.wire import WireError, decode_result, encode_result, read_frame, write_frame
from tests.conftest import FIXTURES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PWNED = "/tmp/extensions_pwned_by_pickle"


def _frames() -> list[tuple[bytes, str]]:
    lines = (FIXTURES / "hostile_frames.jsonl").read_text().splitlines()
    return [(bytes.fromhex(d["hex"]), d["note"]) for d in map(json.loads, lines)]


@pytest.mark.parametrize("frame, note", _frames(), ids=[n for _, n in _frames()])
def test_hostile_worker_frames_are_rejected_and_never_run(frame, note):
    with pytest.raises(WireError):
        decode_result(frame)
    assert not os.path.exists(PWNED)


def test_wire_round_trips_every_cell_type():
    rows = ((None, -(2**63), 2**63 - 1, 0.5, float("inf"), "", "é\U0001f600\ud800", b"", b"\x00\xff"),)
    r = ExecResult(Status.OK, rows=rows, columns=tuple("abcdefghi"), elapsed_s=0.25, detail="d", timeout_s=3.0)
    assert decode_result(encode_result(r, 1 << 20)) == r
    for status in Status:
        e = ExecResult(status, detail=status.value)
        assert decode_result(encode_result(e, 1 << 20)) == e


@pytest.mark.parametrize("announced, ok", [(2**40, False), (5, True)])
def test_a_frame_announcing_more_than_the_cap_is_refused_before_reading(announced, ok):
    r, w = os.pipe()
    try:
        os.write(w, announced.to_bytes(8, "big") + b"hello")
        if ok:
            assert read_frame(r, 1 << 20) == b"hello"
        else:
            with pytest.raises(WireError):
                read_frame(r, 1 << 20)
        write_frame(w, b"again")
        if ok:
            assert read_frame(r, 1 << 20) == b"again"
    finally:
        os.close(r)
        os.close(w)


def test_a_result_over_max_result_bytes_comes_back_too_large(demo_paths):
    hr = demo_paths["hr"]
    with ExecutionEngine(workers=1, max_result_bytes=1_000_000) as eng:
        big = eng.execute(hr, "SELECT zeroblob(20000 + id) FROM employees")  # about 1.2 MB
        small = eng.execute(hr, "SELECT zeroblob(10000 + id) FROM employees")  # about 0.6 MB
        assert big.status is Status.TOO_LARGE and "max_result_bytes" in big.detail and big.rows is None
        assert small.status is Status.OK and len(small.rows) == 60


_FLOOD = textwrap.dedent(
    """
    import json, sys
    from extensions.execution.engine import ExecutionEngine

    def rss():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096

    path, n = sys.argv[1], int(sys.argv[2])
    with ExecutionEngine(workers=1, cache_max_bytes=16 * 2**20) as eng:
        eng.match(path, "SELECT 1", "SELECT 1")
        before = rss()
        for i in range(n):  # distinct half-megabyte results: gold, prediction and verdict caches
            q = f"SELECT zeroblob({500_000 + i})"
            eng.match(path, f"SELECT zeroblob({400_000 + i})", q)
        s = eng.stats()
        caches = ("gold_cache", "result_cache", "verdict_cache")
        print(json.dumps({"growth": rss() - before, "bytes": [s[c]["bytes"] for c in caches]}))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_a_flood_of_distinct_big_results_keeps_memory_bounded(demo_paths):
    """300 distinct results of about 0.9 MB each would keep about 270 MB alive without byte budgets."""
    out = subprocess.run(
        [sys.executable, "-c", _FLOOD, demo_paths["hr"], "300"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    assert all(b <= 16 * 2**20 for b in got["bytes"]), got
    assert got["growth"] < 100 * 2**20, got


_TEMP = textwrap.dedent(
    """
    import resource, signal, sqlite3, sys
    from extensions.execution.sandbox import Limits, open_sandbox

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    q = (
        "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 300000) "
        "SELECT count(DISTINCT x) FROM r"
    )
    raw = sqlite3.connect(sys.argv[1])
    raw.execute("PRAGMA cache_size=-64")
    raw.execute("PRAGMA temp_store=FILE")
    try:
        raw.execute(q).fetchall()
        control = "ok"
    except sqlite3.Error as exc:
        control = "error"
    r = open_sandbox(sys.argv[1], Limits(), cache_kib=64).run(q, 60.0)
    print(control, r.status.value, r.rows)
    """
)


def test_temporary_b_trees_stay_in_memory(tmp_path):
    """Files may grow by 64 KiB at most: a temp b-tree on disk fails (the control), the sandbox's succeeds."""
    path = build_database(str(tmp_path / "hr.sqlite"), "hr")
    out = subprocess.run([sys.executable, "-c", _TEMP, path], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["error", "ok", "((300000,),)"]


@pytest.mark.slow
def test_kib_sized_steps_are_interrupted_inline_and_finished_in_a_worker(demo_paths):
    hr = demo_paths["hr"]
    with (
        ExecutionEngine(workers=1, timeout_s=30, adaptive_timeout=False) as inline,
        ExecutionEngine(workers=1, timeout_s=30, adaptive_timeout=False, inline_budget_ms=0) as worker,
    ):
        a, b = inline.execute(hr, HOSTILE[0]), worker.execute(hr, HOSTILE[0])
        assert a.status is Status.OK and (a.rows, a.columns) == (b.rows, b.columns)
        s = inline.stats()
        assert s["inline"]["interrupts"] == 1 and s["inline"]["handed_over"] == 1 and s["worker_executions"] == 1


def test_a_batch_stops_trying_the_lane_after_a_few_budgets(demo_paths):
    hr = demo_paths["hr"]
    gold = "SELECT count(*) FROM employees"
    runaway = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + {i} FROM r) SELECT count(*) FROM r"
    items = [(hr, runaway.format(i=i), gold) for i in range(1, 9)]
    with ExecutionEngine(workers=2, timeout_s=30, max_vm_steps=20_000_000, adaptive_timeout=False) as eng:
        got = eng.match_many(items)
        assert [m.status for m in got] == [Status.TIMEOUT] * 8
        lane = eng.stats()["inline"]
        # Each failed attempt holds the caller one budget; past three budgets the rest go straight to workers.
        assert lane["handed_over"] <= 4 and lane["batch_skipped"] == 8 - lane["handed_over"]


def _growing_schema_db(path: str) -> str:
    c = sqlite3.connect(path)
    c.executescript(
        """
        CREATE TABLE t (id INTEGER PRIMARY KEY, name CHAR(20), wide TEXT AS (printf('%.6000c', name)));
        INSERT INTO t (id, name) VALUES (1, 'a'), (2, 'b');
        CREATE VIEW v AS SELECT id, printf('%.5000c', name) AS s FROM t;
        CREATE TABLE plain (id INTEGER PRIMARY KEY, code CHAR(4));
        INSERT INTO plain VALUES (1, 'x');
        """
    )
    c.commit()
    c.close()
    return path


@pytest.mark.parametrize(
    "sql, rows",
    [
        ("SELECT id, length(s) FROM v ORDER BY id", ((1, 5000), (2, 5000))),
        ("SELECT id, length(wide) FROM t ORDER BY id", ((1, 6000), (2, 6000))),
        ("SELECT count(*) FROM plain", ((1,),)),
    ],
)
def test_views_and_generated_columns_get_the_same_verdict_on_every_path(tmp_path, sql, rows):
    path = _growing_schema_db(str(tmp_path / "g.sqlite"))
    with ExecutionEngine(workers=1) as inline, ExecutionEngine(workers=1, inline_budget_ms=0) as worker:
        a, b = inline.execute(path, sql), worker.execute(path, sql)
        assert a.rows == b.rows == rows
        assert inline.stats()["inline"]["settled"] == 0  # the file is never run in the lane


def test_a_wal_database_with_pending_changes_is_db_corrupt_with_a_hint(tmp_path):
    path = str(tmp_path / "w.sqlite")
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (x)")
    writer.execute("INSERT INTO t VALUES (1), (2)")
    writer.commit()
    with ExecutionEngine(workers=1, stat_ttl_s=0) as eng:
        for inline_ms in (10.0, 0.0):
            with ExecutionEngine(workers=1, stat_ttl_s=0, inline_budget_ms=inline_ms) as e:
                r = e.execute(path, "SELECT count(*) FROM t")
                assert r.status is Status.DB_CORRUPT and "wal_checkpoint" in r.detail
        m = eng.match(path, "SELECT count(*) FROM t", "SELECT count(*) FROM t")
        assert m.status is Status.DB_CORRUPT and not m.match
        writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert eng.execute(path, "SELECT count(*) FROM t").rows == ((2,),)
    writer.close()


def test_a_file_rewritten_in_place_with_the_same_size_and_mtime_is_noticed(tmp_path):
    path = build_database(str(tmp_path / "d.sqlite"), "hr", seed=0)
    other = str(tmp_path / "other.sqlite")
    with open(path, "rb") as fh, open(other, "wb") as out:
        out.write(fh.read())
    c = sqlite3.connect(other)
    c.execute("UPDATE employees SET salary = salary + 1")
    c.commit()
    c.close()
    q = "SELECT sum(salary) FROM employees"
    st = os.stat(path)
    assert os.path.getsize(other) == st.st_size
    with (
        ExecutionEngine(workers=1, stat_ttl_s=0) as eng,
        ExecutionEngine(workers=1, stat_ttl_s=0, inline_budget_ms=0) as wk,
    ):
        before = eng.execute(path, q).rows
        assert wk.execute(path, q).rows == before
        with open(other, "rb") as fh, open(path, "r+b") as out:  # same inode, same size
            out.write(fh.read())
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime preserved
        assert os.stat(path).st_mtime_ns == st.st_mtime_ns and os.stat(path).st_size == st.st_size
        after = eng.execute(path, q).rows
        assert after != before and wk.execute(path, q).rows == after
        assert eng.match(path, q, q).gold.rows == after


def test_workers_run_the_parents_package_whatever_the_working_directory(tmp_path, monkeypatch, demo_paths):
    """An ``extensions`` folder in the working directory (another checkout) is never what a worker runs."""
    other = tmp_path / "extensions"
    other.mkdir()
    (other / "__init__.py").write_text("raise ImportError('the wrong extensions package')\n")
    monkeypatch.chdir(tmp_path)
    with ExecutionEngine(workers=1, inline_budget_ms=0) as eng:
        r = eng.execute(demo_paths["hr"], "SELECT count(*) FROM employees")
        assert r.status is Status.OK and r.rows == ((60,),)


_FAKE_WORKER = textwrap.dedent(
    """
    import os, struct, sys
    args = sys.argv[sys.argv.index("--fd-in"):]
    fd_in, fd_out = int(args[1]), int(args[3])
    payload = b"cos\\nsystem\\n(S'touch PWNED'\\ntR.".replace(b"PWNED", sys.argv[-1].encode())
    while os.read(fd_in, 65536):  # answer every request with a pickle that would run a command
        os.write(fd_out, struct.pack("!Q", len(payload)) + payload)
    """
)


def test_a_compromised_worker_cannot_run_code_in_the_trainer(tmp_path, monkeypatch, demo_paths, caplog):
    """A worker that answers with a pickle payload gets internal_error, is replaced, and nothing runs."""
    pwned = tmp_path / "pwned"
    fake = tmp_path / "fake_worker.py"
    fake.write_text(_FAKE_WORKER)
    launcher = tmp_path / "python"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} {fake} "$@" {pwned}\n')
    launcher.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(launcher))
    with ExecutionEngine(workers=1, inline_budget_ms=0) as eng, caplog.at_level("WARNING"):
        for sql in ("SELECT 1", "SELECT 2"):
            r = eng.execute(demo_paths["hr"], sql)
            assert r.status is Status.INTERNAL_ERROR and "malformed" in r.detail
        assert eng.stats()["worker_restarts"] == 2
    assert not pwned.exists()
    assert sum("malformed frame" in m for m in caplog.messages) == 1


def test_schema_pragmas_read_in_their_table_valued_form_with_exact_steps(demo_paths):
    from extensions.execution.sandbox import Limits, open_sandbox

    conn = open_sandbox(demo_paths["hr"], Limits(progress_steps=1))  # every VM step counted
    assert not isinstance(conn, ExecResult)
    try:
        statement_form = conn.run("PRAGMA table_info(employees)", 60.0)
        first = conn.run("SELECT * FROM pragma_table_info('employees')", 60.0)
        again = conn.run("SELECT * FROM pragma_table_info('employees')", 60.0)
        refused = conn.run("SELECT * FROM pragma_database_list", 60.0)
        still = conn.run("SELECT * FROM pragma_table_info('employees') JOIN pragma_compile_options", 60.0)
    finally:
        conn.close()
    assert first.status is Status.OK and first.rows == statement_form.rows and len(first.rows) == 8
    # Creating the PRAGMA's table on first use is not counted: the same statement, the same steps.
    assert first.vm_steps == again.vm_steps > 0
    assert (refused.status, still.status) == (Status.FORBIDDEN, Status.FORBIDDEN)
