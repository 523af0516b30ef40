"""Configuration: pydantic models, YAML loading, environment and CLI overrides, checks before a run.

>>> cfg = load_config(overrides=["reward.schema_weight=-0.25", "optimization.lora.r=8"])
>>> cfg.reward.schema_weight, cfg.optimization.lora.r
(-0.25, 8)
>>> load_config(overrides=["reward.baseline=bogus"])  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
extensions.errors.ConfigError: reward.baseline: Input should be 'sql_r1', 'arctic', 'reasoning_sql' or 'combined'
(got 'bogus')

Override precedence: YAML file < environment (``EXTENSIONS__SECTION__KEY=value``,
double underscores between levels) < explicit ``overrides`` (``section.key=value``).
Values in overrides are parsed as YAML scalars (``true``, ``3``, ``[a, b]``).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from extensions.defaults.reward import DEFAULT_WEIGHTS, PRESET_NAMES, clause_weights
from extensions.defaults.tool import ToolLimits
from extensions.errors import ConfigError
from extensions.execution.settings import EngineSettings

_ENGINE = EngineSettings()
_TOOL = ToolLimits()

ENV_PREFIX = "EXTENSIONS__"
# The smallest execution.memory_mb accepted: with a few tens of MiB a worker cannot start its watchdog thread, so
# every statement, golds included, fails and every sample would be scored as broken.
MIN_MEMORY_MB = 256
CONFIG_ENV = "EXTENSIONS_CONFIG"  # path of a YAML file used when none is given


class _Strict(BaseModel):
    # Unknown keys fail, and so does a non-finite number (``.inf``, ``nan``): no setting means "unbounded" by
    # infinity (0 does, where documented), and an infinite weight or a NaN score would poison every reward.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class ExecutionConfig(_Strict):
    """Sandboxed execution engine; defaults come from :class:`extensions.execution.settings.EngineSettings`."""

    workers: int = Field(_ENGINE.workers, ge=0, description="worker processes; 0 = all cores")
    timeout_s: float = Field(
        _ENGINE.timeout_s, gt=0, description="wall-clock backstop per statement (past it: timeout_wall, never cached)"
    )
    max_vm_steps: int = Field(
        _ENGINE.max_vm_steps,
        ge=0,
        description="work budget per statement in SQLite VM instructions (past it: timeout); 0 = none",
    )
    adaptive_timeout: bool = Field(
        _ENGINE.adaptive_timeout, description="a prediction's step budget follows its gold's steps"
    )
    adaptive_k: float = Field(
        _ENGINE.adaptive_k, gt=0, description="a prediction may take adaptive_k times its gold's VM steps"
    )
    adaptive_min_steps: int = Field(
        _ENGINE.adaptive_min_steps,
        ge=1000,
        description="smallest adaptive step budget (at least one progress period; a budget of 0 would mean none)",
    )
    max_cpu_s: float = Field(
        _ENGINE.max_cpu_s,
        ge=0,
        description="CPU seconds of the executing thread per statement (past it: timeout_cpu); 0 = none",
    )
    adaptive_min_cpu_s: float = Field(
        _ENGINE.adaptive_min_cpu_s,
        gt=0,
        description="smallest adaptive CPU budget (seconds; a budget of 0 would mean none)",
    )
    adaptive_cpu_margin: float = Field(
        _ENGINE.adaptive_cpu_margin,
        ge=1,
        description="a prediction's CPU budget is this many times what its step budget costs at its gold's pace",
    )
    grace_s: float = Field(_ENGINE.grace_s, ge=0)
    max_rows: int = Field(_ENGINE.max_rows, ge=1)
    max_value_bytes: int = Field(_ENGINE.max_value_bytes, ge=1000)
    max_sql_bytes: int = Field(_ENGINE.max_sql_bytes, ge=1000)
    max_result_bytes: int = Field(
        _ENGINE.max_result_bytes, ge=1000, description="largest whole result a worker sends back; past it: too_large"
    )
    memory_mb: int = Field(
        _ENGINE.memory_mb,
        ge=0,
        description=f"each worker's address space in MiB (0 = no limit, else at least {MIN_MEMORY_MB})",
    )
    max_open_connections: int = Field(
        _ENGINE.max_open_connections,
        ge=1,
        description="database files with open read-only connections, per worker and in the inline lane (2 each there)",
    )
    gold_cache_entries: int = Field(_ENGINE.gold_cache_entries, ge=0)
    result_cache_entries: int = Field(_ENGINE.result_cache_entries, ge=0)
    verdict_cache_entries: int = Field(
        _ENGINE.verdict_cache_entries,
        ge=0,
        description="recent match verdicts kept by exact (file, prediction, gold, options)",
    )
    cache_max_bytes: int = Field(
        _ENGINE.cache_max_bytes, ge=0, description="byte budget of each of the gold, result and verdict caches"
    )
    immutable: bool = _ENGINE.immutable
    inline_budget_ms: float = Field(
        _ENGINE.inline_budget_ms,
        ge=0,
        description="try each new statement in the calling thread with this deadline first; 0 = always use a worker",
    )
    inline_max_value_bytes: int = Field(
        _ENGINE.inline_max_value_bytes,
        ge=1000,
        description="largest value the inline attempt may produce before handing over to a worker",
    )
    inline_max_rows: int = Field(
        _ENGINE.inline_max_rows,
        ge=1,
        description="most rows the inline attempt may return before handing over to a worker",
    )
    stat_ttl_s: float = Field(
        _ENGINE.stat_ttl_s, ge=0, description="re-read a database file's signature at most this often"
    )

    @field_validator("memory_mb")
    @classmethod
    def _room_to_start(cls, v: int) -> int:
        if 0 < v < MIN_MEMORY_MB:
            raise ValueError(
                f"a worker needs at least {MIN_MEMORY_MB} MiB of address space to start and run its threads "
                "(0 = no limit)"
            )
        return v

    def engine_settings(self) -> EngineSettings:
        """The engine's settings for this config.

        Returns:
            An :class:`EngineSettings` with every field of this section.

        >>> ExecutionConfig(workers=2).engine_settings().workers
        2
        """
        return EngineSettings(**self.model_dump())


class SqlR1Config(_Strict):
    """SQL-R1 length-reward knobs."""

    max_length: int = Field(4096, ge=1, description="characters; think+answer length normaliser")
    length_weight: float = Field(0.5, ge=0)


class RewardConfig(_Strict):
    """The reward: a baseline preset, the shaping components and how they combine."""

    baseline: Literal[PRESET_NAMES] = Field(
        "arctic", description="baseline preset (extensions.rewards.presets.PRESETS)"
    )  # type: ignore[valid-type]
    enable_enhanced: bool = False
    gating: Literal["wrong_only", "always"] = "wrong_only"
    schema_weight: float = Field(-0.5, le=0, description="penalty per hallucinated name")
    schema_penalty_cap: int | None = Field(2, ge=0, description="at most this many names are penalised (null: no cap)")
    structural_weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        description="clause weights of the structural credit, keyed by extensions.sql.clauses.CLAUSES; "
        "clauses not given keep their default (extensions.defaults.reward.DEFAULT_WEIGHTS)",
    )
    structural_weight: float = Field(0.8, ge=0, description="multiplier of the [0, 1] structural score")
    syntax_weight: float = Field(0.2, ge=0)
    margin: float = Field(0.05, gt=0, description="gap kept between the best wrong and the worst correct total")
    wrong_ceiling: float = Field(
        1.0,
        gt=0,
        le=1,
        description="the most any wrong answer can earn, as a fraction of the correct reward (the preset's correct "
        "floor); a wrong total also stays at least `margin` below the floor, so 1.0 means floor - margin",
    )
    result_weight: float = Field(
        0.0, ge=0, description="weight of the Soft F1 between the predicted and gold result tables (wrong answers only)"
    )
    correct_floor: float | None = Field(None, description="smallest total of a correct answer (null: the preset's)")
    broken_score: float = Field(
        0.0,
        description="score of every completion of a sample nothing can verify "
        "(db_missing, db_corrupt, gold_error, internal_error)",
    )
    shape_broken: bool = Field(
        False, description="apply shaping to broken samples too (off: every completion gets broken_score)"
    )
    max_completion_chars: int = Field(
        100_000, ge=1000, description="longer completions are refused as too_large before any preprocessing"
    )
    semantics: Literal["spider", "bird", "strict"] = "spider"
    keep_distinct: bool = False
    empty_result_is_wrong: bool = False
    extraction_style: Literal["auto", "sql_r1", "omnisql", "plain"] = "auto"
    require_sql_block: bool = True
    sql_r1: SqlR1Config = SqlR1Config()

    @field_validator("structural_weights")
    @classmethod
    def _full_weights(cls, v: dict[str, float]) -> dict[str, float]:
        return clause_weights(v)


class LoraConfig(_Strict):
    enabled: bool = True
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    layers_to_transform: list[int] | None = Field(
        None, description="decoder layers that get adapters (null: all); the top layers only makes backward cheaper"
    )


class OptimizationConfig(_Strict):
    model_name: str = "Qwen/Qwen2.5-Coder-3B-Instruct"
    batch_size: int = Field(2, ge=1, description="prompts per device step")
    gradient_accumulation_steps: int = Field(8, ge=1)
    gradient_checkpointing: bool = True
    mixed_precision: Literal["bf16", "fp16", "no"] = "bf16"
    learning_rate: float = Field(1e-5, gt=0)
    sft_learning_rate: float | None = Field(
        None, gt=0, description="learning rate of the SFT warm-up (null: 10 x learning_rate)"
    )
    weight_decay: float = Field(0.0, ge=0)
    warmup_ratio: float = Field(0.03, ge=0, le=1)
    max_grad_norm: float = Field(1.0, gt=0)
    max_prompt_length: int = Field(1024, ge=16)
    max_response_length: int = Field(768, ge=8)
    load_in_4bit: bool = False
    lora: LoraConfig = LoraConfig()


class GRPOConfig(_Strict):
    num_generations: int = Field(8, ge=2, description="rollouts per prompt (GRPO group size)")
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    beta: float = Field(0.0, ge=0, description="KL coefficient")
    epsilon: float = Field(0.2, gt=0, description="PPO clip range")
    use_vllm: bool = False
    vllm_gpu_memory_utilization: float = Field(0.35, gt=0, le=1)


class VerlConfig(_Strict):
    n_gpus_per_node: int = Field(1, ge=1)
    nnodes: int = Field(1, ge=1)
    rollout_n: int = Field(8, ge=1)
    rollout_name: Literal["vllm", "sglang", "hf"] = "vllm"
    tensor_model_parallel_size: int = Field(1, ge=1)
    gpu_memory_utilization: float = Field(0.5, gt=0, le=1)
    ppo_mini_batch_size: int = Field(16, ge=1)
    ppo_micro_batch_size_per_gpu: int = Field(2, ge=1)
    train_batch_size: int = Field(16, ge=1)
    kl_loss_coef: float = Field(0.001, ge=0)
    entropy_coeff: float = Field(0.0, ge=0)
    param_offload: bool = True
    optimizer_offload: bool = True
    total_epochs: int = Field(1, ge=1)
    save_freq: int = Field(50, ge=-1)
    test_freq: int = Field(25, ge=-1)
    reward_num_workers: int = Field(8, ge=1)
    reward_hook: Literal["compute_score_async", "compute_score"] = Field(
        "compute_score_async",
        description="verl_hook function verl's reward loop calls (verl >= 0.9; older verl gets compute_score): "
        "compute_score_async scores each batch together (fastest), compute_score one sample per thread "
        "(needed for reward_manager=remote, which rejects coroutine functions)",
    )
    train_files: str = "data/verl/train.parquet"
    val_files: str = "data/verl/val.parquet"
    project_name: str = "text2sql-grpo"
    experiment_name: str = "qwen2.5-coder-3b-grpo"
    use_v1: bool = Field(
        False, description="verl 0.9's v1 trainer (needs transfer_queue, not installed by pip install verl)"
    )
    extra_overrides: list[str] = []


class DataConfig(_Strict):
    db_root: str | None = Field(None, description="folder of <db_id>/<db_id>.sqlite for ground truths with db_id")
    prompt_style: Literal["sql_r1", "omnisql"] = "sql_r1"
    sample_values: int = Field(3, ge=0)
    spider_dir: str = Field(
        "../shared/spider_dev",
        description="Spider folder (dev.json, database/) that --data spider reads: the cross-database split of "
        "extensions.data.spider_split",
    )


class WandbConfig(_Strict):
    enabled: bool = False
    project: str = "text2sql-grpo"
    mode: Literal["online", "offline", "disabled"] = "offline"
    entity: str | None = None


class LoggingConfig(_Strict):
    output_dir: str = "./outputs"
    log_every: int = Field(1, ge=1)
    save_every: int = Field(50, ge=1)
    keep_best_k: int = Field(2, ge=1)
    wandb: WandbConfig = WandbConfig()


class MultiTurnConfig(_Strict):
    """The ``execute_sql`` tool of multi-turn rollouts and the extra terms of an episode's reward (off by default)."""

    max_calls: int = Field(_TOOL.max_calls, ge=1, description="tool calls per episode; later calls are refused")
    max_rows: int = Field(_TOOL.max_rows, ge=1, description="rows shown per answer")
    max_cell_chars: int = Field(_TOOL.max_cell_chars, ge=4, description="characters per cell")
    max_chars: int = Field(_TOOL.max_chars, ge=64, description="characters per answer")
    timeout_s: float = Field(
        _TOOL.timeout_s, gt=0, description="wall-clock backstop per query (a stalled worker), not its limit"
    )
    max_query_chars: int = Field(_TOOL.max_query_chars, ge=16, description="longest query run")
    max_vm_steps: int = Field(_TOOL.max_vm_steps, ge=0, description="VM steps per query (its work budget; 0 = none)")
    max_cpu_s: float = Field(_TOOL.max_cpu_s, ge=0, description="CPU seconds per query (its work budget; 0 = none)")
    no_answer_penalty: float = Field(0.0, le=0, description="added when the budget was spent and no final SQL given")
    error_penalty: float = Field(0.0, le=0, description="added per failed tool call")

    def tool_limits(self) -> ToolLimits:
        """The tool's :class:`~extensions.defaults.tool.ToolLimits`."""
        return ToolLimits(
            max_calls=self.max_calls,
            max_rows=self.max_rows,
            max_cell_chars=self.max_cell_chars,
            max_chars=self.max_chars,
            timeout_s=self.timeout_s,
            max_query_chars=self.max_query_chars,
            max_vm_steps=self.max_vm_steps,
            max_cpu_s=self.max_cpu_s,
        )


