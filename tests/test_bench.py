"""The benchmark command runs end to end on a tiny workload (figures are not asserted: timings belong
to the benchmark, not to tests) and its callers agree on every verdict."""

from __future__ import annotations

import json

from extensions import bench


def _run(capsys, tmp_path, *argv: str) -> dict:
    assert bench.main([*argv, "--cache-dir", str(tmp_path), "--shared", str(tmp_path / "absent")]) == 0
    return json.loads(capsys.readouterr().out)


def test_engine_bench_tiny(capsys, tmp_path):
    out = _run(capsys, tmp_path, "engine", "--datasets", "bundled", "--prompts", "6", "--rollouts", "8",
               "--repeats", "2", "--runaways", "1", "--runaway-timeout", "0.3")
    r = out["engine"]["bundled"]
    assert r["samples"] == 48
    assert r["verdict_agreement_engine_vs_reference"] == 1.0
    assert r["verdict_agreement_enhanced_vs_reference"] == 1.0
    assert r["batch"]["engine"]["verdict_agreement_vs_reference"] == 1.0
    assert r["engine_workers_only"]["verdict_agreement_vs_reference"] == 1.0
    assert r["overhead_beyond_sqlite"]["one_thread_caller_cpu_s"] > 0
    assert len(r["speedup_per_round"]["engine"]) == 2
    inline = r["engine"]["stats"]["inline"]
    assert inline["settled"] > 0 and inline["budget_ms"] == 10.0
    assert r["runaways"]["verdict_agreement_engine_vs_reference"] == 1.0
    assert r["runaways"]["batch_verdict_agreement_vs_reference"] == 1.0
    assert r["runaways"]["reference_leaked_threads"] == 1


def test_engine_bench_workers_only(capsys, tmp_path):
    out = _run(capsys, tmp_path, "engine", "--datasets", "bundled", "--prompts", "4", "--rollouts", "4",
               "--repeats", "1", "--runaways", "0", "--inline-budget-ms", "0")
    r = out["engine"]["bundled"]
    assert r["inline_budget_ms"] == 0.0 and r["engine"]["stats"]["inline"]["settled"] == 0
    assert r["engine"]["stats"]["worker_executions"] == r["engine"]["stats"]["executions"] > 0
    assert r["verdict_agreement_engine_vs_reference"] == 1.0


def test_memory_bench_tiny(capsys, tmp_path):
    out = _run(capsys, tmp_path, "memory", "--n-databases", "6", "--rounds", "2", "--queries-per-db", "3",
               "--max-open", "2", "--cache-entries", "5")
    for mode in ("inline_lane", "workers_only"):
        m = out["memory"][mode]
        assert m["calls"] == 36 and len(m["samples"]) == 2
        last = m["samples"][-1]
        assert last["cached_verdicts"] <= 5 and last["cached_results"] <= 10
        assert last["inline_connections"] <= 2 * 2  # max_open files x per-file connections
        assert last["worker_connections"] <= 2 * m["engine"]["workers"]
