"""An ablation's plan: arms, seeds and the recipe they share, each arm's config and a result's provenance.

>>> cluster_unit("spider")
'database'
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from extensions.config import Config, load_config
from extensions.rewards.arms import ARM_OVERRIDES as ARMS


@dataclass
class Plan:
    """Everything one ablation does; printed by ``--dry-run`` and stored as ``OUT/plan.json``."""

    arms: list[str]
    seeds: list[int]
    steps: int
    sft_warmup: int
    config_file: str
    model: str
    out: str
    overrides: list[str] = field(default_factory=list)
    threads: int | None = None
    heldout_limit: int | None = None
    data: str = "demo"
    run_seeds: list[int] | None = None  # the seeds this process runs (default: all); not part of the recipe

    def arm_overrides(self, arm: str | None) -> list[str]:
        """The config overrides of ``arm``: the model's and the plan's own, then the arm's reward switches.

        Args:
            arm: an arm name, or None for the config every arm shares (the SFT warm-up's).

        Returns:
            ``section.key=value`` strings.
        """
        from extensions.training.model import is_tiny
        from extensions.training.recipes import recipes

        return [
            f"optimization.model_name={self.model}",
            *(recipes().tiny.overrides if is_tiny(self.model) else []),
            *self.overrides,
            *(ARMS[arm] if arm else []),
        ]

    def recipe(self) -> dict[str, Any]:
        """What every (arm, seed) of the plan shares; its digest is each result's ``plan_hash``.

        The arm list and the seeds are not part of it: a plan may grow by arms and seeds, never change recipe.
        """
        with open(self.config_file, "rb") as fh:
            config_digest = hashlib.sha256(fh.read()).hexdigest()[:16]
        return {
            "steps": self.steps,
            "sft_warmup": self.sft_warmup,
            "config_file": os.path.basename(self.config_file),
            "config_file_sha256": config_digest,
            "model": self.model,
            "overrides": self.overrides,
            "threads": self.threads,
            "heldout_limit": self.heldout_limit,
            "data": self.data,
        }

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data: the recipe, each arm's overrides, the seeds and the statistics used."""
        from extensions.training.provenance import digest
        from extensions.training.stats import CLUSTERED

        recipe = self.recipe()
        return {
            **recipe,
            "plan_hash": digest(recipe),
            "arms": {a: ARMS[a] for a in self.arms},
            "seeds": self.seeds,
            "test": CLUSTERED.format(unit=cluster_unit(self.data)),
        }


def cluster_unit(data: str) -> str:
    """The statistics' cluster: held-out databases for Spider, skeleton groups for the bundled demo.

    >>> cluster_unit("spider"), cluster_unit("demo")
    ('database', 'skeleton')
    """
    return "database" if data == "spider" else "skeleton"


def load_arm_config(plan: Plan, arm: str | None) -> Config:
    """The config of one arm (None: the shared config): the plan's file, model, overrides, the arm's switches."""
    return load_config(plan.config_file, overrides=plan.arm_overrides(arm))


def provenance(plan: Plan, arm: str | None) -> dict[str, Any]:
    """The provenance a result of ``arm`` (None: the seed's SFT warm-up) made now would record."""
    from extensions.training.provenance import digest, record

    return record(load_arm_config(plan, arm).model_dump(mode="json"), plan.model, digest(plan.recipe()))