class Config(_Strict):
    reward: RewardConfig = RewardConfig()
    multi_turn: MultiTurnConfig = MultiTurnConfig()
    execution: ExecutionConfig = ExecutionConfig()
    optimization: OptimizationConfig = OptimizationConfig()
    grpo: GRPOConfig = GRPOConfig()
    logging: LoggingConfig = LoggingConfig()
    data: DataConfig = DataConfig()
    verl: VerlConfig = VerlConfig()


def _set_dotted(d: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    cur = d
    for k in keys[:-1]:
        nxt = cur.get(k)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[k] = nxt
        cur = nxt
    cur[keys[-1]] = value


def _parse_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError(f"override {item!r}: expected section.key=value")
    key, raw = item.split("=", 1)
    key = key.strip().lstrip("+")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def _fields_at(loc: tuple) -> list[str]:
    """The keys the model at ``loc`` (a path of section names from :class:`Config`) accepts."""
    model: Any = Config
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        model = field.annotation if field is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return list(model.model_fields)


def did_you_mean(loc: tuple) -> str:
    """`` did you mean <key>?`` for the closest known key to the unknown one at ``loc``, or ``""``.

    Args:
        loc: the unknown key's path, e.g. ``("reward", "schema_wieght")``.

    Returns:
        The hint, with a leading ``;``, or an empty string when nothing is close.

    >>> did_you_mean(("reward", "schema_wieght"))
    '; did you mean reward.schema_weight?'
    >>> did_you_mean(("reward", "zzz"))
    ''
    """
    close = difflib.get_close_matches(str(loc[-1]), _fields_at(loc[:-1]), n=1, cutoff=0.6)
    return f"; did you mean {'.'.join([*map(str, loc[:-1]), close[0]])}?" if close else ""


def _format_error(err: ValidationError, data: Mapping) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"])
        got = data
        for part in e["loc"]:
            got = got.get(part) if isinstance(got, Mapping) else None
        msg, hint = e["msg"], ""
        if e["type"] == "extra_forbidden":
            msg, hint = "unknown key", did_you_mean(tuple(e["loc"]))
        lines.append(f"{loc}: {msg} (got {got!r}){hint}")
    return "; ".join(lines)


def config_from_dict(data: Mapping[str, Any]) -> Config:
    try:
        return Config.model_validate(dict(data))
    except ValidationError as err:
        raise ConfigError(_format_error(err, data)) from None


PACKAGED_CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")


def config_path(path: str | os.PathLike) -> str:
    """``path`` itself when it exists, else the shipped example config of that name (``configs/<name>.yaml``).

    Installed from a wheel, ``load_config("configs/train_24gb.yaml")`` works from any folder.

    >>> os.path.exists(config_path("configs/demo_cpu.yaml"))  # from any folder
    True
    """
    text = os.fspath(path)
    if os.path.exists(text) or os.path.isabs(text):
        return text
    head, name = os.path.split(os.path.normpath(text))
    shipped = os.path.join(PACKAGED_CONFIGS, name)
    return shipped if head in ("", "configs") and os.path.exists(shipped) else text


def load_config(
    path: str | os.PathLike | None = None,
    *,
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
    env: bool = True,
) -> Config:
    """Load a YAML config (or defaults), apply environment and explicit overrides, validate.

    ``path`` defaults to ``$EXTENSIONS_CONFIG`` when set. Raises
    :class:`~extensions.errors.ConfigError` naming the offending key.
    """
    if path is None and env and os.environ.get(CONFIG_ENV):
        path = os.environ[CONFIG_ENV]
    data: dict[str, Any] = {}
    if path is not None:
        path = config_path(path)
        try:
            with open(path) as fh:
                loaded = yaml.safe_load(fh) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {os.fspath(path)}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {os.fspath(path)} is not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {os.fspath(path)}: top level must be a mapping")
        data = loaded
    if env:
        for k, v in os.environ.items():
            if k.startswith(ENV_PREFIX):
                dotted = k[len(ENV_PREFIX) :].lower().replace("__", ".")
                _set_dotted(data, dotted, _parse_override(f"{dotted}={v}")[1])
    if overrides:
        items = overrides.items() if isinstance(overrides, Mapping) else (_parse_override(o) for o in overrides)
        for k, v in items:
            _set_dotted(data, k, v)
    return config_from_dict(data)


def dump_config(cfg: Config, path: str) -> None:
    """Write the fully resolved config as YAML."""
    with open(path, "w") as fh:
        yaml.safe_dump(cfg.model_dump(mode="json"), fh, sort_keys=False)


def validate_config(cfg: Config, *, need_gpu: bool = False) -> list[str]:
    """Problems that would make a training run fail or waste time.

    Args:
        cfg: the run's configuration.
        need_gpu: also check that a GPU is there for 4-bit loading, bf16 and vLLM.

    Returns:
        One message per problem, naming the keys; empty when the configuration is fine.

    >>> validate_config(load_config(overrides=["grpo.num_generations=3"]))  # doctest: +NORMALIZE_WHITESPACE
    ['grpo.num_generations=3 must divide the effective batch (optimization.batch_size x
    gradient_accumulation_steps = 16)']
    """
    problems = []
    o, g = cfg.optimization, cfg.grpo
    effective = o.batch_size * o.gradient_accumulation_steps
    if effective % g.num_generations != 0 and o.batch_size % g.num_generations != 0:
        problems.append(
            f"grpo.num_generations={g.num_generations} must divide the effective batch "
            f"(optimization.batch_size x gradient_accumulation_steps = {o.batch_size * o.gradient_accumulation_steps})"
        )
    if o.lora.enabled and not o.lora.target_modules:
        problems.append("optimization.lora.target_modules is empty while LoRA is enabled")
    if o.load_in_4bit and not o.lora.enabled:
        problems.append(
            "optimization.load_in_4bit needs LoRA (optimization.lora.enabled=true): "
            "4-bit weights cannot be trained directly"
        )
    if need_gpu:
        try:
            import torch

            has_cuda = torch.cuda.is_available()
        except ImportError:
            has_cuda = False
        if not has_cuda and (o.load_in_4bit or o.mixed_precision == "bf16" or g.use_vllm):
            problems.append(
                "a GPU is required for load_in_4bit / bf16 / vLLM, and none is available (use --demo or set them off)"
            )
    r = cfg.reward
    if r.enable_enhanced and r.syntax_weight == r.schema_weight == r.structural_weight == r.result_weight == 0:
        problems.append("reward.enable_enhanced is true but every shaping weight is 0")
    return problems


def check_config(cfg: Config, *, need_gpu: bool = False) -> None:
    """Raise :class:`~extensions.errors.ConfigError` listing every problem found by :func:`validate_config`.

    Args:
        cfg: the run's configuration.
        need_gpu: as in :func:`validate_config`.

    Raises:
        extensions.errors.ConfigError: at least one problem was found.
    """
    problems = validate_config(cfg, need_gpu=need_gpu)
    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(problems))
