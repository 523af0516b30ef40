"""Dataset preparation: VERL train/val parquet files from local Spider, BIRD, SynSQL,
sql-create-context or the bundled demo data.

Each row::

    data_source   "spider" | "bird" | "synsql" | "sql_create_context" | "demo"
    prompt        chat messages (SQL-R1 or OmniSQL template, schema as CREATE TABLE text with sample values)
    ability       "text2sql"
    reward_model  {"style": "rule", "ground_truth": {"sql": gold, "db_path": absolute path, "db_id": ...}}
    extra_info    {"index", "split", "db_id", "question", "evidence"}

Everything is read from local files (no hub at run time).
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from tqdm import tqdm

from extensions._util.nesting import json_loads_bounded
from extensions.data.layout import db_file
from extensions.data.templates import build_prompt, render_schema
from extensions.errors import DataError
from extensions.execution.introspect import load_schema, sample_values
from extensions.tool.prompt import multi_turn_row

SOURCES = ("spider", "bird", "synsql", "sql_create_context", "demo")


@dataclass
class Example:
    db_id: str
    question: str
    sql: str
    db_path: str
    evidence: str = ""
    schema_text: str | None = None  # pre-rendered (schema-only datasets)


def _load_json(path: str) -> list[dict]:
    if not os.path.exists(path):
        raise DataError(f"missing file: {path}")
    with open(path, encoding="utf-8") as fh:  # invalid, too deep or not UTF-8: ValueError, named by the CLI
        if path.endswith(".jsonl"):
            return [json_loads_bounded(line) for line in fh if line.strip()]
        data = json_loads_bounded(fh.read(), max_depth=256)
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of examples")
    return data


def _db_path(db_dir: str, db_id: str) -> str:
    for cand in (db_file(db_dir, db_id), os.path.join(db_dir, f"{db_id}.sqlite")):
        if os.path.exists(cand):
            return os.path.abspath(cand)
    raise DataError(f"database for db_id {db_id!r} not found under {db_dir} (expected {db_id}/{db_id}.sqlite)")


def _first_existing(folder: str, names: Iterable[str]) -> str | None:
    for n in names:
        p = os.path.join(folder, n)
        if os.path.exists(p):
            return p
    return None


def spider_examples(root: str, split: str) -> list[Example]:
    """Spider layout: ``train_spider.json`` (+ ``train_others.json``), ``dev.json``, ``database/``."""
    names = ["train_spider.json", "train_others.json"] if split == "train" else ["dev.json"]
    files = [os.path.join(root, n) for n in names if os.path.exists(os.path.join(root, n))]
    if not files:
        raise DataError(f"no Spider {split} file in {root} (looked for {', '.join(names)})")
    db_dir = os.path.join(root, "database")
    out = []
    for f in files:
        for e in _load_json(f):
            out.append(Example(e["db_id"], e["question"], e["query"], _db_path(db_dir, e["db_id"])))
    return out


def bird_examples(root: str, split: str) -> list[Example]:
    """BIRD layout: ``train/train.json`` + ``train/train_databases/`` or ``dev/dev.json`` + ``dev/dev_databases/``."""
    folder = os.path.join(root, split) if os.path.isdir(os.path.join(root, split)) else root
    f = _first_existing(folder, [f"{split}.json"])
    if f is None:
        raise DataError(f"no BIRD {split}.json in {folder}")
    db_dir = _first_existing(folder, [f"{split}_databases", "databases", "database"])
    if db_dir is None:
        raise DataError(f"no {split}_databases folder in {folder}")
    return [
        Example(e["db_id"], e["question"], e["SQL"], _db_path(db_dir, e["db_id"]), e.get("evidence") or "")
        for e in _load_json(f)
    ]


def synsql_examples(root: str, split: str) -> list[Example]:
    """SynSQL-2.5M layout: ``data.json`` (``db_id``, ``question``, ``sql``, ``external_knowledge``) and ``databases/``."""
    names = [f"{split}.json"] + (["data.json"] if split == "train" else [])
    f = _first_existing(root, names)
    if f is None:
        raise DataError(f"no {' or '.join(names)} in {root}")
    db_dir = _first_existing(root, ["databases", "database"]) or root
    return [
        Example(e["db_id"], e["question"], e["sql"], _db_path(db_dir, e["db_id"]), e.get("external_knowledge") or "")
        for e in _load_json(f)
    ]


def sql_create_context_examples(path: str, cache_dir: str) -> list[Example]:
    """Rows with ``question``, ``context`` (CREATE TABLE text) and ``answer``; instances are synthesized."""
    from extensions.data.synth import synthesize_database

    files = (
        [path]
        if os.path.isfile(path)
        else [os.path.join(path, n) for n in sorted(os.listdir(path)) if n.endswith((".json", ".jsonl"))]
        if os.path.isdir(path)
        else []
    )
    if not files:
        raise DataError(f"no sql-create-context JSON/JSONL file at {path}")
    rows = [r for f in files for r in _load_json(f)]
    by_ctx: dict[str, list[str]] = {}
    for r in rows:
        by_ctx.setdefault(r["context"], []).append(r["answer"])
    out = []
    paths: dict[str, str] = {}
    for ctx, golds in tqdm(by_ctx.items(), desc="synthesizing databases", file=sys.stderr, leave=False, disable=None):
        try:
            paths[ctx] = os.path.abspath(synthesize_database(ctx, golds, cache_dir))
        except Exception as exc:  # an unparseable schema: reported, row skipped
            print(f"warning: cannot synthesize a database for schema {ctx[:60]!r}: {exc}", file=sys.stderr)
    for r in rows:
        p = paths.get(r["context"])
        if p:
            out.append(Example(os.path.basename(p)[:-7], r["question"], r["answer"], p, schema_text=r["context"]))
    return out


def demo_examples_for(split: str, val_fraction: float, seed: int) -> list[Example]:
    from extensions.data.demo import build_demo_databases, demo_examples

    paths = build_demo_databases()
    ex = [Example(e["db_id"], e["question"], e["query"], os.path.abspath(paths[e["db_id"]])) for e in demo_examples()]
    return split_examples(ex, split, val_fraction, seed)


def split_examples(ex: list[Example], split: str, val_fraction: float, seed: int) -> list[Example]:
    idx = list(range(len(ex)))
    random.Random(seed).shuffle(idx)
    n_val = max(1, int(len(ex) * val_fraction))
    val = set(idx[:n_val])
    return [e for i, e in enumerate(ex) if (i in val) == (split == "val")]


def to_rows(
    examples: list[Example], *, source: str, split: str, style: str, sample_k: int, max_tool_calls: int | None = None
) -> Iterator[dict]:
    """Prepared rows; with ``max_tool_calls`` (multi-turn) each goes through :func:`~extensions.tool.prompt.multi_turn_row`."""
    schema_cache: dict[str, str] = {}
    for i, e in enumerate(tqdm(examples, desc=f"{source} {split}", file=sys.stderr, leave=False, disable=None)):
        text = e.schema_text
        if text is None:
            text = schema_cache.get(e.db_path)
            if text is None:
                text = render_schema(load_schema(e.db_path), sample_values(e.db_path, sample_k))
                schema_cache[e.db_path] = text
        row = {
            "data_source": source,
            "prompt": build_prompt(style, text, e.question, e.evidence or None),
            "ability": "text2sql",
            "reward_model": {"style": "rule", "ground_truth": {"sql": e.sql, "db_path": e.db_path, "db_id": e.db_id}},
            "extra_info": {
                "index": i,
                "split": split,
                "db_id": e.db_id,
                "question": e.question,
                "evidence": e.evidence,
            },
        }
        yield multi_turn_row(row, e.db_path, e.db_id, max_tool_calls) if max_tool_calls else row


def write_parquet(rows: list[dict], path: str) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise DataError("writing parquet needs pyarrow: pip install 'text2sql-rewards[report]'") from exc
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


FORMATS = ("parquet", "openrlhf")


def openrlhf_record(row: dict) -> dict:
    """One OpenRLHF JSONL record of a prepared row: ``prompt`` (chat messages), ``label`` (the JSON ground truth), ``datasource``.

    OpenRLHF reads them with ``--data.input_key prompt --data.label_key label --data.apply_chat_template``;
    :func:`extensions.integrations.openrlhf.reward_func` receives the label as it is.

    >>> openrlhf_record({"prompt": [], "data_source": "demo", "reward_model": {"ground_truth": {"sql": "SELECT 1"}}})["label"]
    '{"sql": "SELECT 1"}'
    """
    return {
        "prompt": row["prompt"],
        "label": json.dumps(row["reward_model"]["ground_truth"]),
        "datasource": row["data_source"],
    }


def write_jsonl(records: list[dict], path: str) -> None:
    """Write one JSON object per line (UTF-8)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def _write_split(rows: list[dict], out_dir: str, split: str, fmt: str) -> str:
    if fmt == "openrlhf":
        path = os.path.join(out_dir, f"{split}.jsonl")
        write_jsonl([openrlhf_record(r) for r in rows], path)
        return path
    path = os.path.join(out_dir, f"{split}.parquet")
    write_parquet(rows, path)
    return path


