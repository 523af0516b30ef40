"""The benchmark command runs end to end on a tiny workload (figures are not asserted: timings belong
to the benchmark, not to tests), its callers agree on every verdict, and its report renders the JSON."""

from __future__ import annotations

import json
import pathlib

import pytest

from extensions import bench
from extensions._util.version import code_version
from extensions.cli.bench.callers import RunOptions, hook_overrides
from extensions.config import load_config
from extensions.execution.engine import EngineSettings

CALLERS = {
    "reference",
    "hook_async_engine_only",
    "hook_async_shaping",
    "engine",
    "engine_workers_only",
    "engine_async",
    "engine_batch",
    "enhanced",
    "enhanced_async",
    "enhanced_batch",
}


def _run(capsys, tmp_path, *argv: str) -> dict:
    assert (
        bench.main([*argv, "--cache-dir", str(tmp_path), "--shared", str(tmp_path / "absent"), "--workers", "1"]) == 0
    )
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def engine_report(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "tiny.json"
    assert (
        bench.main(
            [
                "engine",
                "--datasets",
                "bundled",
                "--prompts",
                "6",
                "--rollouts",
                "8",
                "--repeats",
                "2",
                "--runaways",
                "1",
                "--runaway-timeout",
                "1.0",  # one worker: the runaway holds it this long, and the others' acquisition deadline is as long
                "--workers",
                "1",
                "--cache-dir",
                str(tmp),
                "--shared",
                str(tmp / "absent"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return {"path": out, "json": json.loads(out.read_text())}


@pytest.mark.slow
def test_engine_bench_tiny(engine_report):
    r = engine_report["json"]["engine"]["bundled"]
    assert r["samples"] == 48 and set(r["callers"]) == CALLERS
    for name, c in r["callers"].items():
        assert c["verdict_agreement_vs_reference"] == 1.0, name
        assert len(c["speedup_per_round"]) == 2
    hook = r["callers"]["hook_async_shaping"]
    assert (
        hook["breakdown_keys"] == r["callers"]["hook_async_engine_only"]["breakdown_keys"] > 2
    )  # the same full breakdown
    inline = r["callers"]["engine"]["stats"]["inline"]
    assert inline["settled"] > 0 and inline["budget_ms"] == 10.0
    assert r["callers"]["engine_workers_only"]["stats"]["inline"]["settled"] == 0
    assert r["per_call_overhead_one_thread"]["one_thread_caller_cpu_s"] > 0
    assert r["sqlite_reference"]["statements"] > 0 and r["sqlite_reference"]["total_s"] > 0
    for name, c in r["callers"].items():  # every caller takes longer than SQLite alone on the same statements
        assert c["overhead_beyond_sqlite"] > 1.0 and len(c["overhead_per_round"]) == 2, name
    assert r["runaways"]["verdict_agreement_engine_vs_reference"] == 1.0
    assert r["runaways"]["batch_verdict_agreement_vs_reference"] == 1.0
    assert r["runaways"]["reference_leaked_threads"] == 1


@pytest.mark.slow
def test_report_renders_the_json(engine_report, capsys):
    assert bench.main(["report", str(engine_report["path"])]) == 0
    md = capsys.readouterr().out
    r = engine_report["json"]["engine"]["bundled"]
    row = next(line for line in md.splitlines() if line.startswith("| bundled demo"))
    assert f"{r['callers']['hook_async_engine_only']['speedup']:.1f}×" in row
    assert "Lowest verdict agreement with the reference, over every caller, database and round: 1.0000." in md


def test_the_shaping_callers_opt_in_to_shaping_whatever_the_default():
    opts = RunOptions(EngineSettings(workers=0))
    shaped = load_config(overrides=hook_overrides(opts, shaping=True)).reward
    plain = load_config(overrides=hook_overrides(opts, shaping=False)).reward
    assert (shaped.enable_enhanced, plain.enable_enhanced) == (True, False)
    assert shaped.model_dump() == {**plain.model_dump(), "enable_enhanced": True}


def test_report_of_a_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[" * 1000)
    assert bench.main(["report", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {bad}: not valid JSON")


def test_memory_bench_tiny(capsys, tmp_path):
    out = _run(
        capsys,
        tmp_path,
        "memory",
        "--n-databases",
        "6",
        "--rounds",
        "2",
        "--queries-per-db",
        "3",
        "--max-open",
        "2",
        "--cache-entries",
        "5",
    )
    assert out["provenance"]["commit"] == code_version()[0]  # which code measured it, and how it was asked
    assert out["provenance"]["argv"][:3] == ["memory", "--n-databases", "6"]
    for mode in ("inline_lane", "workers_only"):
        m = out["memory"][mode]
        assert m["calls"] == 36 and len(m["samples"]) == 2
        last = m["samples"][-1]
        assert last["cached_verdicts"] <= 5 and last["cached_results"] <= 10
        assert last["inline_connections"] <= 2 * 2  # max_open files x per-file connections
        assert last["worker_connections"] <= 2 * m["engine"]["workers"]


def test_docs_tables_come_from_the_committed_json(capsys):
    root = pathlib.Path(__file__).resolve().parents[1]
    files = sorted(str(p) for p in (root / "docs" / "bench").glob("*.json"))
    assert files, "docs/benchmarks.md's tables come from docs/bench/*.json, and none is committed"
    assert bench.main(["report", *files]) == 0
    assert capsys.readouterr().out in (root / "docs" / "benchmarks.md").read_text()


def test_docs_profile_tables_come_from_the_committed_profile_json(capsys):
    root = pathlib.Path(__file__).resolve().parents[1]
    files = sorted(str(p) for p in (root / "docs" / "bench" / "profile").glob("*.json"))
    assert files, "docs/benchmarks.md's profile tables come from docs/bench/profile/*.json, and none is committed"
    assert bench.main(["report", *files]) == 0
    assert capsys.readouterr().out in (root / "docs" / "benchmarks.md").read_text()


def test_profile_tiny(capsys, tmp_path):
    out = _run(
        capsys,
        tmp_path,
        "profile",
        "--datasets",
        "bundled",
        "--prompts",
        "4",
        "--rollouts",
        "8",
        "--repeats",
        "1",
        "--callers",
        "hook_async_engine_only,engine_async",
    )
    r = out["profile"]["bundled"]
    hook, eng = r["hook_async_engine_only"], r["engine_async"]
    assert r["samples"] == 32 and hook["overhead_beyond_sqlite"] > 1.0
    assert hook["calls"]["extraction"] > 0 and eng["calls"]["extraction"] == 0  # only the hook extracts
    assert hook["calls"]["engine: per-sample verdicts (match)"] <= 32  # once per distinct sample of the batch
    assert 0.0 < hook["fractions"]["scoring in the coalescer thread"] <= 1.5


def test_instructions_child_scores_every_sample(tmp_path):
    from extensions.cli.bench.instructions import run_child

    for caller in ("hook_async_engine_only", "engine_async"):
        assert run_child("bundled", caller, str(tmp_path / "absent"), str(tmp_path), 4, 8) == 32
    assert run_child("bundled", "setup", str(tmp_path / "absent"), str(tmp_path), 4, 8) == 0


@pytest.mark.parametrize("folder", ["instructions", "reliability", "loaded"])
def test_docs_round3_tables_come_from_the_committed_json(capsys, folder):
    root = pathlib.Path(__file__).resolve().parents[1]
    files = sorted(str(p) for p in (root / "docs" / "bench" / folder).glob("*.json"))
    if not files:
        pytest.skip(f"no committed {folder} JSON")
    assert bench.main(["report", *files]) == 0
    assert capsys.readouterr().out in (root / "docs" / "benchmarks.md").read_text()


def test_report_renders_instruction_counts_and_reliability(capsys, tmp_path):
    instr = {"instructions": {"bundled": {"hook_async_engine_only": 5e8, "engine_async": 3e8, "setup": 1}}}
    instr["instructions"]["bundled"]["over_engine_async"] = {"hook_async_engine_only": 5 / 3}
    tool = {"query": "printf", "busy": 4, "status": "timeout_cpu", "wall_s": 3.0, "cpu_s": 2.5}
    single = {"wall_s": 1.5, "caller_cpu_s": 0.01, "statuses": ["timeout_cpu"]}
    rel = {
        "reliability": {
            "busy": 4,
            "expensive": {
                "busy": 4,
                "singles": [single] * 3,
                "batch": {"wall_s": 12.0, "caller_cpu_s": 0.02, "statuses": ["timeout_cpu"] * 8},
                "bounds": {"batch_wall_s": 25.0, "caller_cpu_s_per_statement": 0.25},
                "held": True,
            },
            "tool": [{**tool, "within_limit_plus_grace": True}],
            "tool_memory": {"peak_growth_mb": 2.0, "answer_last_line": "(99999 rows; first 10 shown)"},
        }
    }
    (tmp_path / "i.json").write_text(json.dumps(instr))
    (tmp_path / "r.json").write_text(json.dumps(rel))
    assert bench.main(["report", str(tmp_path / "i.json"), str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "| bundled demo (4 small DBs), i | 500M | – | 300M | 1.67 |" in out
    assert "the batch of 8 through `compute_score_batch` 12.0 s (bound 25 s; 8 of 8 `timeout_cpu`)" in out
    assert "| r | printf | 4 | timeout_cpu | 3.00 s | 2.50 s | yes |" in out
