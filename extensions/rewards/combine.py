"""EnhancedRewardComputer: a baseline preset (or any callable) plus shaping components.

One call does, in order: extract the SQL and the format verdict from the
response; execute prediction and gold in the sandbox (gold cached); compute
the baseline; compute the shaping components (schema penalty, structural
credit, syntax credit, and any user components); combine.

Invariant (property-tested): when the database is available, a result-correct
completion (valid format and execution match) always totals strictly more
than any incorrect one for the same prompt. Shaping reorders wrong answers
among themselves but never lifts one to a right answer: positive shaping of a
wrong answer is scaled into the headroom below ``floor - margin`` (``floor`` is
the preset's smallest correct total), and a correct answer never drops below
``floor``.

The breakdown has the same keys for every sample of one computer, and every
value is a finite float (VERL builds its metric columns from the first
sample's keys).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from extensions._util.coalesce import Coalescer
from extensions._util.log import log_once
from extensions.data.layout import GroundTruth, parse_ground_truth, resolve_db_paths  # noqa: F401  (re-exported)
from extensions.errors import SchemaLoadError
from extensions.execution.engine import EngineSettings, ExecutionEngine, MatchResult, shared_engine
from extensions.execution.status import ALL_STATUSES, Status
from extensions.rewards.base import RewardResult, finite
from extensions.rewards.presets import CORRECT_FLOOR, PRESET_COMPONENTS, PRESET_FUNCS, PRESETS, Evaluation
from extensions.rewards.schema_aware import SchemaAwareReward
from extensions.rewards.structural import StructuralReward
from extensions.rewards.syntax import syntax_verdict
from extensions.sql.extract import extract_sql
from extensions.sql.resolve import Resolution, resolve_names
from extensions.sql.schema import Schema

log = logging.getLogger(__name__)

_RESOLVED = Resolution()  # every name resolved

BaselineFn = Callable[..., Any]


def _at(seq: Sequence[Any] | None, i: int) -> Any:
    """``seq[i]``, or None when the sequence is missing or too short."""
    return seq[i] if seq is not None and i < len(seq) else None


@dataclass
class EnhancedRewardResult:
    """Total reward with its parts. ``breakdown`` has fixed keys and finite floats."""

    total: float
    baseline_total: float
    schema: float
    structural: float
    syntax: float
    correct: bool
    acc: float
    breakdown: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, float]:
        return dict(self.breakdown)


class EnhancedRewardComputer:
    """Baseline + shaping, with the seed's constructor.

    Args:
        baseline_reward_fn: a preset name (``sql_r1``, ``arctic``,
            ``reasoning_sql``, ``seed_combined``) or a callable
            ``fn(solution_str, ground_truth) -> float | {"score": float, ...}``.
        enable_enhanced: add shaping to the baseline (otherwise total = baseline).
        schema_weight: penalty per hallucinated table/column (<= 0), at most
            ``schema_penalty_cap`` names.
        structural_*_weight: clause weights of :class:`StructuralReward`; its
            [0, 1] score is multiplied by ``structural_weight`` (default: the
            sum of the select, where and join weights).
        syntax_weight: credit for a valid read-only query.
        gating: ``"wrong_only"`` (default) applies shaping to wrong answers only;
            ``"always"`` applies it to every answer.
        correct_floor: smallest total of a correct answer; defaults to the
            preset's (``CORRECT_FLOOR``) or 1.0 for a callable baseline.
        engine / engine_settings: the execution engine (default: one shared
            per process, started lazily).
    """

    def __init__(
        self,
        baseline_reward_fn: str | BaselineFn | None = "arctic",
        enable_enhanced: bool = True,
        schema_weight: float = -0.5,
        structural_select_weight: float = 0.3,
        structural_where_weight: float = 0.3,
        structural_join_weight: float = 0.2,
        syntax_weight: float = 0.2,
        *,
        structural_group_by_weight: float = 0.1,
        structural_having_weight: float = 0.05,
        structural_order_by_weight: float = 0.1,
        structural_limit_weight: float = 0.05,
        structural_set_ops_weight: float = 0.05,
        structural_weight: float | None = None,
        schema_penalty_cap: int | None = 2,
        gating: str = "wrong_only",
        margin: float = 0.05,
        correct_floor: float | None = None,
        semantics: str = "spider",
        keep_distinct: bool = False,
        empty_result_is_wrong: bool = False,
        extraction_style: str = "auto",
        require_sql_block: bool = True,
        sql_r1_max_length: int = 4096,
        sql_r1_length_weight: float = 0.5,
        db_root: str | None = None,
        engine: ExecutionEngine | None = None,
        engine_settings: EngineSettings | None = None,
        extra_components: Sequence[Any] = (),
    ) -> None:
        if gating not in ("wrong_only", "always"):
            raise ValueError(f"gating must be 'wrong_only' or 'always', got {gating!r}")
        if semantics not in ("spider", "bird", "strict"):
            raise ValueError(f"semantics must be spider, bird or strict, got {semantics!r}")
        if baseline_reward_fn is None:
            baseline_reward_fn = "arctic"
        if isinstance(baseline_reward_fn, str):
            if baseline_reward_fn not in PRESETS:
                raise ValueError(f"unknown baseline preset {baseline_reward_fn!r}; allowed: {', '.join(PRESETS)}")
            self.preset: str | None = baseline_reward_fn
            self.baseline_fn: BaselineFn | None = None
        elif callable(baseline_reward_fn):
            self.preset = None
            self.baseline_fn = baseline_reward_fn
        else:
            raise TypeError("baseline_reward_fn must be a preset name or a callable")
        self.enable_enhanced = bool(enable_enhanced)
        self.schema_reward = SchemaAwareReward(schema_weight, schema_penalty_cap)
        self.structural_reward = StructuralReward(
            structural_select_weight,
            structural_where_weight,
            structural_join_weight,
            group_by_weight=structural_group_by_weight,
            having_weight=structural_having_weight,
            order_by_weight=structural_order_by_weight,
            limit_weight=structural_limit_weight,
            set_ops_weight=structural_set_ops_weight,
        )
        self.structural_weight = (
            structural_select_weight + structural_where_weight + structural_join_weight
            if structural_weight is None
            else float(structural_weight)
        )
        self.syntax_weight = float(syntax_weight)
        if self.syntax_weight < 0 or self.structural_weight < 0:
            raise ValueError("syntax_weight and structural_weight must be >= 0")
        self.gating = gating
        self.margin = float(margin)
        self.correct_floor = float(correct_floor) if correct_floor is not None else CORRECT_FLOOR.get(self.preset or "", 1.0)
        self.semantics = semantics
        self.keep_distinct = keep_distinct
        self.empty_result_is_wrong = empty_result_is_wrong
        self.extraction_style = extraction_style
        self.require_sql_block = require_sql_block
        self.sql_r1_max_length = sql_r1_max_length
        self.sql_r1_length_weight = sql_r1_length_weight
        self.db_root = db_root
        self._engine = engine
        self._engine_settings = engine_settings
        self.extra_components = list(extra_components)
        self.keys = self._keys()
        self._zeros: dict[str, float] = dict.fromkeys(self.keys, 0.0)
        self._coalescer = self._new_coalescer()

    def _new_coalescer(self) -> Coalescer[tuple[Any, Any, Any, Mapping[str, Any] | None], EnhancedRewardResult]:
        return Coalescer(self._rewards_batch, lambda item, exc: self._internal_error(exc), name="compute_reward_async")

    # A computer stays picklable (the coalescer holds a lock and event-loop state).
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_coalescer", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._coalescer = self._new_coalescer()

    # -- construction helpers ---------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: Any, *, baseline_reward_fn: str | BaselineFn | None = None, **kw: Any) -> "EnhancedRewardComputer":
        """Build from :class:`extensions.config.Config` (or its ``reward`` section)."""
        full = cfg
        r = getattr(cfg, "reward", cfg)
        settings = full.execution.engine_settings() if hasattr(full, "execution") else None
        db_root = full.data.db_root if hasattr(full, "data") else None
        args = dict(
            baseline_reward_fn=baseline_reward_fn or r.baseline,
            enable_enhanced=r.enable_enhanced,
            schema_weight=r.schema_weight,
            structural_select_weight=r.structural_select_weight,
            structural_where_weight=r.structural_where_weight,
            structural_join_weight=r.structural_join_weight,
            syntax_weight=r.syntax_weight,
            structural_group_by_weight=r.structural_group_by_weight,
            structural_having_weight=r.structural_having_weight,
            structural_order_by_weight=r.structural_order_by_weight,
            structural_limit_weight=r.structural_limit_weight,
            structural_set_ops_weight=r.structural_set_ops_weight,
            schema_penalty_cap=r.schema_penalty_cap,
            gating=r.gating,
            margin=r.margin,
            semantics=r.semantics,
            keep_distinct=r.keep_distinct,
            empty_result_is_wrong=r.empty_result_is_wrong,
            extraction_style=r.extraction_style,
            require_sql_block=r.require_sql_block,
            sql_r1_max_length=r.sql_r1.max_length,
            sql_r1_length_weight=r.sql_r1.length_weight,
            db_root=db_root,
            engine_settings=settings,
        )
        args.update(kw)
        return cls(**args)

    @property
    def engine(self) -> ExecutionEngine:
        if self._engine is None or self._engine.pool.closed:
            self._engine = shared_engine(self._engine_settings)
        return self._engine

    def _keys(self) -> tuple[str, ...]:
        comps = PRESET_COMPONENTS[self.preset] if self.preset else ()
        keys = [
            "score", "acc", "correct", "baseline", "format_ok", "executed",
            "schema", "structural", "structural_f1", "syntax", "shaping",
            "hallucinations", "ambiguous", "pred_time_ms", "timeout_s",
        ]
        keys += [f"b_{c}" for c in comps]
        keys += [f"x_{getattr(c, 'name', type(c).__name__)}" for c in self.extra_components]
        keys += [f"status_{s}" for s in ALL_STATUSES]
        return tuple(keys)

    # -- the call --------------------------------------------------------------------------
    def compute_reward(
        self,
        solution_str: Any,
        ground_truth: Any,
        schema: Any = None,
        *,
        db_path: str | None = None,
        extra_info: Mapping[str, Any] | None = None,
        _prepared: tuple[GroundTruth, Any] | None = None,
    ) -> EnhancedRewardResult:
        """Reward one completion. Never raises; failures are in ``details['error']``."""
        try:
            return self._compute(solution_str, ground_truth, schema, db_path, extra_info, _prepared)
        except Exception as exc:  # a bug: defined reward, logged once
            log_once(log, f"compute:{type(exc).__name__}", "internal error in compute_reward: %r", exc, exc_info=True)
            return self._internal_error(exc)

    def _internal_error(self, exc: BaseException) -> EnhancedRewardResult:
        return self._result(
            total=0.0, baseline=0.0, comps={}, ev=None, schema_r=None, structural=0.0, struct_f1=0.0,
            syntax=0.0, shaping=0.0, status=Status.INTERNAL_ERROR, details={"error": f"{type(exc).__name__}: {exc}"[:300]},
        )

    async def compute_reward_async(
        self,
        solution_str: Any,
        ground_truth: Any,
        schema: Any = None,
        *,
        extra_info: Mapping[str, Any] | None = None,
    ) -> EnhancedRewardResult:
        """:meth:`compute_reward` for coroutines. Never raises.

        The calls awaited together on one event loop (verl's reward loop
        gathers a whole batch) are scored as one :meth:`compute_rewards` call
        in a thread, with the same results; the loop never blocks. The
        database comes from ``ground_truth``/``extra_info``/``db_root``.
        """
        return await self._coalescer((solution_str, ground_truth, schema, extra_info))

    def _rewards_batch(self, items: list[tuple[Any, Any, Any, Mapping[str, Any] | None]]) -> list[EnhancedRewardResult]:
        return self.compute_rewards([i[0] for i in items], [i[1] for i in items], [i[2] for i in items], extra_infos=[i[3] for i in items])

    def compute_rewards(
        self,
        solution_strs: Sequence[Any],
        ground_truths: Sequence[Any],
        schemas: Sequence[Any] | None = None,
        *,
        extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[EnhancedRewardResult]:
        """Reward a batch: the same results as :meth:`compute_reward` per sample.

        The batch's distinct gold and predicted statements run first
        (:meth:`ExecutionEngine.prefetch`); each sample is then scored from
        cache. Never raises.
        """
        n = len(solution_strs)
        gts = [_at(ground_truths, i) for i in range(n)]
        extras = [e if isinstance(e, Mapping) else None for e in (_at(extra_infos, i) for i in range(n))]
        prepared: list[tuple[GroundTruth, Any] | None] = []
        for i in range(n):
            try:
                prepared.append(self._prepare(solution_strs[i], gts[i], None, extras[i]))
            except Exception as exc:  # scored (and logged) by compute_reward below
                log_once(log, f"batch:{type(exc).__name__}", "internal error preparing a batch sample: %r", exc)
                prepared.append(None)
        items = [(p[0].db_paths, p[1].sql, p[0].sql) for p in prepared if p is not None and not p[0].error and p[0].db_paths and p[0].sql]
        if items:
            self.engine.prefetch(items, semantics=self.semantics, keep_distinct=self.keep_distinct)  # type: ignore[arg-type]
        return [
            self.compute_reward(solution_strs[i], gts[i], _at(schemas, i), extra_info=extras[i], _prepared=prepared[i])
            for i in range(n)
        ]

    def _prepare(
        self, solution_str: Any, ground_truth: Any, db_path: str | None, extra_info: Mapping[str, Any] | None
    ) -> tuple[GroundTruth, Any]:
        """The ground truth and the extracted SQL of one sample."""
        gt = parse_ground_truth(ground_truth, db_path=db_path, db_root=self.db_root, extra=extra_info)
        extraction = extract_sql(solution_str, style=self.extraction_style, require_sql_block=self.require_sql_block)  # type: ignore[arg-type]
        return gt, extraction

    def _compute(
        self, solution_str: Any, ground_truth: Any, schema: Any, db_path: str | None, extra_info: Mapping[str, Any] | None,
        prepared: tuple[GroundTruth, Any] | None = None,
    ) -> EnhancedRewardResult:
        gt, extraction = prepared if prepared is not None else self._prepare(solution_str, ground_truth, db_path, extra_info)
        details: dict[str, Any] = {"sql": extraction.sql, "format_reason": extraction.format_reason}
        gold_sql = gt.sql or ""
        match: MatchResult | None = None
        if gt.error:
            details["error"] = gt.error
            status = Status.GOLD_ERROR if gt.sql is None else Status.DB_MISSING
        elif gt.db_paths:
            match = self.engine.match(
                gt.db_paths, extraction.sql, gold_sql,
                semantics=self.semantics, keep_distinct=self.keep_distinct,  # type: ignore[arg-type]
                empty_result_is_wrong=self.empty_result_is_wrong,
            )
            status = match.status
            if match.detail:
                details["exec_detail"] = match.detail
        else:
            status = Status.DB_MISSING
            details["exec_detail"] = "no database given: execution not checked"
        ev = Evaluation(extraction, gold_sql, match)
        # Shaping is skipped where it cannot be applied: an unusable ground truth,
        # or a correct answer under "wrong_only" gating (components reported as 0).
        shape = self.enable_enhanced and not gt.error and not (self.gating == "wrong_only" and ev.correct)
        details["shaping_computed"] = shape
        if shape or self.preset == "seed_combined":
            exec_status = match.pred.status if match is not None and match.pred is not None else None
            ev.syntax_valid, details["syntax_reason"] = syntax_verdict(extraction.sql, exec_status)
        struct_f1 = 0.0
        if extraction.sql and gold_sql and (shape or self.preset == "seed_combined"):
            sr = self.structural_reward.compute(extraction.sql, gold_sql)
            struct_f1 = sr.score
            details["structural"] = sr.details
        ev.structural = struct_f1

        baseline, comps = self._baseline(ev, solution_str, ground_truth, details)

        schema_r: RewardResult | None = None
        structural = syntax = shaping = 0.0
        if shape:
            explicit = schema if schema is not None else gt.schema
            # SQLite already compiled the prediction against this very database: every
            # table and column resolved, so there is nothing to penalise (the detector
            # agrees with SQLite's compile errors on all 6,458 queries of `bench schema`).
            compiled = explicit is None and match is not None and match.pred is not None and match.pred.status is Status.OK
            sch = None if compiled and not self.extra_components else self._schema(explicit, gt.db_path, details)
            if compiled and extraction.sql:
                schema_r = self.schema_reward.from_resolution(_RESOLVED)
                details["schema"] = {**schema_r.details, "checked_by": "sqlite_compile"}
            elif sch is not None and extraction.sql:
                schema_r = self.schema_reward.from_resolution(resolve_names(extraction.sql, sch))
                details["schema"] = schema_r.details
            structural = self.structural_weight * struct_f1
            syntax = self.syntax_weight if ev.syntax_valid else 0.0
            extras = self._extras(extraction.sql, gold_sql, sch, details)
            neg = (schema_r.score if schema_r is not None else 0.0) + sum(min(0.0, v) for v in extras.values())
            pos = structural + syntax + sum(max(0.0, v) for v in extras.values())
            total, shaping = self._combine(baseline, pos, neg, ev, known=match is not None)
        elif self.enable_enhanced:  # correct answer, wrong_only gating
            extras = {}
            total, shaping = self._combine(baseline, 0.0, 0.0, ev, known=match is not None)
        else:
            extras = {}
            total = baseline
        details["extras"] = extras
        return self._result(total, baseline, comps, ev, schema_r, structural, struct_f1, syntax, shaping, status, details, extras)

    def _baseline(self, ev: Evaluation, solution_str: Any, ground_truth: Any, details: dict) -> tuple[float, dict[str, float]]:
        if self.preset is not None:
            fn = PRESET_FUNCS[self.preset]
            if self.preset == "sql_r1":
                comps = fn(ev, max_length=self.sql_r1_max_length, length_weight=self.sql_r1_length_weight)
            else:
                comps = fn(ev)
            return sum(comps.values()), comps
        assert self.baseline_fn is not None
        try:
            out = self.baseline_fn(solution_str, ground_truth)
            value = out.get("score", 0.0) if isinstance(out, Mapping) else out
            return finite(value), {}
        except Exception as exc:
            log_once(log, f"baseline:{type(exc).__name__}", "baseline_reward_fn raised %r; using 0.0", exc)
            details["baseline_error"] = f"{type(exc).__name__}: {exc}"[:200]
            return 0.0, {}

    def _schema(self, schema: Any, db_path: str | None, details: dict) -> Schema | None:
        src = schema if schema is not None else db_path
        if src is None:
            return None
        try:
            return Schema.coerce(src)
        except SchemaLoadError as exc:
            details["schema_error"] = str(exc)[:200]
            return None

    def _extras(self, sql: str | None, gold: str, schema: Schema | None, details: dict) -> dict[str, float]:
        out = {}
        for comp in self.extra_components:
            name = getattr(comp, "name", type(comp).__name__)
            try:
                out[name] = finite(comp.compute(sql, gold, schema=schema))
            except Exception as exc:
                log_once(log, f"extra:{name}:{type(exc).__name__}", "component %s raised %r; scored 0", name, exc)
                details[f"x_{name}_error"] = f"{type(exc).__name__}: {exc}"[:200]
                out[name] = 0.0
        return out

    def _combine(self, baseline: float, pos: float, neg: float, ev: Evaluation, *, known: bool) -> tuple[float, float]:
        """Apply gating and the correct-above-wrong invariant; returns (total, applied shaping)."""
        if not known:  # no database: correctness unknown, plain sum
            return baseline + pos + neg, pos + neg
        floor = self.correct_floor
        if ev.correct:
            if self.gating == "wrong_only":
                return max(baseline, floor), 0.0
            total = max(baseline + pos + neg, floor)
            return total, total - baseline
        ceiling = floor - self.margin
        headroom = max(0.0, ceiling - baseline)
        pos_max = self.structural_weight + self.syntax_weight + sum(
            max(0.0, float(getattr(c, "max_score", 0.0))) for c in self.extra_components
        )
        if pos > 0 and pos_max > 0 and pos_max > headroom:
            pos *= headroom / max(pos_max, pos)
        total = min(baseline + pos + neg, ceiling)
        return total, total - baseline

    def _result(
        self, total: float, baseline: float, comps: dict[str, float], ev: Evaluation | None,
        schema_r: RewardResult | None, structural: float, struct_f1: float, syntax: float, shaping: float,
        status: Status, details: dict, extras: dict[str, float] | None = None,
    ) -> EnhancedRewardResult:
        match = ev.match if ev is not None else None
        correct = bool(ev and ev.correct)
        acc = 1.0 if ev is not None and ev.exec_match else 0.0
        pred = match.pred if match is not None else None
        b: dict[str, float] = self._zeros.copy()
        values = {
            "score": total, "baseline": baseline, "structural": structural, "structural_f1": struct_f1,
            "syntax": syntax, "shaping": shaping,
            "pred_time_ms": 1000.0 * pred.elapsed_s if pred is not None else 0.0,
            "timeout_s": match.timeout_s if match is not None else 0.0,
        }
        if schema_r is not None:
            values["schema"] = schema_r.score
            values["hallucinations"] = schema_r.details.get("hallucinations", 0)
            values["ambiguous"] = len(schema_r.details.get("ambiguous_columns", []))
        for c, v in comps.items():
            values[f"b_{c}"] = v
        for name, v in (extras or {}).items():
            values[f"x_{name}"] = v
        for k, v in values.items():
            # ``v - v == 0.0`` is False for inf and nan
            b[k] = v if type(v) is float and v - v == 0.0 else finite(v)
        b["acc"] = acc
        b["correct"] = 1.0 if correct else 0.0
        if ev is not None:
            b["format_ok"] = 1.0 if ev.format_ok else 0.0
            b["executed"] = 1.0 if ev.executed else 0.0
        b[f"status_{status.value}"] = 1.0
        details["status"] = status.value
        return EnhancedRewardResult(
            total=b["score"], baseline_total=b["baseline"], schema=b["schema"], structural=b["structural"],
            syntax=b["syntax"], correct=correct, acc=acc, breakdown=b, details=details,
        )
