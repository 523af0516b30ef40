"""A faster ``__init__`` for the frozen dataclasses built once per statement or sample on the reward path.

The ``__init__`` that ``dataclasses`` writes for a frozen class sets each field through
``object.__setattr__`` (the class's own ``__setattr__`` refuses): a global lookup and a C call per
field. :func:`direct_init` gives the class an ``__init__`` with the same parameters, defaults and
``__post_init__`` call that stores the fields straight into the instance's ``__dict__``, in a
fraction of the time. Equality, hashing, ``repr``, pickling, ``dataclasses.replace`` and
``dataclasses.fields`` read the fields and behave as before; the instances stay frozen.

>>> from dataclasses import dataclass
>>> @direct_init
... @dataclass(frozen=True)
... class Point:
...     x: int
...     y: int = 0
>>> Point(1), Point(1) == Point(1, 0), hash(Point(1)) == hash(Point(1, 0))
(Point(x=1, y=0), True, True)
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

C = TypeVar("C", bound=type)


def direct_init(cls: C) -> C:
    """Replace a frozen dataclass's generated ``__init__`` with one that fills ``__dict__`` directly.

    Args:
        cls: a frozen dataclass without ``__slots__``, whose fields all take part in ``__init__`` and
            have no ``default_factory``.

    Returns:
        ``cls``, with the new ``__init__``.

    Raises:
        TypeError: ``cls`` is not such a dataclass.
    """
    params = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
    frozen = getattr(getattr(cls, "__dataclass_params__", None), "frozen", False)
    if not params or not frozen or "__slots__" in cls.__dict__:
        raise TypeError(f"{cls!r} is not a frozen dataclass with fields and without __slots__")
    env: dict[str, Any] = {}
    args, body = [], ["    d = self.__dict__"]
    for f in params:
        if not f.init or f.default_factory is not dataclasses.MISSING or f.kw_only:
            raise TypeError(f"{cls.__name__}.{f.name}: only plain init fields are supported")
        if f.default is dataclasses.MISSING:
            args.append(f.name)
        else:
            env[f"_default_{f.name}"] = f.default
            args.append(f"{f.name}=_default_{f.name}")
        body.append(f"    d[{f.name!r}] = {f.name}")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    exec("def __init__(self, " + ", ".join(args) + "):\n" + "\n".join(body) + "\n", env)  # noqa: S102
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[misc]
    return cls
