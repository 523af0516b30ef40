"""Baseline reward presets, each reproducing its published definition.

Every preset maps a :class:`~extensions.rewards.rollout.Rollout` (one completion,
extracted and executed) to named components whose sum is the baseline reward.
``PRESETS[name].correct_floor`` is the smallest total a result-correct completion
can get; the combiner uses it to keep every correct answer above every wrong one.
``reward.baseline`` accepts exactly the names of :data:`PRESETS`.

``sql_r1`` (SQL-R1, Ma et al. 2025)
    format +1 / -1; execution +2 if the SQL runs, -2 if not (0 when the
    format is wrong); result +3 on an execution match, -3 otherwise (0 when
    it did not run, and 0, neutral, when the gold query fails); length
    bonus ``length_weight * min(1, (len(think) + len(answer)) / max_length)``
    only on a correct answer.
``arctic`` (Arctic-Text2SQL-R1)
    1.0 correct, 0.1 executable but wrong, 0 otherwise (including bad format).
``reasoning_sql`` (Reasoning-SQL, Pourreza et al. 2025)
    execution 3.0 on a match, else 1.0 if the SQL executes; schema-linking
    recall of the gold's tables and columns; bigram Jaccard with the gold
    SQL; format 1.0.
``combined`` (the original SQL-R1 extension's reward)
    0.2 x syntax + 0.6 x execution match + 0.2 x semantic (structural) similarity.

``PRESETS[name].wrong_max`` is the most the preset's execution and format signal gives a wrong answer
(0.1 under ``arctic``: executed but wrong); the combiner lifts every wrong answer by the same scale so
that this signal survives shaping.

>>> PRESETS["arctic"].correct_floor, PRESETS["arctic"].wrong_max
(1.0, 0.1)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from extensions.defaults.reward import PRESET_NAMES

if TYPE_CHECKING:
    from extensions.rewards.rollout import Rollout


def sql_r1(ev: Rollout, *, max_length: int = 4096, length_weight: float = 0.5) -> dict[str, float]:
    fmt = 1.0 if ev.format_ok else -1.0
    execution = result = length = 0.0
    if ev.format_ok:
        execution = 2.0 if ev.executed else -2.0
        if ev.executed and not ev.gold_error:
            result = 3.0 if ev.exec_match else -3.0
        if ev.correct:
            n = len(ev.extraction.think) + len(ev.extraction.answer)
            length = length_weight * min(1.0, n / max(1, max_length))
    return {"format": fmt, "execution": execution, "result": result, "length": length}


def arctic(ev: Rollout) -> dict[str, float]:
    if ev.correct:
        value = 1.0
    elif ev.format_ok and ev.executed:
        value = 0.1
    else:
        value = 0.0
    return {"execution": value}


_TOKEN = re.compile(r"\w+|[^\w\s]")


def _bigrams(sql: str) -> set[tuple[str, str]]:
    toks = _TOKEN.findall(sql.lower())
    return set(zip(toks, toks[1:]))


def bigram_jaccard(pred: str | None, gold: str) -> float:
    """Jaccard similarity of lower-cased token bigrams.

    >>> bigram_jaccard("SELECT a FROM t", "select a from t")
    1.0
    """
    if not pred:
        return 0.0
    a, b = _bigrams(pred), _bigrams(gold)
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b) if (a | b) else 0.0


def schema_items(sql: str | None) -> set[str]:
    """Lower-cased table and column names a query mentions (no CTE or alias names)."""
    from sqlglot import exp

    from extensions.sql.parse import parse_sql

    parsed = parse_sql(sql)
    if not parsed.ok or parsed.expression is None:
        return set()
    e = parsed.expression
    ctes = {c.alias_or_name.lower() for c in e.find_all(exp.CTE)}
    items = {f"table:{t.name.lower()}" for t in e.find_all(exp.Table) if t.name and t.name.lower() not in ctes}
    items |= {f"column:{c.name.lower()}" for c in e.find_all(exp.Column) if c.name and not isinstance(c.this, exp.Star)}
    return items


def schema_linking_recall(pred: str | None, gold: str) -> float:
    """Share of the gold query's tables and columns that the prediction also uses."""
    g = schema_items(gold)
    if not g:
        return 0.0
    return len(g & schema_items(pred)) / len(g)


def reasoning_sql(ev: Rollout) -> dict[str, float]:
    if ev.exec_match:
        execution = 3.0
    elif ev.executed:
        execution = 1.0
    else:
        execution = 0.0
    return {
        "execution": execution,
        "schema_linking": schema_linking_recall(ev.sql, ev.gold_sql),
        "ngram": bigram_jaccard(ev.sql, ev.gold_sql),
        "format": 1.0 if ev.format_ok else 0.0,
    }


def combined(ev: Rollout) -> dict[str, float]:
    return {
        "syntax": 0.2 * (1.0 if ev.syntax_valid else 0.0),
        "execution": 0.6 * (1.0 if ev.correct else 0.0),
        "semantic": 0.2 * ev.structural,
    }


PresetFn = Callable[["Rollout", Any], dict[str, float]]


@dataclass(frozen=True)
class Preset:
    """A baseline recipe: its function, its fixed component names and the smallest total of a correct answer.

    Args:
        name: the ``reward.baseline`` value.
        fn: ``fn(rollout, reward_config) -> {component: value}``; the baseline is the sum.
        components: the component names ``fn`` returns, in order (breakdown keys ``b_<name>``).
        correct_floor: the smallest total a result-correct completion can get.
        wrong_max: the largest total its execution and format signal gives a wrong answer (its dense
            similarity parts aside); None when unknown.
    """

    name: str
    fn: PresetFn
    components: tuple[str, ...]
    correct_floor: float
    wrong_max: float | None = None

    def __call__(self, rollout: "Rollout", cfg: Any) -> dict[str, float]:
        return self.fn(rollout, cfg)


def _sql_r1(ev: "Rollout", cfg: Any) -> dict[str, float]:
    return sql_r1(ev, max_length=cfg.sql_r1.max_length, length_weight=cfg.sql_r1.length_weight)


def _arctic(ev: "Rollout", cfg: Any) -> dict[str, float]:
    return arctic(ev)


def _reasoning_sql(ev: "Rollout", cfg: Any) -> dict[str, float]:
    return reasoning_sql(ev)


def _combined(ev: "Rollout", cfg: Any) -> dict[str, float]:
    return combined(ev)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("sql_r1", _sql_r1, ("format", "execution", "result", "length"), 6.0, 0.0),
        Preset("arctic", _arctic, ("execution",), 1.0, 0.1),
        Preset("reasoning_sql", _reasoning_sql, ("execution", "schema_linking", "ngram", "format"), 4.0, 2.0),
        Preset("combined", _combined, ("syntax", "execution", "semantic"), 0.6, 0.2),
    )
}
assert tuple(PRESETS) == PRESET_NAMES  # the names config accepts (extensions.defaults.reward)
