import json
import os

import pytest

from extensions.training.checkpoint import CheckpointManager
from extensions.training.metrics import MetricsLogger, read_metrics
from extensions.training.plots import plot_run
from tests.conftest import require


def test_keep_best_k_and_latest(tmp_path):
    m = CheckpointManager(str(tmp_path), keep_best_k=2)
    for step, score in [(1, 0.1), (2, 0.9), (3, 0.5), (4, 0.2), (5, 0.05)]:
        os.makedirs(tmp_path / f"checkpoint-{step}")
        m.record(step, score)
        m.prune()
    assert [c.step for c in m.list()] == [2, 3, 5]  # best two + latest
    assert m.best().step == 2 and m.latest().step == 5
    with pytest.raises(ValueError):
        CheckpointManager(str(tmp_path), keep_best_k=0)


def test_save_with_a_model(tmp_path):
    class Fake:
        def save_pretrained(self, path):
            open(os.path.join(path, "weights.bin"), "w").write("x")

    m = CheckpointManager(str(tmp_path), keep_best_k=1)
    p = m.save(Fake(), Fake(), step=7, score=1.5)
    assert os.path.exists(os.path.join(p, "weights.bin"))
    assert json.load(open(os.path.join(p, "extensions_meta.json"))) == {"step": 7, "score": 1.5}


def test_metrics_logger_and_plot(tmp_path):
    require("matplotlib")
    log = MetricsLogger(str(tmp_path))
    for s in range(1, 4):
        log.log(
            s,
            {
                "rewards/sql_reward/mean": s / 10,
                "rewards/schema/mean": -0.1,
                "kl": 0.01 * s,
                "loss": 0.5,
                "nan": float("nan"),
                "text": "x",
            },
        )
    rows = read_metrics(str(tmp_path / "metrics.jsonl"))
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert all("step_time_s" in r and r["nan"] is None and "text" not in r for r in rows)
    png = plot_run(str(tmp_path / "metrics.jsonl"), str(tmp_path / "curves.png"))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    MetricsLogger(str(tmp_path), resume=True).log(4, {"loss": 1.0})
    assert len(read_metrics(str(tmp_path / "metrics.jsonl"))) == 4


def test_rolling_mean_skips_missing_values():
    from extensions.training.metrics import rolling_mean

    assert rolling_mean([None, 1.0, 3.0, None, 5.0], 2) == [None, 1.0, 2.0, 2.0, 4.0]


def test_run_plot_with_heldout_bars(tmp_path):
    require("matplotlib")
    from extensions.training.plots import plot_run

    log = MetricsLogger(str(tmp_path))
    for s in range(1, 13):
        log.log(
            s,
            {
                "rewards/sql_reward/mean": s / 12,
                "rewards/acc/mean": s / 24,
                "rewards/hallucinations/mean": 0.5,
                "kl": 0.01,
            },
        )
    ev = tmp_path / "eval.json"
    ev.write_text(
        json.dumps(
            {
                "before": {"exec_match": 0.1, "format_ok": 0.9, "syntax_error_rate": 0.1, "hallucination_rate": 0.2},
                "after": {"exec_match": 0.2, "format_ok": 1.0, "syntax_error_rate": 0.0, "hallucination_rate": 0.1},
                "n": 60,
                "decoding": "greedy",
            }
        )
    )
    png = plot_run(str(tmp_path / "metrics.jsonl"), str(tmp_path / "run.png"), str(ev))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
