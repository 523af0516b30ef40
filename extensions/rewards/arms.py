"""Named shaping configurations ("arms") for ablations: each is a set of ``reward.*`` config overrides.

An arm changes only the reward; the baseline preset comes from the config it is applied to
(``reward.baseline``, ``arctic`` by default). Apply one with ``load_config(path, overrides=ARMS[name])``,
or as ``--set`` strings with :func:`arm_overrides`.

=============== =====================================================================================
arm             reward
=============== =====================================================================================
``baseline``    the preset alone, no shaping
``schema``      + the hallucination penalty only
``structural``  + structural credit only
``syntax``      + syntax credit only
``all``         + every default shaping component (penalty, structural, syntax), the wide band
``all_narrow``  ``all`` with wrong answers held to at most 0.3 of the correct reward
``result``      + the result-table Soft F1 only
``all_result``  ``all`` + the result-table Soft F1
=============== =====================================================================================

>>> sorted(ARMS)
['all', 'all_narrow', 'all_result', 'baseline', 'result', 'schema', 'structural', 'syntax']
>>> ARMS["all_narrow"]["reward.wrong_ceiling"]
0.3
>>> arm_overrides("baseline")
['reward.enable_enhanced=false']
"""

from __future__ import annotations

import json
from typing import Any

WIDE_CEILING = 1.0  # wrong answers may reach the correct reward minus ``reward.margin``
NARROW_CEILING = 0.3
RESULT_WEIGHT = 0.5

_OFF = {
    "reward.schema_weight": 0.0,
    "reward.structural_weight": 0.0,
    "reward.syntax_weight": 0.0,
    "reward.result_weight": 0.0,
}
_SHAPED = {"reward.enable_enhanced": True, "reward.wrong_ceiling": WIDE_CEILING}


def _only(key: str, value: float | None = None) -> dict[str, Any]:
    """Shaping on, every component off except ``key`` (kept at its configured weight unless ``value``)."""
    arm = {**_SHAPED, **_OFF}
    if value is None:
        arm.pop(key)
    else:
        arm[key] = value
    return arm


ARMS: dict[str, dict[str, Any]] = {
    "baseline": {"reward.enable_enhanced": False},
    "schema": _only("reward.schema_weight"),
    "structural": _only("reward.structural_weight"),
    "syntax": _only("reward.syntax_weight"),
    "all": {**_SHAPED, "reward.result_weight": 0.0},
    "all_narrow": {**_SHAPED, "reward.result_weight": 0.0, "reward.wrong_ceiling": NARROW_CEILING},
    "result": _only("reward.result_weight", RESULT_WEIGHT),
    "all_result": {**_SHAPED, "reward.result_weight": RESULT_WEIGHT},
}


def arm_overrides(name: str) -> list[str]:
    """The overrides of arm ``name`` as ``section.key=value`` strings (the ``--set`` form).

    Args:
        name: a key of :data:`ARMS`.

    Returns:
        One ``key=value`` string per override, values in YAML/JSON form.

    >>> "reward.wrong_ceiling=0.3" in arm_overrides("all_narrow")
    True
    """
    return [f"{key}={json.dumps(value)}" for key, value in ARMS[name].items()]


ARM_OVERRIDES: dict[str, list[str]] = {name: arm_overrides(name) for name in ARMS}
