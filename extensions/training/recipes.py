"""The recipes of the demo, the ablation and the multi-turn runs, read from ``configs/recipes.yaml``.

The file ships with the package (``extensions/configs/recipes.yaml``) and holds the step counts, the SFT
warm-up's rules (learning rate, batch), the tiny toy model's settings and the multi-turn sizes. The pydantic
models below validate it: an unknown key, a missing one or a learning rate given twice stops with a
:class:`~extensions.errors.ConfigError` that names it.

>>> r = recipes()
>>> r.demo.tiny.sft_steps, r.demo.tiny.steps, r.ablation.spider.steps, r.ablation.spider.sft_steps
(400, 30, 30, 60)
"""

from __future__ import annotations

import difflib
import functools
import os
import pathlib
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from extensions.config import Config, load_config
from extensions.errors import ConfigError

RECIPES_FILE = "configs/recipes.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_overrides(overrides: tuple[str, ...]) -> tuple[str, ...]:
    """Overrides that apply to the default run config (a misspelt key fails here, not mid-run)."""
    load_config(overrides=list(overrides), env=False)
    return overrides


class SftRule(_Strict):
    """How an SFT warm-up sets its learning rate and batch."""

    lr: float | None = Field(None, gt=0, description="a fixed learning rate")
    lr_multiplier: float | None = Field(
        None, gt=0, description="else this x optimization.learning_rate, unless optimization.sft_learning_rate is set"
    )
    batch: int = Field(gt=0, description="rows per optimizer step")
    cpu_micro_batch: int | None = Field(None, gt=0, description="rows per forward pass of a real model on a CPU")

    @model_validator(mode="after")
    def _one_learning_rate(self) -> SftRule:
        if (self.lr is None) == (self.lr_multiplier is None):
            raise ValueError("give exactly one of lr and lr_multiplier")
        return self

    def learning_rate(self, cfg: Config) -> float:
        """The warm-up's learning rate for a run configuration.

        Args:
            cfg: the run configuration (``optimization.learning_rate`` and ``sft_learning_rate``).

        Returns:
            ``lr`` when fixed; else ``optimization.sft_learning_rate`` when set, else ``lr_multiplier`` x
            ``optimization.learning_rate``.

        >>> cfg = load_config(overrides=["optimization.learning_rate=1e-5"])
        >>> SftRule(lr_multiplier=10, batch=8).learning_rate(cfg), SftRule(lr=3e-3, batch=8).learning_rate(cfg)
        (0.0001, 0.003)
        """
        if self.lr is not None:
            return self.lr
        o = cfg.optimization
        if o.sft_learning_rate is not None:
            return o.sft_learning_rate
        return round(o.learning_rate * (self.lr_multiplier or 0.0), 12)


class SftRules(_Strict):
    """The SFT rules: a real model's, the tiny model's, the tiny model's tool-transcript warm-up."""

    real: SftRule
    tiny: SftRule
    tiny_tools: SftRule


class TinyModel(_Strict):
    """What the tiny toy model needs on top of any run config, and its completion budget."""

    overrides: tuple[str, ...]
    max_response: int = Field(gt=0)

    _overrides_apply = field_validator("overrides")(_check_overrides)


class StepRecipe(_Strict):
    """Step counts of one run, and what else it changes."""

    steps: int = Field(ge=0, description="GRPO optimizer steps")
    sft_steps: int = Field(ge=0, description="SFT warm-up steps")
    heldout: int | None = Field(None, gt=0, description="held-out prompts measured (None: all)")
    config: str | None = Field(None, description="the run config file")
    overrides: tuple[str, ...] = Field((), description="config overrides (before --set)")

    _overrides_apply = field_validator("overrides")(_check_overrides)


class DemoRecipes(_Strict):
    """``train_colab.py --demo``: the tiny model, SmolLM2 (any other model) and the multi-turn demo."""

    tiny: StepRecipe
    smollm2: StepRecipe
    multi_turn: StepRecipe


class AblationRecipes(_Strict):
    """``python -m extensions.ablation``: SmolLM2 on the demo data, on Spider, and the tiny model on either."""

    demo: StepRecipe
    spider: StepRecipe
    tiny: StepRecipe


class MultiTurnTiny(_Strict):
    """Multi-turn sizes of the tiny model: tokens per episode, rows and characters per tool answer."""

    max_response: int = Field(gt=0)
    tool_rows: int = Field(gt=0)
    tool_chars: int = Field(gt=0)


class Recipes(_Strict):
    """The whole recipe file."""

    sft: SftRules
    tiny: TinyModel
    demo: DemoRecipes
    ablation: AblationRecipes
    multi_turn_tiny: MultiTurnTiny

    def sft_rule(self, tiny: bool, tools: bool = False) -> SftRule:
        """The SFT rule of a run.

        Args:
            tiny: the tiny toy model.
            tools: the tool-transcript warm-up (multi-turn).

        Returns:
            ``sft.tiny_tools`` for the tiny model on transcripts, ``sft.tiny`` for it otherwise, else ``sft.real``.

        >>> recipes().sft_rule(tiny=True, tools=True).batch
        4
        """
        if not tiny:
            return self.sft.real
        return self.sft.tiny_tools if tools else self.sft.tiny


def _where(loc: tuple[Any, ...]) -> str:
    """A location's hint: the known key closest to a misspelt one."""
    model: Any = Recipes
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        model = field.annotation if field is not None else None
    known = list(getattr(model, "model_fields", {}))
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _message(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            lines.append(f"{loc}: unknown key{_where(tuple(e['loc']))}")
        else:
            lines.append(f"{loc}: {e['msg']}")
    return "; ".join(lines)


def load_recipes(path: str | os.PathLike | None = None) -> Recipes:
    """Read and validate a recipe file.

    Args:
        path: a YAML file; None reads the packaged ``configs/recipes.yaml`` (a wheel's or a checkout's).

    Returns:
        The validated :class:`Recipes`.

    Raises:
        ConfigError: the file is missing, is not YAML, or does not match the models (the message names the key).

    >>> load_recipes().ablation.demo.config
    'configs/demo_cpu.yaml'
    """
    source = resources.files("extensions").joinpath(RECIPES_FILE) if path is None else pathlib.Path(path)
    name = RECIPES_FILE if path is None else os.fspath(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"recipe file not found: {name}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"recipe file {name} is not valid YAML: {exc}") from None
    try:
        return Recipes.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"recipe file {name}: {_message(err)}") from None


@functools.cache
def recipes() -> Recipes:
    """The packaged recipes, read once.

    Returns:
        :func:`load_recipes` of the packaged file.

    >>> recipes().demo.smollm2.heldout
    64
    """
    return load_recipes()
