"""Run every deep-SQL case through every public SQL entry, in a child process.

Usage: ``python tests/sql/deep_child.py FIXTURE RECURSION_LIMIT main|thread``. Prints one JSON line
per case (written before the next case starts, so a crash names the case that caused it).
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor

from extensions.reward_enhanced import EnhancedSyntaxReward, SchemaAwareReward, StructuralReward
from extensions.sql.clauses import clause_components
from extensions.sql.extract import extract_sql
from extensions.sql.guard import check_sql
from extensions.sql.hardness import spider_hardness
from extensions.sql.normalize import cache_key, has_top_level_order_by, remove_distinct
from extensions.sql.parse import parse_sql
from extensions.sql.resolve import resolve_names
from extensions.sql.schema import Schema

SCHEMA = Schema.coerce({"t": ["a", "b"]})
DEPTHS = ("max", "max+1", 1000, 5000, 50000)


def build(spec: dict, depth: int) -> str:
    """The statement of a shape at a depth."""
    return spec["head"] + spec["open"] * depth + spec["core"] + spec.get("close", "") * depth + spec.get("tail", "")


def max_accepted(spec: dict, hi: int = 60_000) -> int:
    """The largest depth that check_sql accepts (0 when none is accepted)."""
    lo = 0
    if check_sql(build(spec, hi)) is None:
        return hi
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if check_sql(build(spec, mid)) is None:
            lo = mid
        else:
            hi = mid
    return lo


def walks(sql: str) -> str:
    """Generate, copy, compare and hash an accepted tree: the walks callers do later."""
    parsed = parse_sql(sql)
    if not parsed.ok:
        return "not_parsed"
    e = parsed.expression
    copy = e.copy()
    e.sql(dialect="sqlite")
    return "ok" if (copy == e and hash(copy) == hash(e)) else "differs"


def outcomes(sql: str) -> dict[str, object]:
    """The outcome of every public entry for one statement."""
    out: dict[str, object] = {"parse": parse_sql(sql).error or "ok", "walks": walks(sql)}
    out["resolve"] = resolve_names(sql, SCHEMA).error or "ok"
    out["clauses"] = "none" if clause_components(sql) is None else "ok"
    out["hardness"] = spider_hardness(sql)
    try:
        out["ddl"] = Schema.coerce("CREATE TABLE t (a INT); " + sql).table_names
    except Exception as exc:  # SchemaLoadError is the defined outcome
        out["ddl"] = type(exc).__name__
    out["normalize"] = (len(cache_key(sql)), len(remove_distinct(sql)), has_top_level_order_by(sql))
    out["extract"] = extract_sql("```sql\n" + sql + "\n```").format_reason
    out["structural"] = float(StructuralReward().compute(sql, "SELECT a FROM t"))
    out["schema"] = float(SchemaAwareReward().compute(sql, SCHEMA))
    out["syntax"] = EnhancedSyntaxReward().compute(sql).details["reason"]
    return out


def run_all(fixture: str) -> None:
    for line in open(fixture, encoding="utf-8"):
        spec = json.loads(line)
        top = max_accepted(spec)
        for depth in DEPTHS:
            d = top if depth == "max" else top + 1 if depth == "max+1" else depth
            print(json.dumps({"shape": spec["shape"], "depth": depth, "n": d, **outcomes(build(spec, d))}), flush=True)


if __name__ == "__main__":
    fixture, limit, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sys.setrecursionlimit(limit)
    if mode == "thread":
        with ThreadPoolExecutor(1) as pool:
            pool.submit(run_all, fixture).result()
    else:
        run_all(fixture)
