"""Dataset preparation: VERL train/val parquet files from local Spider, BIRD, SynSQL,
sql-create-context or the bundled demo data.

Each row::

    data_source   "spider" | "bird" | "synsql" | "sql_create_context" | "demo"
    prompt        chat messages (SQL-R1 or OmniSQL template, schema as CREATE TABLE text with sample values)
    ability       "text2sql"
    reward_model  {"style": "rule", "ground_truth": {"sql": gold, "db_path": absolute path, "db_id": ...}}
    extra_info    {"index", "split", "db_id", "question", "evidence"}

Everything is read from local files (no hub at run time). :func:`prepare_splits` says what it wrote: rows per
split and where each split came from. A source with no training file (a dev-only copy of Spider or BIRD) has
its training rows cut from the dev set by database (Spider dev: the fixed split of
:mod:`extensions.data.spider_split`), and :attr:`SplitReport.from_dev` marks them for a loud warning.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from tqdm import tqdm

from extensions._util.nesting import json_loads_bounded
from extensions.data.layout import db_file
from extensions.data.spider_split import HELDOUT_DBS, TRAIN_DBS, split_databases
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


SPIDER_TRAIN = ("train_spider.json", "train_others.json")


def spider_examples(root: str, split: str) -> list[Example]:
    """Spider layout: ``train_spider.json`` (+ ``train_others.json``), ``dev.json``, ``database/``."""
    names = list(SPIDER_TRAIN) if split == "train" else ["dev.json"]
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
    """SynSQL-2.5M layout: ``data.json`` (``db_id``, ``question``, ``sql``, ``external_knowledge``) and
    ``databases/``."""
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
    """Prepared rows.

    With ``max_tool_calls`` (multi-turn) each goes through :func:`~extensions.tool.prompt.multi_turn_row`.
    """
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
    """One OpenRLHF JSONL record of a prepared row.

    Its keys: ``prompt`` (chat messages), ``label`` (the JSON ground truth), ``datasource``.

    OpenRLHF reads them with ``--data.input_key prompt --data.label_key label --data.apply_chat_template``;
    :func:`extensions.integrations.openrlhf.reward_func` receives the label as it is.

    >>> row = {"prompt": [], "data_source": "demo", "reward_model": {"ground_truth": {"sql": "SELECT 1"}}}
    >>> openrlhf_record(row)["label"]
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


@dataclass(frozen=True)
class SplitReport:
    """What :func:`prepare_splits` wrote for one split.

    Attributes:
        split: ``train`` or ``val``.
        path: the file written.
        rows: rows in it.
        origin: where its examples came from, in words.
        from_dev: the split's examples were cut from a dev set (for training rows, a warning).
    """

    split: str
    path: str
    rows: int
    origin: str
    from_dev: bool = False

    def line(self) -> str:
        """One line for the console.

        >>> SplitReport("val", "out/val.parquet", 3, "dev.json").line()
        'val: 3 rows from dev.json -> out/val.parquet'
        """
        return f"{self.split}: {self.rows} rows from {self.origin} -> {self.path}"


@dataclass(frozen=True)
class _Planned:
    split: str
    examples: list[Example]
    origin: str
    from_dev: bool = False


def by_database(ex: list[Example], file: str) -> list[_Planned]:
    """Cut a dev-only set into training and validation sides that share no database.

    Spider dev's databases follow the fixed lists of :mod:`extensions.data.spider_split`; any other set follows
    the same rule (:func:`~extensions.data.spider_split.split_databases`) over its own databases.

    Args:
        ex: the dev set's examples.
        file: the dev file's name, for the origin text.

    Returns:
        The training and validation plans, both marked ``from_dev``.

    >>> e = [Example("singer", "q", "SELECT 1", "x"), Example("pets_1", "q", "SELECT 1", "x")]
    >>> [(p.split, len(p.examples)) for p in by_database(e, "dev.json")]
    [('train', 1), ('val', 1)]
    """
    dbs = set(e.db_id for e in ex)
    if dbs <= set(TRAIN_DBS) | set(HELDOUT_DBS):
        train_dbs, held_dbs, rule = set(TRAIN_DBS), set(HELDOUT_DBS), "the fixed Spider split"
    else:
        train, held = split_databases(Counter(e.db_id for e in ex))
        train_dbs, held_dbs, rule = set(train), set(held), "the Spider split's rule"
    sides = []
    for split, keep, side in (("train", train_dbs, "training"), ("val", held_dbs, "held-out")):
        chosen = [e for e in ex if e.db_id in keep]
        n_db = len({e.db_id for e in chosen})
        origin = f"{file}, the {side} side of {rule} by database ({n_db} databases)"
        sides.append(_Planned(split, chosen, origin, from_dev=True))
    return sides