def prepare(
    source: str,
    out_dir: str,
    *,
    path: str | None = None,
    style: str = "sql_r1",
    sample_k: int = 3,
    val_fraction: float = 0.1,
    max_examples: int | None = None,
    seed: int = 0,
    fmt: str = "parquet",
    max_tool_calls: int | None = None,
) -> dict[str, str]:
    """Write ``train`` and ``val`` files under ``out_dir`` (``.parquet`` for verl, ``.jsonl`` for ``fmt="openrlhf"``); returns their paths.

    ``max_tool_calls`` (``--multi-turn``): prompts name the ``execute_sql`` tool and its budget, and rows carry
    verl's ``extra_info.tools_kwargs`` and ``agent_name``.
    """
    if source not in SOURCES:
        raise DataError(f"unknown source {source!r}; allowed: {', '.join(SOURCES)}")
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    if source != "demo" and not path:
        raise DataError(f"--path is required for source {source!r} (the folder you downloaded)")
    if path and not os.path.exists(path):
        raise DataError(f"path does not exist: {path}")
    splits: dict[str, list[Example]] = {}
    if source == "demo":
        splits = {s: demo_examples_for(s, val_fraction, seed) for s in ("train", "val")}
    elif source == "sql_create_context":
        ex = sql_create_context_examples(path, os.path.join(out_dir, "synth_databases"))  # type: ignore[arg-type]
        splits = {s: split_examples(ex, s, val_fraction, seed) for s in ("train", "val")}
    else:
        loader = {"spider": spider_examples, "bird": bird_examples, "synsql": synsql_examples}[source]
        try:
            train = loader(path, "train")  # type: ignore[arg-type]
            val = loader(path, "dev")  # type: ignore[arg-type]
            splits = {"train": train, "val": val}
        except DataError:
            # Only one split on disk (e.g. a dev-only copy): split it.
            only = loader(path, "dev" if source != "synsql" else "train")  # type: ignore[arg-type]
            splits = {s: split_examples(only, s, val_fraction, seed) for s in ("train", "val")}
    out = {}
    for split, ex in splits.items():
        if max_examples:
            ex = ex[:max_examples]
        rows = list(
            to_rows(ex, source=source, split=split, style=style, sample_k=sample_k, max_tool_calls=max_tool_calls)
        )
        out[split] = _write_split(rows, out_dir, split, fmt)
    return out
