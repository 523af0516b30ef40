"""Checks before a run starts: configuration and data. Fail fast, with clear messages.

``python -m extensions.validation DATA [--db-dir DIR] [--slow-s 5] [--write-filtered OUT]``

DATA is one of our prepared parquet files, or a Spider/BIRD-style JSON list
(``db_id`` and ``query``/``SQL``) with ``--db-dir``. Every gold query is
executed in the sandbox; the report lists gold errors, empty results, slow
golds, duplicate questions and schemas that cannot be read. ``--write-filtered``
writes a copy without the failing rows, as the Arctic-Text2SQL-R1 recipe does
(drop golds with empty results or slower than 5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from extensions.config import Config
from extensions.errors import ConfigError, DataError, SchemaLoadError
from extensions.execution.engine import ExecutionEngine
from extensions.execution.status import Status
from extensions.sql.schema import Schema


# ----------------------------------------------------------------------------- config
def validate_config(cfg: Config, *, need_gpu: bool = False) -> list[str]:
    """Problems that would make a training run fail or waste time; empty when fine."""
    problems = []
    o, g = cfg.optimization, cfg.grpo
    if (o.batch_size * o.gradient_accumulation_steps) % g.num_generations != 0 and o.batch_size % g.num_generations != 0:
        problems.append(
            f"grpo.num_generations={g.num_generations} must divide the effective batch "
            f"(optimization.batch_size x gradient_accumulation_steps = {o.batch_size * o.gradient_accumulation_steps})"
        )
    if o.lora.enabled and not o.lora.target_modules:
        problems.append("optimization.lora.target_modules is empty while LoRA is enabled")
    if o.load_in_4bit and not o.lora.enabled:
        problems.append("optimization.load_in_4bit needs LoRA (optimization.lora.enabled=true): 4-bit weights cannot be trained directly")
    if need_gpu:
        try:
            import torch

            has_cuda = torch.cuda.is_available()
        except ImportError:
            has_cuda = False
        if not has_cuda and (o.load_in_4bit or o.mixed_precision == "bf16" or g.use_vllm):
            problems.append("a GPU is required for load_in_4bit / bf16 / vLLM, and none is available (use --demo or set them off)")
    if cfg.reward.enable_enhanced and cfg.reward.syntax_weight == 0 and cfg.reward.schema_weight == 0 and cfg.reward.structural_select_weight == 0:
        problems.append("reward.enable_enhanced is true but every shaping weight is 0")
    return problems


def check_config(cfg: Config, *, need_gpu: bool = False) -> None:
    """Raise :class:`ConfigError` listing every problem found by :func:`validate_config`."""
    problems = validate_config(cfg, need_gpu=need_gpu)
    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(problems))


# ----------------------------------------------------------------------------- data
@dataclass
class Row:
    index: int
    db_path: str
    sql: str
    question: str
    raw: dict


@dataclass
class Report:
    total: int = 0
    gold_errors: list[dict] = field(default_factory=list)
    empty_results: list[dict] = field(default_factory=list)
    slow: list[dict] = field(default_factory=list)
    duplicate_questions: list[dict] = field(default_factory=list)
    schema_failures: list[dict] = field(default_factory=list)
    missing_databases: list[dict] = field(default_factory=list)
    keep: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "gold_errors": len(self.gold_errors),
            "empty_results": len(self.empty_results),
            "slow": len(self.slow),
            "duplicate_questions": len(self.duplicate_questions),
            "schema_failures": len(self.schema_failures),
            "missing_databases": len(self.missing_databases),
            "kept_after_filtering": len(self.keep),
        }


def load_rows(path: str, db_dir: str | None = None) -> list[Row]:
    """Rows from a prepared parquet file or a Spider/BIRD-style JSON list."""
    if not os.path.exists(path):
        raise DataError(f"missing file: {path}")
    rows = []
    if path.endswith(".parquet"):
        from extensions.data.prepare import read_parquet

        for i, r in enumerate(read_parquet(path)):
            gt = (r.get("reward_model") or {}).get("ground_truth") or {}
            if isinstance(gt, str):
                gt = json.loads(gt) if gt.lstrip().startswith("{") else {"sql": gt}
            q = (r.get("extra_info") or {}).get("question", "")
            db = gt.get("db_path") or (os.path.join(db_dir, gt["db_id"], f"{gt['db_id']}.sqlite") if db_dir and gt.get("db_id") else "")
            rows.append(Row(i, db, gt.get("sql", ""), q, r))
        return rows
    with open(path) as fh:
        data = json.load(fh)
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list")
    if db_dir is None:
        raise DataError("--db-dir is required for JSON input")
    for i, e in enumerate(data):
        sql = e.get("query") or e.get("SQL") or e.get("sql") or ""
        rows.append(Row(i, os.path.join(db_dir, e["db_id"], f"{e['db_id']}.sqlite"), sql, e.get("question", ""), e))
    return rows


def validate_rows(rows: list[Row], *, engine: ExecutionEngine, slow_s: float = 5.0, drop_empty: bool = True, threads: int = 8) -> Report:
    rep = Report(total=len(rows))
    seen: Counter = Counter()
    for r in rows:
        key = (r.db_path, r.question.strip().lower())
        seen[key] += 1
        if r.question and seen[key] == 2:
            rep.duplicate_questions.append({"index": r.index, "question": r.question})
    schema_ok: dict[str, bool] = {}
    for p in {r.db_path for r in rows}:
        try:
            Schema.from_sqlite(p)
            schema_ok[p] = True
        except SchemaLoadError as exc:
            schema_ok[p] = False
            rep.schema_failures.append({"db_path": p, "error": str(exc)})

    def run(r: Row):
        return engine.execute_gold(r.db_path, r.sql)

    with ThreadPoolExecutor(threads) as ex:
        results = list(tqdm(ex.map(run, rows), total=len(rows), desc="executing golds", file=sys.stderr, leave=False))
    for r, res in zip(rows, results):
        item = {"index": r.index, "db_path": r.db_path, "sql": r.sql[:300]}
        bad = False
        if res.status is Status.DB_MISSING:
            rep.missing_databases.append(item)
            bad = True
        elif res.status is not Status.OK:
            rep.gold_errors.append(dict(item, status=res.status.value, detail=res.detail))
            bad = True
        else:
            if not res.rows:
                rep.empty_results.append(item)
                bad = bad or drop_empty
            if res.elapsed_s > slow_s:
                rep.slow.append(dict(item, seconds=round(res.elapsed_s, 3)))
                bad = True
        if not schema_ok.get(r.db_path, True):
            bad = True
        if not bad:
            rep.keep.append(r.index)
    return rep


def check_training_rows(rows: list[dict], *, engine: ExecutionEngine, max_bad_fraction: float = 0.5) -> tuple[list[dict], Report]:
    """Execute every gold of ``{"prompt", "ground_truth": {"sql", "db_path"}}`` rows before training.

    Rows whose gold fails, returns nothing or whose database is missing are dropped (they would
    only ever give a zero reward). Raises :class:`DataError` when more than ``max_bad_fraction``
    of the rows are unusable: the data or ``--data`` path is wrong, and training would be wasted.
    """
    if not rows:
        raise DataError("no training rows")
    as_rows = [Row(i, (r.get("ground_truth") or {}).get("db_path", ""), (r.get("ground_truth") or {}).get("sql", ""), "", r)
               for i, r in enumerate(rows)]
    rep = validate_rows(as_rows, engine=engine, slow_s=float("inf"))
    bad = len(rows) - len(rep.keep)
    if bad > max_bad_fraction * len(rows):
        raise DataError(
            f"{bad} of {len(rows)} training rows are unusable (gold errors: {len(rep.gold_errors)}, "
            f"empty results: {len(rep.empty_results)}, missing databases: {len(rep.missing_databases)}); "
            "check the data folder (python -m extensions.validation DATA)"
        )
    keep = set(rep.keep)
    return [r for i, r in enumerate(rows) if i in keep], rep


def write_filtered(src: str, rows: list[Row], keep: list[int], out: str) -> None:
    keep_set = set(keep)
    kept = [r.raw for r in rows if r.index in keep_set]
    if src.endswith(".parquet"):
        from extensions.data.prepare import write_parquet

        write_parquet(kept, out)
    else:
        with open(out, "w") as fh:
            json.dump(kept, fh, indent=1, ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m extensions.validation", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="prepared .parquet, or Spider/BIRD-style .json")
    p.add_argument("--db-dir", help="database folder (<db_id>/<db_id>.sqlite) for JSON input")
    p.add_argument("--slow-s", type=float, default=5.0, help="golds slower than this are reported (and filtered)")
    p.add_argument("--keep-empty", action="store_true", help="do not filter golds with empty results")
    p.add_argument("--write-filtered", metavar="OUT", help="write a copy without gold errors, empty results and slow golds")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    a = p.parse_args(argv)
    try:
        rows = load_rows(a.data, a.db_dir)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with ExecutionEngine(workers=a.workers, timeout_s=max(a.slow_s * 2, 10.0), adaptive_timeout=False) as eng:
        rep = validate_rows(rows, engine=eng, slow_s=a.slow_s, drop_empty=not a.keep_empty)
    if a.json:
        print(json.dumps({"summary": rep.summary(), **{k: v for k, v in rep.__dict__.items() if k not in ("keep", "total")}}, indent=1))
    else:
        for k, v in rep.summary().items():
            print(f"{k:>22}: {v}")
        for name in ("gold_errors", "missing_databases", "schema_failures"):
            for item in getattr(rep, name)[:5]:
                print(f"  {name}: {item}")
    if a.write_filtered:
        write_filtered(a.data, rows, rep.keep, a.write_filtered)
        print(f"wrote {len(rep.keep)} rows to {a.write_filtered}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
