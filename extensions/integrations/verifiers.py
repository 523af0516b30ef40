"""A `verifiers` environment for the installed version: 0.3 (``SingleTurnEnv`` + ``Rubric``) or 0.4 (``verifiers.v1``).

    import extensions.integrations.verifiers as sqlenv
    env = sqlenv.load_environment()            # demo databases
    env = sqlenv.load_environment(dataset="data/verl/train.parquet", config="configs/train_24gb.yaml")

On verifiers 0.3 it returns a ``SingleTurnEnv`` whose Rubric holds our reward components with their
weights: ``baseline`` (weight 1), ``schema`` (hallucinated names up to the cap, weight
``schema_weight``), ``structural`` (clause F1, weight = structural weight), ``syntax`` (0/1, weight
``syntax_weight``) and ``invariant`` (weight 1: the correction that keeps every result-correct answer
above every wrong one and removes shaping that gating does not apply). Their weighted sum is exactly
our total, and verifiers reports each function as its own metric. With shaping off
(``reward.enable_enhanced: false``, the default) nothing computes the three shaping components, so the
Rubric holds only ``baseline`` and ``invariant``: no metric reads 0 for a component that never ran.

On verifiers 0.4 it returns the v1 taskset of :mod:`extensions.integrations.verifiers_v1` (reward:
our total; metrics: every breakdown component); ``vf-eval`` and prime-rl load it by the id of a
top-level module that re-exports ``SqlTaskset`` (docs/integrations.md).
"""

from __future__ import annotations

from typing import Any

from extensions.config import load_config
from extensions.integrations.breakdown_cache import BreakdownCache
from extensions.integrations.rows import sql_rows
from extensions.rewards.combine import RewardComputer


def verifiers_api() -> str:
    """``"legacy"`` (the 0.3 ``SingleTurnEnv``/``Rubric`` API), ``"v1"`` (0.4's ``verifiers.v1``) or ``"none"``."""
    try:
        import verifiers as vf
    except ImportError:
        return "none"
    if hasattr(vf, "SingleTurnEnv") and hasattr(vf, "Rubric"):
        return "legacy"
    try:
        import verifiers.v1  # noqa: F401
    except ImportError:
        return "none"
    return "v1"


def _vf() -> Any:
    import verifiers as vf

    return vf


def build_rubric(computer: RewardComputer) -> Any:
    """A verifiers 0.3 ``Rubric`` whose weighted sum is ``computer``'s total.

    Args:
        computer: the reward computer.

    Returns:
        ``Rubric(funcs=[baseline, schema, structural, syntax, invariant], weights=[...])`` with shaping
        on; ``Rubric(funcs=[baseline, invariant], weights=[1.0, 1.0])`` with it off.
    """
    cache = BreakdownCache(computer)
    schema_w, struct_w, syntax_w = computer.schema_reward.weight, computer.structural_weight, computer.syntax_weight
    cap = computer.schema_reward.cap

    def get(completion: Any, answer: Any) -> dict[str, float]:
        return cache.breakdowns([completion], [answer])[0]

    def baseline(completion: Any, answer: Any, **kwargs: Any) -> float:
        return get(completion, answer)["baseline"]

    def schema(completion: Any, answer: Any, **kwargs: Any) -> float:
        n = get(completion, answer)["hallucinations"]
        return float(min(n, cap) if cap is not None else n)

    def structural(completion: Any, answer: Any, **kwargs: Any) -> float:
        return get(completion, answer)["structural_f1"]

    def syntax(completion: Any, answer: Any, **kwargs: Any) -> float:
        return 1.0 if get(completion, answer)["syntax"] > 0 else 0.0

    parts: list[Any] = [baseline, schema, structural, syntax]
    weights = [1.0, schema_w, struct_w, syntax_w]
    if not computer.cfg.enable_enhanced:  # shaping off: no shaping component is computed, none is reported
        parts, weights = parts[:1], weights[:1]

    def invariant(completion: Any, answer: Any, **kwargs: Any) -> float:
        weighted = sum(w * f(completion, answer) for w, f in zip(weights, parts))
        return get(completion, answer)["score"] - weighted

    return _vf().Rubric(funcs=[*parts, invariant], weights=[*weights, 1.0])


def load_environment(config: str | None = None, dataset: str | None = None, **overrides: Any) -> Any:
    """The environment for the installed verifiers over ``dataset`` (default: the demo set).

    Args:
        config: our YAML config (else ``$EXTENSIONS_CONFIG``, else defaults).
        dataset: ``None``/``"demo"``, a prepared parquet file or folder, or a Spider folder (see :func:`sql_rows`).
        **overrides: ``section.key=value`` config overrides, e.g. ``**{"execution.workers": 1}``.

    Returns:
        A ``SingleTurnEnv`` on verifiers 0.3, a v1 ``Taskset`` on verifiers 0.4.

    Raises:
        ConfigError: the config cannot be built (the message names the key).
        ImportError: verifiers is not installed.
    """
    items = [f"{k}={v}" for k, v in overrides.items()]
    api = verifiers_api()
    if api == "v1":
        from extensions.integrations.verifiers_v1 import load_taskset

        return load_taskset(config=config, dataset=dataset, overrides=items)
    if api == "none":
        raise ImportError(
            "extensions.integrations.verifiers needs verifiers: pip install 'text2sql-rewards[verifiers]'"
        )
    from datasets import Dataset

    cfg = load_config(config, overrides=items or None)
    computer = RewardComputer(cfg)
    rows = [
        {"prompt": r["prompt"], "answer": r["answer"], "info": {"db_id": r["db_id"]}}
        for r in sql_rows(dataset, style=cfg.data.prompt_style)
    ]
    return _vf().SingleTurnEnv(dataset=Dataset.from_list(rows), rubric=build_rubric(computer))
