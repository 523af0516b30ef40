"""Linear-time nesting checks that run before any recursive parser sees untrusted text.

A recursive-descent parser (sqlglot, ``json``) recurses once per nesting
level; when a host has raised ``sys.setrecursionlimit``, deep input overflows
the C stack (SIGSEGV) before ``RecursionError`` can fire. These scans bound
the depth first, in one pass, without recursion.

>>> bracket_depth("f(g(x), [1, (2)])")
3
>>> json_loads_bounded('{"sql": "SELECT 1"}')
{'sql': 'SELECT 1'}
>>> json_loads_bounded("[" * 10_000 + "]" * 10_000)
Traceback (most recent call last):
...
ValueError: JSON nested deeper than 64 levels
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 64

_BRACKETS = re.compile(r"[()\[\]{}]")


def bracket_depth(text: str) -> int:
    """The deepest nesting of ``()``, ``[]`` and ``{}`` in ``text``, quotes ignored.

    Args:
        text: any text.

    Returns:
        The maximum number of simultaneously open brackets (unbalanced closers count as 0).

    >>> bracket_depth("((a)")
    2
    """
    depth = best = 0
    for m in _BRACKETS.finditer(text):
        if m.group() in "([{":
            depth += 1
            if depth > best:
                best = depth
        elif depth:
            depth -= 1
    return best


def json_loads_bounded(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses input nested deeper than ``max_depth`` before parsing.

    Args:
        text: JSON text (bytes are decoded as UTF-8).
        max_depth: the deepest nesting of arrays and objects accepted.

    Returns:
        The decoded value.

    Raises:
        ValueError: invalid JSON (``json.JSONDecodeError``) or nesting deeper than ``max_depth``.

    >>> json_loads_bounded("[[1]]", max_depth=1)
    Traceback (most recent call last):
    ...
    ValueError: JSON nested deeper than 1 levels
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    if bracket_depth(text) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return json.loads(text)
