"""A `verifiers` environment whose Rubric holds our reward components with their weights.

    import extensions.integrations.verifiers as sqlenv
    env = sqlenv.load_environment()            # demo databases
    env = sqlenv.load_environment(dataset="data/verl/train.parquet", config="configs/train_24gb.yaml")

Targets the classic ``SingleTurnEnv`` / ``Rubric(funcs, weights)`` API, which
verifiers 0.3.x ships as ``verifiers.legacy`` (also importable as ``import
verifiers as vf``); verifiers 0.4.0 removed that stack in favour of
``verifiers.v1``, so the ``verifiers`` extra pins ``>=0.3,<0.4``.

The rubric's functions are ``baseline`` (weight 1), ``schema`` (hallucinated
names, weight ``schema_weight`` per name up to the cap), ``structural``
(clause F1 in [0, 1], weight = structural weight), ``syntax`` (0/1, weight
``syntax_weight``) and ``invariant`` (weight 1: the correction that keeps every
result-correct answer above every wrong one, and removes shaping that gating
does not apply). Their weighted sum is exactly the total of
:class:`~extensions.rewards.combine.EnhancedRewardComputer`, and verifiers
reports each function as its own metric.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from extensions.config import load_config
from extensions.integrations.trl import completion_text
from extensions.rewards.combine import EnhancedRewardComputer


def _vf() -> Any:
    try:
        import verifiers as vf

        if hasattr(vf, "SingleTurnEnv") and hasattr(vf, "Rubric"):
            return vf
        import verifiers.legacy as legacy  # type: ignore[import-not-found]

        return legacy
    except ImportError as exc:
        raise ImportError(
            "extensions.integrations.verifiers needs the classic verifiers API (SingleTurnEnv, Rubric): "
            "pip install 'verifiers>=0.3,<0.4'  (verifiers 0.4 removed it)"
        ) from exc


class _Scores:
    """One breakdown per (completion, answer), shared by the rubric's functions."""

    def __init__(self, computer: EnhancedRewardComputer, size: int = 4096) -> None:
        self.computer = computer
        self._cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get(self, completion: Any, answer: Any) -> Any:
        text = completion_text(completion)
        ans = answer if isinstance(answer, str) else json.dumps(answer, sort_keys=True, default=str)
        key = (text, ans)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        result = self.computer.compute_reward(text, ans)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return result


def build_rubric(computer: EnhancedRewardComputer) -> Any:
    vf = _vf()
    scores = _Scores(computer)
    schema_w = computer.schema_reward.weight
    struct_w = computer.structural_weight
    syntax_w = computer.syntax_weight
    cap = computer.schema_reward.cap

    def baseline(completion: Any, answer: Any, **kwargs: Any) -> float:
        return scores.get(completion, answer).baseline_total

    def schema(completion: Any, answer: Any, **kwargs: Any) -> float:
        n = scores.get(completion, answer).breakdown["hallucinations"]
        return float(min(n, cap) if cap is not None else n)

    def structural(completion: Any, answer: Any, **kwargs: Any) -> float:
        return scores.get(completion, answer).breakdown["structural_f1"]

    def syntax(completion: Any, answer: Any, **kwargs: Any) -> float:
        return 1.0 if scores.get(completion, answer).syntax > 0 else 0.0

    def invariant(completion: Any, answer: Any, **kwargs: Any) -> float:
        r = scores.get(completion, answer)
        b = r.breakdown
        weighted = r.baseline_total + schema_w * schema(completion, answer) + struct_w * b["structural_f1"] + syntax_w * syntax(completion, answer)
        return r.total - weighted

    funcs = [baseline, schema, structural, syntax, invariant]
    weights = [1.0, schema_w, struct_w, syntax_w, 1.0]
    return vf.Rubric(funcs=funcs, weights=weights)


def _rows(dataset: str | None, style: str) -> list[dict]:
    if dataset:
        from extensions.data.prepare import read_parquet

        rows = []
        for r in read_parquet(dataset):
            gt = r["reward_model"]["ground_truth"]
            rows.append({"prompt": [dict(m) for m in r["prompt"]], "answer": json.dumps({"sql": gt["sql"], "db_path": gt["db_path"]}),
                         "info": {"db_id": gt.get("db_id", "")}})
        return rows
    from extensions.data.demo import build_demo_databases, demo_examples
    from extensions.data.templates import build_prompt, render_schema
    from extensions.sql.schema import Schema

    paths = build_demo_databases()
    rows = []
    for e in demo_examples():
        p = paths[e["db_id"]]
        rows.append({
            "prompt": build_prompt(style, render_schema(Schema.from_sqlite(p)), e["question"]),
            "answer": json.dumps({"sql": e["query"], "db_path": p}),
            "info": {"db_id": e["db_id"]},
        })
    return rows


def load_environment(config: str | None = None, dataset: str | None = None, **overrides: Any) -> Any:
    """A ``SingleTurnEnv`` over ``dataset`` (a prepared parquet; default: the demo set)."""
    from datasets import Dataset

    vf = _vf()
    cfg = load_config(config, overrides=[f"{k}={v}" for k, v in overrides.items()] or None)
    computer = EnhancedRewardComputer.from_config(cfg)
    ds = Dataset.from_list(_rows(dataset, cfg.data.prompt_style))
    return vf.SingleTurnEnv(dataset=ds, rubric=build_rubric(computer))