def _random_split(ex: list[Example], what: str, val_fraction: float, seed: int) -> list[_Planned]:
    pct = {"val": round(100 * val_fraction), "train": 100 - round(100 * val_fraction)}
    return [
        _Planned(s, split_examples(ex, s, val_fraction, seed), f"{what}, {pct[s]}% at random (seed {seed})")
        for s in ("train", "val")
    ]


def _plan_benchmark(source: str, path: str, val_fraction: float, seed: int) -> list[_Planned]:
    """Spider, BIRD, SynSQL: their own train and dev files, or a cut of the one file there is."""
    loader = {"spider": spider_examples, "bird": bird_examples, "synsql": synsql_examples}[source]
    try:
        train, val = loader(path, "train"), loader(path, "dev")
    except DataError:
        pass
    else:
        spider_train = [n for n in SPIDER_TRAIN if os.path.exists(os.path.join(path, n))]
        name = " + ".join(spider_train) if source == "spider" else "train.json"
        return [_Planned("train", train, name), _Planned("val", val, "dev.json")]
    if source == "synsql":  # its data.json is a training set: a random cut is fine
        return _random_split(loader(path, "train"), "data.json", val_fraction, seed)
    return by_database(loader(path, "dev"), "dev.json")  # a dev-only copy


def plan_splits(source: str, path: str | None, out_dir: str, val_fraction: float, seed: int) -> list[_Planned]:
    """The examples of each split and where they come from (nothing written yet)."""
    if source == "demo":
        return [
            _Planned(split, demo_examples_for(split, val_fraction, seed), _demo_origin(split, val_fraction, seed))
            for split in ("train", "val")
        ]
    if source == "sql_create_context":
        ex = sql_create_context_examples(path, os.path.join(out_dir, "synth_databases"))  # type: ignore[arg-type]
        return _random_split(ex, os.path.basename(str(path).rstrip("/")), val_fraction, seed)
    return _plan_benchmark(source, path, val_fraction, seed)  # type: ignore[arg-type]


def _demo_origin(split: str, val_fraction: float, seed: int) -> str:
    pct = round(100 * (val_fraction if split == "val" else 1 - val_fraction))
    return f"the bundled demo questions, {pct}% at random (seed {seed})"


def prepare_splits(
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
) -> list[SplitReport]:
    """Write ``train`` and ``val`` files under ``out_dir``; returns what each holds and where it came from.

    The files are ``.parquet`` for verl, ``.jsonl`` for ``fmt="openrlhf"``. ``max_tool_calls`` (``--multi-turn``):
    prompts name the ``execute_sql`` tool and its budget, and rows carry verl's ``extra_info.tools_kwargs`` and
    ``agent_name``.

    Args:
        source: one of :data:`SOURCES`.
        out_dir: the output folder.
        path: the local dataset folder or file (every source but ``demo``).
        style: the prompt template.
        sample_k: sample values per column in the schema text.
        val_fraction: the validation share of a random cut (sources with one training file).
        max_examples: a cap per split.
        seed: the random cut's seed.
        fmt: ``parquet`` or ``openrlhf``.
        max_tool_calls: the multi-turn call budget, or None for single-turn rows.

    Returns:
        One :class:`SplitReport` per split (``train``, ``val``).

    Raises:
        DataError: an unknown source or format, a missing path, a file that cannot be read.

    Example:
        >>> [r.split for r in prepare_splits("demo", "/tmp/prepared", max_examples=2)]  # doctest: +SKIP
        ['train', 'val']
    """
    if source not in SOURCES:
        raise DataError(f"unknown source {source!r}; allowed: {', '.join(SOURCES)}")
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    if source != "demo" and not path:
        raise DataError(f"--path is required for source {source!r} (the folder you downloaded)")
    if path and not os.path.exists(path):
        raise DataError(f"path does not exist: {path}")
    out = []
    for plan in plan_splits(source, path, out_dir, val_fraction, seed):
        ex = plan.examples[:max_examples] if max_examples else plan.examples
        rows = list(
            to_rows(ex, source=source, split=plan.split, style=style, sample_k=sample_k, max_tool_calls=max_tool_calls)
        )
        written = _write_split(rows, out_dir, plan.split, fmt)
        out.append(SplitReport(plan.split, written, len(rows), plan.origin, plan.from_dev))
    return out


def prepare(source: str, out_dir: str, **kwargs: object) -> dict[str, str]:
    """:func:`prepare_splits`, returning only the paths written.

    Args:
        source: one of :data:`SOURCES`.
        out_dir: the output folder.
        **kwargs: the keyword arguments of :func:`prepare_splits`.

    Returns:
        ``{"train": path, "val": path}``.

    Example:
        >>> sorted(prepare("demo", "/tmp/prepared", max_examples=2))  # doctest: +SKIP
        ['train', 'val']
    """
    return {r.split: r.path for r in prepare_splits(source, out_dir, **kwargs)}  # type: ignore[arg-type]
