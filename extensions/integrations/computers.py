"""One reward computer per configuration and process, for the adapters that take ``config``/``overrides`` keywords.

>>> get_computer(overrides=["reward.baseline=arctic"]) is get_computer(overrides="reward.baseline=arctic")
True
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from extensions._util.forksafe import ForkSafeLock
from extensions.config import CONFIG_ENV, Config, load_config
from extensions.errors import ConfigError
from extensions.rewards.combine import RewardComputer

CONFIG_KWARGS = ("config", "overrides", "db_root")

_lock = ForkSafeLock()
_computers: dict[tuple, RewardComputer | ConfigError] = {}


def config_key(kwargs: Mapping[str, Any], ignored: Iterable[str] = ()) -> tuple[str, tuple[str, ...], str]:
    """``(config path, overrides, db_root)`` of an adapter call's keywords.

    verl calls the hook once per sample with the same keywords, so the key is worked out once per distinct
    keywords (and ``$EXTENSIONS_CONFIG``) and remembered.

    Args:
        kwargs: ``config`` (a YAML path; else ``$EXTENSIONS_CONFIG``), ``overrides`` (``section.key=value``
            items, a list or a comma-separated string) and ``db_root``.
        ignored: other keywords the caller's library passes and that are not ours.

    Returns:
        A hashable key; one computer is built per distinct key.

    Raises:
        ConfigError: an unknown keyword (a misspelling) or an ``overrides`` value that is not a list or a string.

    >>> config_key({"overrides": "reward.baseline=arctic, data.db_root=/d"})[1]
    ('reward.baseline=arctic', 'data.db_root=/d')
    """
    global _LAST
    env = config_env()
    last = _LAST  # one read: another thread replaces the whole tuple
    if last is not None and last[1] is ignored and last[2] == env and last[0] == kwargs:
        return last[3]
    overrides = kwargs.get("overrides")
    args = (
        tuple(kwargs),
        tuple(ignored),
        kwargs.get("config"),
        tuple(overrides) if isinstance(overrides, list) else overrides,
        kwargs.get("db_root"),
        env,
    )
    try:
        key = _config_key(*args)
    except TypeError:  # an unhashable value: worked out without the memo
        return _config_key.__wrapped__(*args)
    snapshot = _plain_copy(kwargs)
    if snapshot is not None:
        _LAST = (snapshot, ignored, env, key)
    return key


# The last keywords config_key saw (a copy of plain values), the ignored names, $EXTENSIONS_CONFIG and the key:
# verl passes the same reward_kwargs with every sample, so most calls compare one small dict and return.
_LAST: tuple[dict[str, Any], Iterable[str], str | None, tuple[str, tuple[str, ...], str]] | None = None


def _plain_copy(kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    """A copy of ``kwargs`` when every value is None, a string, or a list or tuple of strings (else None).

    Only such values compare by content in a way no later change to the caller's objects can fool: a list
    is copied, the rest cannot change.
    """
    out: dict[str, Any] = {}
    for k, v in kwargs.items():
        if v is None or type(v) is str:
            out[k] = v
        elif type(v) in (list, tuple) and all(type(x) is str for x in v):
            out[k] = list(v) if type(v) is list else v
        else:
            return None
    return out


def config_env() -> str | None:
    """``os.environ.get(CONFIG_ENV)``, read on every call, without the exception a missing variable costs there.

    ``os.environ`` keeps the process's variables in a dict of encoded names; an unset variable makes
    ``get`` raise and catch a ``KeyError`` in Python code, a third of a verl hook call's own work.

    Returns:
        The variable's value, or None when it is not set.

    >>> os.environ[CONFIG_ENV] = "a.yaml"; config_env()
    'a.yaml'
    >>> del os.environ[CONFIG_ENV]; config_env() is None
    True
    """
    env = os.environ
    data = getattr(env, "_data", None)
    if type(env) is not os._Environ or type(data) is not dict:  # replaced (a test's dict): ask it
        return env.get(CONFIG_ENV)
    cached = _ENCODED
    if cached is None or cached[0] is not env:
        cached = _remember_encoded(env)
    raw = data.get(cached[1])
    return None if raw is None else env.decodevalue(raw)


_ENCODED: tuple[Any, Any] | None = None  # (os.environ, CONFIG_ENV as it encodes names)


def _remember_encoded(env: Any) -> tuple[Any, Any]:
    global _ENCODED
    _ENCODED = (env, env.encodekey(CONFIG_ENV))
    return _ENCODED


@functools.lru_cache(maxsize=256)
def _config_key(
    names: tuple[str, ...], ignored: tuple[str, ...], config: Any, overrides: Any, db_root: Any, env: str | None
) -> tuple[str, tuple[str, ...], str]:
    skip = set(ignored)
    unknown = sorted(k for k in names if k not in CONFIG_KWARGS and k not in skip)
    if unknown:
        raise ConfigError(f"reward_kwargs.{unknown[0]}: unknown key (expected one of {', '.join(CONFIG_KWARGS)})")
    overrides = overrides or ()
    if isinstance(overrides, str):
        overrides = tuple(o.strip() for o in overrides.split(",") if o.strip())
    elif hasattr(overrides, "__iter__") and not isinstance(overrides, Mapping):
        overrides = tuple(str(o) for o in overrides)
    else:
        raise ConfigError(
            f"reward_kwargs.overrides: expected a list or a comma-separated string, got {type(overrides).__name__}"
        )
    return (str(config or env or ""), overrides, str(db_root or ""))


Adapt = Callable[[Config], Config]


def _build(key: tuple[str, tuple[str, ...], str], adapt: Adapt | None) -> RewardComputer | ConfigError:
    path, overrides, db_root = key
    ov = list(overrides) + ([f"data.db_root={db_root}"] if db_root else [])
    try:
        cfg = load_config(path or None, overrides=ov)
        return RewardComputer(adapt(cfg) if adapt else cfg)
    except ConfigError as exc:
        return exc
    except Exception as exc:  # anything else a config can trigger while building
        return ConfigError(f"cannot build the reward from config {path or '(defaults)'}: {type(exc).__name__}: {exc}")


def get_computer(ignored: Iterable[str] = (), adapt: Adapt | None = None, **kwargs: Any) -> RewardComputer:
    """The process-wide computer for these keywords (built once, thread-safe).

    Args:
        ignored: keywords of the calling library that are not ours.
        adapt: a change the calling adapter makes to the loaded config where it runs (the verl hook sizes the
            worker pool from the node's cores); one computer per adapter and keywords.
        **kwargs: ``config``, ``overrides``, ``db_root``.

    Returns:
        The computer; the same object for the same configuration.

    Raises:
        ConfigError: the configuration cannot be built; the message names the key. Raised again on every call.
    """
    return computer_for(config_key(kwargs, ignored), adapt)


def computer_for(key: tuple[str, tuple[str, ...], str], adapt: Adapt | None = None) -> RewardComputer:
    """The process-wide computer for a :func:`config_key` (built once, thread-safe).

    Args:
        key: what :func:`config_key` returned.
        adapt: as in :func:`get_computer`.

    Returns:
        The computer.

    Raises:
        ConfigError: the configuration cannot be built; raised again on every call.

    >>> computer_for(config_key({})) is get_computer()
    True
    """
    cache_key = (*key, getattr(adapt, "__qualname__", ""))
    comp = _computers.get(cache_key)
    if comp is None:
        with _lock:
            comp = _computers.get(cache_key)
            if comp is None:
                comp = _computers[cache_key] = _build(key, adapt)
    if isinstance(comp, ConfigError):
        raise comp
    return comp
