"""RewardComputer: a baseline preset (or any callable) plus shaping components, built from a ``RewardConfig``.

One rollout goes through short stages: **prepare** (the ground truth and the extracted SQL;
a completion over ``max_completion_chars`` is refused before any preprocessing), **rollout**
(prediction and gold executed in the sandbox, gold cached), **baseline** (the preset),
**shaping** (schema penalty, structural, syntax and result credit, user components) and
**combine** (gating and the invariant below); then the breakdown.

Broken samples are neutral: when nothing can verify a sample (``db_missing``, ``db_corrupt``,
``gold_error``, ``internal_error``), every completion gets ``reward.broken_score`` with shaping
off, so a GRPO group's advantage is 0 and the model learns nothing from it.

Invariant (property-tested): when the database is available, a result-correct completion (valid
format and execution match) always totals strictly more than any incorrect one for the same
prompt: wrong answers stay under the band's ceiling (``reward.wrong_ceiling`` of the correct
reward, and ``reward.margin`` below it), correct ones at or above the preset's correct floor.
Shaping keeps the baseline's execution signal between wrong answers (see :mod:`extensions.rewards.band`).

>>> from extensions.config import RewardConfig
>>> from extensions.data.demo import build_demo_databases
>>> hr = build_demo_databases()["hr"]
>>> rc = RewardComputer(RewardConfig(baseline="arctic"))
>>> gold = {"sql": "SELECT count(*) FROM employees", "db_path": hr}
>>> rc.compute_reward("```sql\\nSELECT count(id) FROM employees\\n```", gold).total
1.0
>>> rc.compute_reward("```sql\\nSELECT 1\\n```", {"sql": "SELECT 1", "db_path": "/missing.sqlite"}).details["status"]
'db_missing'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from extensions._util.coalesce import Coalescer
from extensions._util.log import log_every, log_once
from extensions.config import Config, RewardConfig
from extensions.data.layout import GroundTruth, parse_ground_truth
from extensions.execution.engine import EngineSettings, ExecutionEngine, MatchResult, shared_engine
from extensions.execution.introspect import load_schema
from extensions.execution.status import Status
from extensions.rewards.band import Band
from extensions.rewards.base import RewardResult, finite
from extensions.rewards.breakdown import Breakdown, EnhancedRewardResult, Scored
from extensions.rewards.presets import PRESETS, Preset
from extensions.rewards.rollout import Rollout
from extensions.rewards.schema_aware import SchemaAwareReward
from extensions.rewards.structural import StructuralReward
from extensions.sql.clauses import warm_components
from extensions.sql.extract import Extraction, extract_sql
from extensions.sql.guard import check_sql
from extensions.sql.resolve import Resolution, resolve_names
from extensions.sql.schema import Schema

log = logging.getLogger(__name__)

BaselineFn = Callable[..., Any]
_Executed = tuple[MatchResult | None, Status, str]  # (match, status, detail) of one sample
_RESOLVED = Resolution()  # every name resolved


@dataclass
class Prepared:
    """One sample before execution: its inputs, parsed ground truth and extracted SQL."""

    solution: Any
    ground_truth: Any
    gt: GroundTruth
    extraction: Extraction
    schema: Any = None
    key: tuple | None = None  # within a batch: equal keys, equal inputs (see _BatchMemo)


_PLAIN_TYPES = frozenset({str, type(None)})


def _value_key(obj: Any) -> Any:
    """``obj`` itself (a string, bytes or None), its items (a dict of strings), else its identity.

    Only strings count as plain values: ``1 == True == 1.0`` would make different ground truths one key.
    """
    if obj is None or isinstance(obj, (str, bytes)):
        return obj
    if type(obj) is dict and set(map(type, obj.values())) <= _PLAIN_TYPES:
        return ("items", tuple(obj.items()))
    return ("id", id(obj))


class _BatchMemo:
    """What one batch already parsed: ground truths and extractions, kept only for the batch.

    A ground truth is keyed by its value when it is a string or a dict of strings, else by
    the identity of the object (verl repeats a prompt's row for its rollouts, so a group shares one
    object); ``extra_info`` by identity. The batch's lists keep every keyed object alive, so an
    identity is never reused.
    """

    def __init__(self, share: bool = False) -> None:
        self._gts: dict[tuple, GroundTruth] = {}
        self._extractions: dict[str, Extraction] = {}
        self._matches: dict[tuple, _Executed] = {}
        self._scores: dict[tuple, EnhancedRewardResult] = {}
        self._schemas: dict[Any, tuple[Schema | None, str | None]] = {}
        # With ``share`` (no user code runs per sample), equal samples share one Prepared object.
        self.prepared: dict[tuple, Prepared] | None = {} if share else None

    def ground_truth(
        self,
        ground_truth: Any,
        db_path: str | None,
        extra: Mapping[str, Any] | None,
        parse: Callable[[Any, str | None, Mapping[str, Any] | None], GroundTruth],
    ) -> tuple[GroundTruth, tuple]:
        """The parsed ground truth and its key."""
        key = (_value_key(ground_truth), db_path, id(extra) if extra is not None else None)
        gt = self._gts.get(key)
        if gt is None:
            gt = self._gts[key] = parse(ground_truth, db_path, extra)
        return gt, key

    def extraction(self, solution: str, extract: Callable[[Any], Extraction]) -> Extraction:
        found = self._extractions.get(solution)
        if found is None:
            found = self._extractions[solution] = extract(solution)
        return found

    def score(self, key: tuple, run: Callable[[], EnhancedRewardResult]) -> EnhancedRewardResult:
        """A sample equal to an earlier one of the batch gets a copy of its result (its own dicts)."""
        found = self._scores.get(key)
        if found is None:
            found = self._scores[key] = run()
            return found
        return found.copy()

    def schema(
        self,
        explicit: Any,
        db_path: str | None,
        details: dict[str, Any],
        load: Callable[[Any, str | None, dict[str, Any]], Schema | None],
    ) -> Schema | None:
        """The schema ``load`` gives for this source, loaded once per batch (a failure's detail repeated)."""
        src = explicit if explicit is not None else db_path
        key = src if src is None or isinstance(src, str) else ("id", id(src))
        found = self._schemas.get(key)
        if found is None:
            scratch: dict[str, Any] = {}
            found = self._schemas[key] = (load(explicit, db_path, scratch), scratch.get("schema_error"))
        if found[1] is not None:
            details["schema_error"] = found[1]
        return found[0]

    def match(self, key: tuple, run: Callable[[], _Executed]) -> _Executed:
        found = self._matches.get(key)
        if found is None:
            found = self._matches[key] = run()
        return found


def _padded(seq: Sequence[Any] | None, n: int) -> Sequence[Any]:
    """``seq`` as ``n`` entries, None where it is missing or too short."""
    if seq is None:
        return [None] * n
    return seq if len(seq) >= n else [*seq, *([None] * (n - len(seq)))]


def _too_large(solution: Any, limit: int) -> bool:
    return isinstance(solution, (str, bytes, bytearray)) and len(solution) > limit


class RewardComputer:
    """Baseline + shaping, configured by one :class:`~extensions.config.RewardConfig`.

    Args:
        cfg: the reward config, or a full :class:`~extensions.config.Config` (its ``execution``
            and ``data.db_root`` are used too); defaults to ``RewardConfig()``.
        engine: the execution engine (default: one shared per process and settings, started lazily).
        engine_settings: settings of the shared engine when ``engine`` is not given.
        baseline: a callable ``fn(solution_str, ground_truth) -> float | {"score": float}``
            used instead of the preset ``cfg.baseline``.
        extra_components: user components (``name``, ``compute(sql, gold_sql, schema=...)``).
        db_root: the folder of ``<db_id>/<db_id>.sqlite`` for ground truths with a ``db_id``.

    Raises:
        TypeError: ``cfg`` is neither config, or ``baseline`` is not callable.
    """

    def __init__(
        self,
        cfg: RewardConfig | Config | None = None,
        *,
        engine: ExecutionEngine | None = None,
        engine_settings: EngineSettings | None = None,
        baseline: BaselineFn | None = None,
        extra_components: Sequence[Any] = (),
        db_root: str | None = None,
    ) -> None:
        if isinstance(cfg, Config):
            engine_settings = engine_settings or cfg.execution.engine_settings()
            db_root = db_root if db_root is not None else cfg.data.db_root
            cfg = cfg.reward
        if cfg is not None and not isinstance(cfg, RewardConfig):
            raise TypeError(
                f"cfg must be a RewardConfig or a Config (a preset name goes in RewardConfig.baseline), "
                f"not {type(cfg).__name__}"
            )
        self.cfg: RewardConfig = cfg if cfg is not None else RewardConfig()
        if baseline is not None and not callable(baseline):
            raise TypeError("baseline must be a callable (or None to use cfg.baseline)")
        self.baseline_fn = baseline
        self.preset_spec: Preset | None = None if baseline is not None else PRESETS[self.cfg.baseline]
        self.db_root = db_root
        self._engine = engine
        self._engine_settings = engine_settings
        self.extra_components = list(extra_components)
        self._setup_components()
        names = tuple(getattr(c, "name", type(c).__name__) for c in self.extra_components)
        self._breakdown = Breakdown(self.preset_spec.components if self.preset_spec else (), names)
        self.keys = self._breakdown.keys
        self._coalescer = self._new_coalescer()

    def _setup_components(self) -> None:
        c = self.cfg
        self.schema_reward = SchemaAwareReward(c.schema_weight, c.schema_penalty_cap)
        self.structural_reward = StructuralReward(weights=c.structural_weights)
        self.structural_weight = c.structural_weight
        self.syntax_weight = c.syntax_weight
        self.result_weight = c.result_weight
        spec = self.preset_spec
        self.correct_floor = (spec.correct_floor if spec else 1.0) if c.correct_floor is None else c.correct_floor
        pos_max = (
            self.structural_weight
            + self.syntax_weight
            + self.result_weight
            + sum(max(0.0, finite(getattr(x, "max_score", 0.0))) for x in self.extra_components)
        )
        self.band = Band.of(
            floor=self.correct_floor,
            wrong_ceiling=c.wrong_ceiling,
            margin=c.margin,
            wrong_max=spec.wrong_max if spec else None,
            pos_max=pos_max,
        )

    @property
    def preset(self) -> str | None:
        """The baseline preset's name, or None for a callable baseline."""
        return self.preset_spec.name if self.preset_spec else None

    @property
    def enable_enhanced(self) -> bool:
        return self.cfg.enable_enhanced

    @property
    def engine(self) -> ExecutionEngine:
        if self._engine is None or self._engine.pool.closed:
            self._engine = shared_engine(self._engine_settings)
        return self._engine

    def _new_coalescer(self) -> Coalescer[tuple[Any, Any, Any, Mapping[str, Any] | None], EnhancedRewardResult]:
        return Coalescer(self._rewards_batch, lambda item, exc: self._internal_error(exc), name="compute_reward_async")

    # A computer stays picklable and deep-copyable, used or not: the coalescer (a lock, event-loop state)
    # and the engine (processes, pipes, queues) are dropped; the copy rebuilds them lazily, with the
    # engine's settings, so it scores identically.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_coalescer", None)
        engine = state.pop("_engine", None)
        state["_engine"] = None
        if state.get("_engine_settings") is None and engine is not None:
            state["_engine_settings"] = engine.settings
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._coalescer = self._new_coalescer()

    # -- entry points -----------------------------------------------------------------------------
    def compute_reward(
        self,
        solution_str: Any,
        ground_truth: Any,
        schema: Any = None,
        *,
        db_path: str | None = None,
        extra_info: Mapping[str, Any] | None = None,
    ) -> EnhancedRewardResult:
        """Reward one completion. Never raises; failures are in ``details['error']``.

        Args:
            solution_str: the model's completion.
            ground_truth: ``"SQL"``, ``{"sql", "db_path" | "db_id", "schema"?}`` or its JSON.
            schema: the schema for the hallucination penalty (default: the database's).
            db_path: the database when the ground truth names none.
            extra_info: verl's ``extra_info`` (may carry ``db_path``/``db_id``).

        Returns:
            An :class:`EnhancedRewardResult`.
        """
        try:
            return self._score(self._prepare(solution_str, ground_truth, schema, db_path, extra_info))
        except Exception as exc:  # a bug: defined reward, logged once
            log_once(log, f"compute:{type(exc).__name__}", "internal error in compute_reward: %r", exc, exc_info=True)
            return self._internal_error(exc)

    def compute_rewards(
        self,
        solution_strs: Sequence[Any],
        ground_truths: Sequence[Any],
        schemas: Sequence[Any] | None = None,
        *,
        extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[EnhancedRewardResult]:
        """Reward a batch: the same results as :meth:`compute_reward` per sample. Never raises.

        The batch's distinct gold and predicted statements run first (in the calling thread where
        the inline lane settles them, the rest across the worker processes); then each distinct
        sample's verdict and, with shaping, the parse of what will be shaped, one pass each
        (:meth:`_settle`); each sample is then scored from cache.
        """
        n = len(solution_strs)
        memo = _BatchMemo(share=self.baseline_fn is None and not self.extra_components)
        prepared: list[Prepared | None] = []
        gts, schs, extras = (_padded(seq, n) for seq in (ground_truths, schemas, extra_infos))
        for i in range(n):
            extra = extras[i]
            try:
                prepared.append(
                    self._prepare(
                        solution_strs[i],
                        gts[i],
                        schs[i],
                        None,
                        extra if isinstance(extra, Mapping) else None,
                        memo,
                    )
                )
            except Exception as exc:
                log_once(
                    log,
                    f"batch:{type(exc).__name__}",
                    "internal error preparing a batch sample: %r",
                    exc,
                    exc_info=True,
                )
                prepared.append(None)
        distinct = {id(p): p for p in prepared if p is not None}.values()  # equal samples share one (memo.prepared)
        items = [(p.gt.db_paths, p.extraction.sql, p.gt.sql) for p in distinct if self._runnable(p)]
        if items:
            self.engine.execute_batch(items, semantics=self.cfg.semantics, keep_distinct=self.cfg.keep_distinct)  # type: ignore[arg-type]
        self._settle(distinct, memo)
        return [self._score_safely(p, memo) for p in prepared]

    async def compute_reward_async(
        self, solution_str: Any, ground_truth: Any, schema: Any = None, *, extra_info: Mapping[str, Any] | None = None
    ) -> EnhancedRewardResult:
        """:meth:`compute_reward` for coroutines. Never raises.

        The calls awaited together on one event loop (verl's reward loop gathers a whole batch) are
        scored as one :meth:`compute_rewards` call in a thread, with the same results; the loop never
        blocks.
        """
        return await self._coalescer.submit((solution_str, ground_truth, schema, extra_info))

    def stats(self) -> dict[str, dict[str, int]]:
        """How :meth:`compute_reward_async` grouped its calls: ``{"async": {"batches": B, "calls": N}}``."""
        return {"async": {"batches": self._coalescer.batches, "calls": self._coalescer.items}}

    def _rewards_batch(self, items: list[tuple[Any, Any, Any, Mapping[str, Any] | None]]) -> list[EnhancedRewardResult]:
        return self.compute_rewards(
            [i[0] for i in items], [i[1] for i in items], [i[2] for i in items], extra_infos=[i[3] for i in items]
        )

    def _score_safely(self, p: Prepared | None, memo: _BatchMemo | None = None) -> EnhancedRewardResult:
        if p is None:
            return self._internal_error(RuntimeError("the sample could not be prepared"))
        try:
            # Equal samples score equally unless user code (a callable baseline, extra components) runs per sample.
            if memo is not None and p.key is not None and self.baseline_fn is None and not self.extra_components:
                return memo.score(p.key, lambda: self._score(p, memo))
            return self._score(p, memo)
        except Exception as exc:
            log_once(log, f"compute:{type(exc).__name__}", "internal error in compute_reward: %r", exc, exc_info=True)
            return self._internal_error(exc)

    def _settle(self, distinct: Iterable[Prepared], memo: _BatchMemo) -> None:
        """A batch's verdicts, then the analysis of what will be shaped, each in one pass before scoring.

        Every distinct sample's verdict is looked up first (into ``memo``); with shaping, the
        statements of the samples that will be shaped are then parsed and split into clauses
        (:func:`warm_components`). Phase by phase is faster than sample by sample, and scoring reads
        the same values either way. A failure here is logged once and left to scoring, which handles
        each sample on its own.
        """
        try:
            texts: list[str | None] = []
            for p in distinct:
                match, status, _ = self._execute(p, memo)
                if self.cfg.enable_enhanced:
                    ro = Rollout(p.extraction, p.gt.sql or "", match, status, self.structural_reward)
                    if self._shapes(ro, p):
                        texts += (ro.sql, ro.gold_sql)
            warm_components(texts)
        except Exception as exc:
            log_once(log, f"settle:{type(exc).__name__}", "internal error settling a batch: %r", exc, exc_info=True)

    # -- stages -----------------------------------------------------------------------------------
    def _prepare(
        self,
        solution: Any,
        ground_truth: Any,
        schema: Any,
        db_path: str | None,
        extra_info: Mapping[str, Any] | None,
        memo: _BatchMemo | None = None,
    ) -> Prepared:
        """Stage 1: the ground truth and the extracted SQL (refused in O(1) when the completion is too long).

        With ``memo`` (one per batch), a ground truth or a completion seen earlier in the batch is not
        parsed again: a GRPO group shares its ground truth and often repeats a completion.
        """
        if memo is None:
            gt, key = self._ground_truth(ground_truth, db_path, extra_info), None
        else:
            gt, gt_key = memo.ground_truth(ground_truth, db_path, extra_info, self._ground_truth)
            key = (solution, gt_key, id(schema) if schema is not None else None) if isinstance(solution, str) else None
            if key is not None and memo.prepared is not None:
                found = memo.prepared.get(key)
                if found is not None:
                    return found
        if _too_large(solution, self.cfg.max_completion_chars):
            extraction = Extraction(None, False, "too_large", self.cfg.extraction_style)
        elif key is not None:
            extraction = memo.extraction(solution, self._extract)  # type: ignore[union-attr]
        else:
            extraction = self._extract(solution)
        p = Prepared(solution, ground_truth, gt, extraction, schema, key)
        if key is not None and memo is not None and memo.prepared is not None:
            memo.prepared[key] = p
        return p

    def _ground_truth(
        self, ground_truth: Any, db_path: str | None, extra_info: Mapping[str, Any] | None
    ) -> GroundTruth:
        """The parsed ground truth; a gold too deeply nested to analyse is a ``gold_error``."""
        gt = parse_ground_truth(ground_truth, db_path=db_path, db_root=self.db_root, extra=extra_info)
        if gt.sql is not None and not gt.error:
            reason = check_sql(gt.sql)
            if reason is not None and reason.startswith("too_deep"):
                gt = GroundTruth(None, gt.db_paths, gt.schema, error=f"gold SQL {reason}")
        return gt

    def _extract(self, solution: Any) -> Extraction:
        return extract_sql(
            solution,
            style=self.cfg.extraction_style,  # type: ignore[arg-type]
            require_sql_block=self.cfg.require_sql_block,
        )

    def _runnable(self, p: Prepared) -> bool:
        return not p.gt.error and bool(p.gt.db_paths) and p.extraction.format_reason != "too_large"

    def _execute(self, p: Prepared, memo: _BatchMemo | None = None) -> tuple[MatchResult | None, Status, str]:
        """(match, status, detail) of one prepared sample; once per distinct (databases, SQL, gold) with ``memo``."""
        gt, sql = p.gt, p.extraction.sql
        if gt.error:
            return None, (Status.GOLD_ERROR if gt.sql is None else Status.DB_MISSING), gt.error
        if not gt.db_paths:
            return None, Status.DB_MISSING, "no database given: execution not checked"
        if p.extraction.format_reason == "too_large":
            return (
                None,
                Status.TOO_LARGE,
                f"completion longer than max_completion_chars={self.cfg.max_completion_chars}",
            )
        if memo is not None and (sql is None or isinstance(sql, str)) and isinstance(gt.sql, str):
            return memo.match((tuple(gt.db_paths), sql, gt.sql), lambda: self._run_match(gt, sql))
        return self._run_match(gt, sql)

    def _run_match(self, gt: GroundTruth, sql: Any) -> tuple[MatchResult | None, Status, str]:
        """The engine's verdict for ``sql`` against the gold (a prediction too deeply nested is refused unparsed)."""
        deep = check_sql(sql) if isinstance(sql, str) else None
        deep = deep if deep is not None and deep.startswith("too_deep") else None
        match = self.engine.match(
            gt.db_paths,
            None if deep else sql,
            gt.sql or "",
            semantics=self.cfg.semantics,
            keep_distinct=self.cfg.keep_distinct,  # type: ignore[arg-type]
            empty_result_is_wrong=self.cfg.empty_result_is_wrong,
        )
        if deep and match.status is Status.SYNTAX_ERROR:  # the gold ran; the prediction is refused unparsed
            return MatchResult(False, Status.TOO_DEEP, deep, None, match.gold), Status.TOO_DEEP, deep
        return match, match.status, match.detail

    def _score(self, p: Prepared, memo: _BatchMemo | None = None) -> EnhancedRewardResult:
        """Stages 2-5 for one prepared sample (``memo``: what its batch already decided)."""
        match, status, detail = self._execute(p, memo)
        ro = Rollout(p.extraction, p.gt.sql or "", match, status, self.structural_reward)
        details: dict[str, Any] = {"sql": ro.sql, "format_reason": p.extraction.format_reason}
        if p.gt.error:
            details["error"] = p.gt.error
        elif detail:
            details["exec_detail"] = detail
        if ro.broken and not self.cfg.shape_broken:
            return self._broken(ro, p, details)
        baseline, comps = self._baseline(ro, p, details)
        shape = self._shapes(ro, p)
        details["shaping_computed"] = shape
        scored, pos, neg = self._shaping(ro, p, details, memo) if shape else (Scored(0.0), 0.0, 0.0)
        if self.cfg.enable_enhanced:
            total, applied = self._combine(baseline, pos, neg, ro, known=match is not None)
        else:
            total, applied = baseline, 0.0
        scored.total, scored.baseline, scored.components, scored.shaping = total, baseline, comps, applied
        details["extras"] = scored.extras
        return self._finish(scored, ro, details)

    def _shapes(self, ro: Rollout, p: Prepared) -> bool:
        """Whether stage 4 runs: shaping on, a sample that can be verified, a usable gold, not gated off."""
        if not self.cfg.enable_enhanced or p.gt.error or (ro.broken and not self.cfg.shape_broken):
            return False
        return not (self.cfg.gating == "wrong_only" and ro.correct)

    def _baseline(self, ro: Rollout, p: Prepared, details: dict[str, Any]) -> tuple[float, dict[str, float]]:
        """Stage 3: the preset's components and their sum (or the user's callable)."""
        if self.preset_spec is not None:
            comps = self.preset_spec(ro, self.cfg)
            return sum(comps.values()), comps
        assert self.baseline_fn is not None
        try:
            out = self.baseline_fn(p.solution, p.ground_truth)
            return finite(out.get("score", 0.0) if isinstance(out, Mapping) else out), {}
        except Exception as exc:
            log_once(log, f"baseline:{type(exc).__name__}", "baseline_reward_fn raised %r; using 0.0", exc)
            details["baseline_error"] = f"{type(exc).__name__}: {exc}"[:200]
            return 0.0, {}

    def _shaping(
        self, ro: Rollout, p: Prepared, details: dict[str, Any], memo: _BatchMemo | None = None
    ) -> tuple[Scored, float, float]:
        """Stage 4: the shaping components; returns them with their positive and negative sums."""
        valid, details["syntax_reason"] = ro.syntax
        if ro.structural_result is not None:
            details["structural"] = ro.structural_result.details
        schema_r, sch = self._schema_component(ro, p, details, memo)
        extras = self._extras(ro.sql, ro.gold_sql, sch, details)
        structural = self.structural_weight * ro.structural
        syntax = self.syntax_weight if valid else 0.0
        result_f1 = ro.result_f1 if self.result_weight > 0 and not ro.correct else 0.0  # wrong answers only
        result = self.result_weight * result_f1
        neg = (schema_r.score if schema_r is not None else 0.0) + sum(min(0.0, v) for v in extras.values())
        pos = structural + syntax + result + sum(max(0.0, v) for v in extras.values())
        parts = Scored(
            0.0,
            schema=schema_r,
            structural=structural,
            structural_f1=ro.structural,
            syntax=syntax,
            result=result,
            result_f1=result_f1,
            extras=extras,
        )
        return parts, pos, neg

    def _schema_component(
        self, ro: Rollout, p: Prepared, details: dict[str, Any], memo: _BatchMemo | None = None
    ) -> tuple[RewardResult | None, Schema | None]:
        """The hallucination penalty and the schema it used (None when SQLite compiled the prediction)."""
        explicit = p.schema if p.schema is not None else p.gt.schema
        # SQLite already compiled the prediction against this very database: every table and
        # column resolved, so there is nothing to penalise.
        compiled = (
            explicit is None
            and ro.match is not None
            and ro.match.pred is not None
            and ro.match.pred.status is Status.OK
        )
        if compiled and not self.extra_components:
            sch = None
        elif memo is not None:  # a batch loads each schema once
            sch = memo.schema(explicit, p.gt.db_path, details, self._load_schema)
        else:
            sch = self._load_schema(explicit, p.gt.db_path, details)
        if not ro.sql:
            return None, sch
        if compiled:
            r = self.schema_reward.from_resolution(_RESOLVED)
            details["schema"] = {**r.details, "checked_by": "sqlite_compile"}
            return r, sch
        if sch is None:
            return None, sch
        r = self.schema_reward.from_resolution(resolve_names(ro.sql, sch))
        details["schema"] = r.details
        return r, sch

    def _load_schema(self, schema: Any, db_path: str | None, details: dict[str, Any]) -> Schema | None:
        src = schema if schema is not None else db_path
        if src is None:
            return None
        try:
            return load_schema(src)
        except Exception as exc:  # SchemaLoadError, or a file that vanished meanwhile
            details["schema_error"] = str(exc)[:200]
            return None

    def _extras(self, sql: str | None, gold: str, schema: Schema | None, details: dict[str, Any]) -> dict[str, float]:
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

    def _combine(self, baseline: float, pos: float, neg: float, ro: Rollout, *, known: bool) -> tuple[float, float]:
        """Stage 5: gating and the band (:mod:`extensions.rewards.band`); returns (total, applied shaping)."""
        if not known:  # no database (only with shape_broken): correctness unknown, plain sum
            return baseline + pos + neg, pos + neg
        if ro.correct:
            shaping = 0.0 if self.cfg.gating == "wrong_only" else pos + neg
            total = self.band.correct_total(baseline, shaping)
        else:
            total = self.band.wrong_total(baseline, pos, neg)
        return total, total - baseline

    # -- results ----------------------------------------------------------------------------------
    def _facts(self, ro: Rollout | None) -> dict[str, float]:
        if ro is None:
            return {}
        pred = ro.match.pred if ro.match is not None else None
        return {
            "acc": 1.0 if ro.exec_match else 0.0,
            "correct": 1.0 if ro.correct else 0.0,
            "format_ok": 1.0 if ro.format_ok else 0.0,
            "executed": 1.0 if ro.executed else 0.0,
            "pred_time_ms": 1000.0 * pred.elapsed_s if pred is not None else 0.0,
            "timeout_s": ro.match.timeout_s if ro.match is not None else 0.0,
            "broken": 1.0 if ro.broken else 0.0,
        }

    def _finish(self, scored: Scored, ro: Rollout, details: dict[str, Any]) -> EnhancedRewardResult:
        scored.facts = self._facts(ro)
        assert ro.status is not None
        return self._breakdown.build(scored, status=ro.status.value, details=details)

    def _broken(self, ro: Rollout, p: Prepared, details: dict[str, Any]) -> EnhancedRewardResult:
        """A sample nothing can verify: the same score for every completion, shaping off."""
        assert ro.status is not None
        where = p.gt.db_path or "(no database given)"
        log_every(
            log,
            f"broken:{ro.status.value}:{where}",
            60.0,
            "sample cannot be verified (%s) on database %s: %s; every completion scores %s (reward.broken_score)",
            ro.status.value,
            where,
            details.get("error") or details.get("exec_detail", ""),
            self.cfg.broken_score,
        )
        details["shaping_computed"] = False
        score = self.cfg.broken_score
        return self._finish(Scored(score, baseline=score), ro, details)

    def _internal_error(self, exc: BaseException) -> EnhancedRewardResult:
        details = {"error": f"{type(exc).__name__}: {exc}"[:300], "shaping_computed": False}
        score = self.cfg.broken_score
        facts = {"broken": 1.0}
        return self._breakdown.build(
            Scored(score, baseline=score, facts=facts), status=Status.INTERNAL_ERROR.value, details=details
        )
