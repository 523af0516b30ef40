"""Provenance of a training result: the code's commit, the resolved config, the model file and the plan.

A result file records :func:`record`; a resumed run reuses a result only when every field still matches
(:func:`mismatches`), and a collection refuses results that disagree with each other.

>>> mismatches({"commit": "a", "config_hash": "x"}, {"commit": "b", "config_hash": "x"})
['commit']
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

from extensions._util.version import code_version

FIELDS = ("commit", "dirty", "config_hash", "model_hash", "plan_hash", "platform")
LIBRARIES = ("torch", "transformers", "trl", "peft", "sqlglot")


def digest(obj: Any) -> str:
    """A short SHA-256 of ``obj`` as canonical JSON (sorted keys).

    Args:
        obj: JSON-ready data.

    Returns:
        16 hex digits.

    >>> digest({"b": 1, "a": 2}) == digest({"a": 2, "b": 1})
    True
    """
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def model_hash(name: str) -> str:
    """A fingerprint of the weights ``name`` loads: SHA-256 of the file(s) they come from.

    Args:
        name: ``optimization.model_name`` (``smollm2-135m``, ``tiny``, a local folder or a hub name).

    Returns:
        ``sha256:<16 hex>`` of the SmolLM2 GGUF file or a local folder's weight files; ``tiny`` (built from
        code and the seed); ``name:<name>`` for a hub name (resolved by the hub cache, not hashed here).
    """
    from extensions.training.model import is_tiny
    from extensions.training.smollm import GGUF_FILE, gguf_folder, is_smollm2

    if is_tiny(name):
        return "tiny"
    if is_smollm2(name):
        files = [os.path.join(gguf_folder(), GGUF_FILE)]
    elif os.path.isdir(name):
        files = sorted(os.path.join(name, f) for f in os.listdir(name) if f.endswith((".safetensors", ".bin", ".gguf")))
    else:
        return f"name:{name}"
    h = hashlib.sha256()
    for path in files:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return "sha256:" + h.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def platform_id() -> str:
    """What else decides a run's numbers: the training libraries' versions and the CPU's matrix instructions.

    Returns:
        ``torch=2.13.0 transformers=... cpu=amx_bf16`` (``cpu=`` names the best of ``amx_bf16``,
        ``avx512_bf16``, ``avx512f``, ``avx2`` the CPU reports, or ``other``).
    """
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for lib in LIBRARIES:
        try:
            parts.append(f"{lib}={version(lib)}")
        except PackageNotFoundError:
            parts.append(f"{lib}=none")
    try:
        with open("/proc/cpuinfo") as fh:
            flags = set(fh.read().split())
    except OSError:
        flags = set()
    cpu = next((f for f in ("amx_bf16", "avx512_bf16", "avx512f", "avx2") if f in flags), "other")
    return " ".join([*parts, f"cpu={cpu}"])


def record(config: Mapping[str, Any], model: str, plan_hash: str) -> dict[str, Any]:
    """The provenance of a result produced now, by this code, with ``config`` and ``model``.

    Args:
        config: the fully resolved config (``Config.model_dump(mode="json")``).
        model: ``optimization.model_name``.
        plan_hash: :func:`digest` of the plan's recipe.

    Returns:
        ``{"commit", "dirty", "config_hash", "model_hash", "plan_hash", "platform"}``.
    """
    commit, dirty = code_version()
    return {
        "commit": commit,
        "dirty": dirty,
        "config_hash": digest(dict(config)),
        "model_hash": model_hash(model),
        "plan_hash": plan_hash,
        "platform": platform_id(),
    }


def mismatches(stored: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[str]:
    """The provenance fields in which a stored result differs from the current run.

    Args:
        stored: the result's ``provenance`` (None: a result written before provenance existed).
        current: :func:`record` of the current run.

    Returns:
        The differing field names (all of :data:`FIELDS` for a result without provenance); empty: reusable.

    >>> mismatches(None, {"commit": "a"})
    ['commit', 'dirty', 'config_hash', 'model_hash', 'plan_hash', 'platform']
    """
    if not stored:
        return list(FIELDS)
    return [f for f in FIELDS if f in current and stored.get(f) != current.get(f)]
