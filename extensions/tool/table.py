"""The compact, deterministic text table a query answers the model with.

Column names on the first line, then one line per row, cells separated by `` | ``; every cell and
the whole text are capped, and the last line states how many rows there were and how many are shown.

>>> print(render_table(("name", "age"), (("Ann", 31), ("Bo", None))))
name | age
Ann | 31
Bo | NULL
(2 rows)
>>> print(render_table(("n",), tuple((i,) for i in range(5)), max_rows=2))
n
0
1
(5 rows; first 2 shown)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ELLIPSIS = "…"


def clean_text(text: str, limit: int) -> str:
    """``text`` on one line, printable, at most ``limit`` characters (cut with ``…``).

    Control characters, line breaks, lone surrogates and other unprintable characters become spaces.

    Args:
        text: any string.
        limit: the most characters kept (at least 1).

    Returns:
        The cleaned text.

    >>> clean_text("a\\nb\\x00c" + "d" * 10, 6)
    'a b c…'
    """
    out = "".join(ch if ch.isprintable() else " " for ch in text[: limit + 1])
    return out if len(out) <= limit else out[: max(0, limit - 1)] + ELLIPSIS


def cell_text(value: Any, limit: int, cut_at: int = -1) -> str:
    """One cell: ``NULL``, a number, ``<blob N bytes>`` or the cleaned text, at most ``limit`` characters.

    Args:
        value: a value SQLite returned (None, int, float, str or bytes).
        limit: the most characters kept.
        cut_at: the length values were cut to before they came here (-1: whole); a blob of that
            length shows as ``<blob N+ bytes>``.

    Returns:
        The cell's text.

    >>> cell_text(0.1 + 0.2, 20), cell_text(b"\\x00\\x01", 20), cell_text(None, 20), cell_text(b"abc", 20, 3)
    ('0.3', '<blob 2 bytes>', 'NULL', '<blob 3+ bytes>')
    """
    if value is None:
        text = "NULL"
    elif isinstance(value, float):
        text = format(value, ".10g")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        n = len(bytes(value))
        text = f"<blob {n}+ bytes>" if n == cut_at else f"<blob {n} bytes>"
    else:
        text = str(value)
    return clean_text(text, limit)


def _footer(total: int, shown: int) -> str:
    noun = "row" if total == 1 else "rows"
    return f"({total} {noun})" if shown == total else f"({total} {noun}; first {shown} shown)"


def render_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    max_rows: int = 10,
    max_cell_chars: int = 40,
    max_chars: int = 1200,
    total_rows: int | None = None,
    cut_at: int = -1,
) -> str:
    """The table text: header, at most ``max_rows`` rows, a footer; at most ``max_chars`` characters.

    Rows that would push the text past ``max_chars`` are left out (the footer says how many are
    shown); a header longer than the budget is cut.

    Args:
        columns: the column names.
        rows: the result rows (the first ones, when ``total_rows`` counts more).
        max_rows: the most rows shown.
        max_cell_chars: the most characters per cell (and per column name).
        max_chars: the most characters in all.
        total_rows: how many rows the result has (default: ``len(rows)``).
        cut_at: the length values were cut to before they came here (see :func:`cell_text`).

    Returns:
        The table as text.

    >>> len(render_table(("x",), [("y" * 100,)] * 100, max_chars=200)) <= 200
    True
    """
    total = len(rows) if total_rows is None else total_rows
    header = clean_text(" | ".join(clean_text(str(c), max_cell_chars) for c in columns), max(1, max_chars // 2))
    lines = [header]
    used = len(header) + 1
    shown = 0
    footer_room = len(_footer(total, 0)) + 16
    for row in rows[:max_rows]:
        line = " | ".join(cell_text(v, max_cell_chars, cut_at) for v in row)
        if used + len(line) + 1 + footer_room > max_chars:
            break
        lines.append(line)
        used += len(line) + 1
        shown += 1
    lines.append(_footer(total, shown))
    return "\n".join(lines)[:max_chars]
