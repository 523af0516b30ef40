"""Linear-time nesting checks that run before any recursive parser sees untrusted text.

A recursive-descent parser (sqlglot, ``json``) recurses once per nesting
level; when a host has raised ``sys.setrecursionlimit``, deep input overflows
the C stack (SIGSEGV) before ``RecursionError`` can fire. These scans bound
the depth first, in one pass, without recursion.

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

_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[{]|[\]}]')


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text; brackets inside strings do not count.

    Args:
        text: JSON text (valid or not).

    Returns:
        The maximum number of simultaneously open ``[`` and ``{``.

    >>> json_depth('{"sql": "SELECT ((1))", "x": [[1]]}')
    3
    """
    depth = best = 0
    for m in _JSON_TOKENS.finditer(text):
        ch = m.group()[0]
        if ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return best


def json_loads_bounded(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH, max_chars: int | None = None) -> Any:
    """``json.loads`` that refuses input nested deeper than ``max_depth`` before parsing.

    Args:
        text: JSON text (bytes are decoded as UTF-8).
        max_depth: the deepest nesting of arrays and objects accepted.
        max_chars: when given, longer text is refused before it is scanned.

    Returns:
        The decoded value.

    Raises:
        ValueError: invalid JSON or UTF-8, text over ``max_chars``, or nesting deeper than ``max_depth``.

    >>> json_loads_bounded("[[1]]", max_depth=1)
    Traceback (most recent call last):
    ...
    ValueError: JSON nested deeper than 1 levels
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    if not isinstance(text, str):
        raise ValueError(f"JSON text must be str or bytes, not {type(text).__name__}")
    if max_chars is not None and len(text) > max_chars:
        raise ValueError(f"JSON text longer than {max_chars} characters")
    if json_depth(text) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return json.loads(text)
