"""Reward toolkit for text-to-SQL reinforcement learning (distribution ``text2sql-rewards``).

The names most users need come from here: :class:`RewardComputer` (the reward), :func:`load_config`,
:class:`Config` and :class:`RewardConfig`. They load on first use, so ``import extensions`` stays cheap (the
execution engine's worker processes import the package too). The subpackages, one concern each (README,
"Layout"): ``sql``, ``execution``, ``rewards``, ``tool``, ``data``, ``integrations``, ``training``, ``cli``,
with the shared defaults in ``defaults``.

>>> import extensions
>>> extensions.RewardComputer(extensions.load_config().reward).preset
'arctic'
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Config", "RewardComputer", "RewardConfig", "load_config"]


def __getattr__(name: str) -> Any:
    """The public names, imported from their home modules on first use."""
    if name == "RewardComputer":
        from extensions.rewards.combine import RewardComputer

        return RewardComputer
    if name in ("Config", "RewardConfig", "load_config"):
        from extensions import config

        return getattr(config, name)
    raise AttributeError(f"module 'extensions' has no attribute {name!r}")
