"""Prepare a data set for training.

``python -m extensions.data prepare --source {spider,bird,synsql,sql_create_context,demo} [--path DIR] --out DIR
[--format openrlhf]``. It prints one line per split (rows, where they came from, the file written) and a loud
warning on stderr when the training rows were cut from a dev set.
"""

from __future__ import annotations

import argparse
import sys

from extensions.data.prepare import FORMATS, SOURCES, SplitReport, prepare_splits
from extensions.errors import DataError


def _max_tool_calls(a: argparse.Namespace) -> int | None:
    """The call budget of a multi-turn preparation, None for single-turn."""
    if not a.multi_turn:
        return None
    from extensions.defaults.tool import DEFAULT_LIMITS

    return a.max_tool_calls or DEFAULT_LIMITS.max_calls


def dev_warning(reports: list[SplitReport], path: str | None) -> str | None:
    """The loud warning for training rows cut from a dev set, or None.

    Args:
        reports: what :func:`~extensions.data.prepare.prepare_splits` wrote.
        path: the dataset folder.

    Returns:
        A multi-line warning naming the file, what it costs and how to avoid it; None when no training row
        came from a dev set.

    >>> dev_warning([SplitReport("train", "t.parquet", 1, "dev.json", from_dev=True)], "spider").splitlines()[0]
    'WARNING: the 1 training rows come from a DEV set (dev.json).'
    """
    train = next((r for r in reports if r.split == "train" and r.from_dev), None)
    if train is None:
        return None
    return (
        f"WARNING: the {train.rows} training rows come from a DEV set ({train.origin.split(',')[0]}).\n"
        f"  {path} has no training file, so the dev set was cut in two by database: no database is on both sides,\n"
        "  but a model trained on these rows can no longer be scored on this dev set as published results are.\n"
        "  For published-comparable numbers, add the training file (Spider: train_spider.json) to the folder."
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m extensions.data``."""
    p = argparse.ArgumentParser(
        prog="python -m extensions.data", description="Prepare VERL parquet files from local text-to-SQL datasets."
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    pr = sub.add_parser("prepare", help="write train.parquet and val.parquet")
    pr.add_argument("--source", required=True, choices=SOURCES)
    pr.add_argument("--path", help="local dataset folder (Spider/BIRD/SynSQL) or JSON/JSONL file (sql_create_context)")
    pr.add_argument("--out", required=True, help="output folder")
    pr.add_argument("--prompt-style", default="sql_r1", choices=["sql_r1", "omnisql"])
    pr.add_argument("--sample-values", type=int, default=3, help="sample values per column in the schema text")
    pr.add_argument(
        "--val-fraction", type=float, default=0.1, help="the random cut of a source with only a training file"
    )
    pr.add_argument("--max-examples", type=int, help="cap per split (quick experiments)")
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument(
        "--format",
        default="parquet",
        choices=FORMATS,
        help="parquet: verl's train/val.parquet; openrlhf: train/val.jsonl with prompt, label, datasource",
    )
    pr.add_argument(
        "--multi-turn",
        action="store_true",
        help="prompts name the execute_sql tool; rows carry verl's extra_info.tools_kwargs (verl_launch --multi-turn)",
    )
    pr.add_argument(
        "--max-tool-calls",
        type=int,
        default=None,
        help="the call budget named in multi-turn prompts (default: multi_turn.max_calls of the default config)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (2 on a bad input, with one ``error:`` line)."""
    a = build_parser().parse_args(argv)
    try:
        reports = prepare_splits(
            a.source,
            a.out,
            path=a.path,
            style=a.prompt_style,
            sample_k=a.sample_values,
            val_fraction=a.val_fraction,
            max_examples=a.max_examples,
            seed=a.seed,
            fmt=a.format,
            max_tool_calls=_max_tool_calls(a),
        )
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (
        KeyError,
        TypeError,
        AttributeError,
        ValueError,
    ) as exc:  # a dataset file whose entries lack a field or have the wrong type
        print(f"error: {a.path}: cannot read the dataset ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    for r in reports:
        print(r.line(), flush=True)
    warning = dev_warning(reports, a.path)
    if warning:
        print(warning, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
