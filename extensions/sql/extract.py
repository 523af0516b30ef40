"""Pull the SQL out of a model completion, with a format verdict.

Three styles are understood:

* ``sql_r1``: ``<think>...</think><answer>```sql ...```</answer>``. The format is
  correct only if each of the four tags appears exactly once, in that order,
  and the answer holds a fenced ``sql`` block (``require_sql_block``).
* ``omnisql`` (Arctic-Text2SQL-R1, OmniSQL): the last fenced ``sql`` block.
* ``plain``: the whole text is the SQL.
* ``auto`` (default): ``sql_r1`` if an ``<answer>`` tag is present, else
  ``omnisql`` if a code fence is present, else ``plain``.

Every routine here is linear in the length of the text (``str.find``,
``str.count`` and slicing only; no backtracking regular expressions), so
megabytes of text or thousands of repeated tags cost milliseconds.

>>> e = extract_sql("<think>count them</think><answer>```sql\\nSELECT count(*) FROM singer\\n```</answer>")
>>> e.sql, e.format_ok, e.style
('SELECT count(*) FROM singer', True, 'sql_r1')
>>> extract_sql("Here you go:\\n```sql\\nSELECT 1\\n```\\nand\\n```sql\\nSELECT 2;\\n```").sql
'SELECT 2'
>>> extract_sql("<think>a</think><think>b</think><answer>```sql SELECT 1```</answer>").format_reason
'duplicate_tag:<think>'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Style = Literal["auto", "sql_r1", "omnisql", "plain"]

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
_TAGS = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)


@dataclass(frozen=True)
class Extraction:
    """What was pulled out of a completion.

    ``sql`` is ``None`` when nothing that could be SQL was found.
    ``format_ok`` is the format verdict for the requested style and
    ``format_reason`` says why (``"ok"`` when it is correct).
    """

    sql: str | None
    format_ok: bool
    format_reason: str
    style: str
    think: str = ""
    answer: str = ""


def _clean(sql: str) -> str | None:
    sql = sql.strip()
    while sql.endswith(";"):
        sql = sql[:-1].rstrip()
    return sql or None


def last_fenced_block(text: str, *, lang: str = "sql") -> str | None:
    """Return the content of the last fenced block tagged ``lang`` (case-insensitive).

    Falls back to the last untagged fence when no tagged one exists. A tagged
    fence that is never closed still yields its content (see :func:`fenced_block`).

    Args:
        text: the completion.
        lang: the fence's info string.

    Returns:
        The block's SQL without trailing ``;``, or None.

    >>> last_fenced_block("```sql\\nSELECT 1\\n``` text ```SQL\\nSELECT 2\\n```")
    'SELECT 2'
    """
    return fenced_block(text, lang=lang)[0]


def fenced_block(text: str, *, lang: str = "sql") -> tuple[str | None, bool]:
    """The last fenced block, as :func:`last_fenced_block` finds it, and whether its fence is closed.

    Args:
        text: the completion.
        lang: the fence's info string.

    Returns:
        ``(sql, closed)``; ``(None, False)`` when there is no block.

    >>> fenced_block("```sql\\nSELECT 1")
    ('SELECT 1', False)
    """
    low = text.lower()
    marker = "```" + lang.lower()
    start = low.rfind(marker)
    if start < 0:
        return _untagged_block(text), True
    body_start = start + len(marker)
    end = text.find("```", body_start)
    body = text[body_start:] if end < 0 else text[body_start:end]
    return _clean(body), end >= 0


def _untagged_block(text: str) -> str | None:
    """The last complete untagged ``` ... ``` pair, skipping an info string such as ```sqlite."""
    close = text.rfind("```")
    if close < 0:
        return None
    open_ = text.rfind("```", 0, close)
    if open_ < 0:
        return None
    body_start = open_ + 3
    nl = text.find("\n", body_start, close)
    if nl >= 0 and text[body_start:nl].strip().isalnum():
        body_start = nl + 1
    return _clean(text[body_start:close])


def _sql_r1(text: str, require_sql_block: bool) -> Extraction:
    counts = {tag: text.count(tag) for tag in _TAGS}
    reason = "ok"
    for tag in _TAGS:
        if counts[tag] == 0:
            reason = f"missing_tag:{tag}"
            break
        if counts[tag] > 1:
            reason = f"duplicate_tag:{tag}"
            break
    think = answer = ""
    if reason == "ok":
        positions = [text.find(tag) for tag in _TAGS]
        if positions != sorted(positions):
            reason = "tags_out_of_order"
        else:
            think = text[positions[0] + len(THINK_OPEN) : positions[1]]
            answer = text[positions[2] + len(ANSWER_OPEN) : positions[3]]
            if text[positions[1] + len(THINK_CLOSE) : positions[2]].strip():
                reason = "text_between_think_and_answer"
    if reason == "ok":
        sql, closed = fenced_block(answer)
        if sql is None:
            sql = _clean(answer)
            if require_sql_block:
                reason = "no_sql_block_in_answer"
        elif not closed:
            reason = "unclosed_fence"
        return Extraction(sql, reason == "ok", reason, "sql_r1", think, answer)
    # Malformed format: still try to recover SQL so execution can be reported,
    # but the format verdict stays False.
    a_open = text.rfind(ANSWER_OPEN)
    region = text[a_open + len(ANSWER_OPEN) :] if a_open >= 0 else text
    a_close = region.find(ANSWER_CLOSE)
    if a_close >= 0:
        region = region[:a_close]
    sql = last_fenced_block(region)
    if sql is None and a_open >= 0:
        sql = _clean(region)
    return Extraction(sql, False, reason, "sql_r1", think, answer)


def extract_sql(
    text: object,
    *,
    style: Style = "auto",
    require_sql_block: bool = True,
) -> Extraction:
    """Extract SQL and a format verdict from ``text``; never raises for text input.

    Non-string input (``None``, numbers) yields ``sql=None`` with
    ``format_reason="not_text"``; bytes are decoded as UTF-8 with replacement.

    Args:
        text: the completion.
        style: ``auto``, ``sql_r1``, ``omnisql`` or ``plain``.
        require_sql_block: ``sql_r1`` only: the answer must hold a fenced ``sql`` block.

    Returns:
        An :class:`Extraction`.

    Raises:
        ValueError: an unknown ``style``.

    >>> extract_sql("```sql\\nSELECT 1").format_reason
    'unclosed_fence'
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        return Extraction(None, False, "not_text", style)
    if not text.strip():
        return Extraction(None, False, "empty", style)
    if style == "auto":
        if ANSWER_OPEN in text or THINK_OPEN in text:
            style = "sql_r1"
        elif "```" in text:
            style = "omnisql"
        else:
            style = "plain"
    if style == "sql_r1":
        return _sql_r1(text, require_sql_block)
    if style == "omnisql":
        sql, closed = fenced_block(text)
        if sql is None:
            return Extraction(None, False, "no_sql_block", "omnisql")
        return Extraction(sql, closed, "ok" if closed else "unclosed_fence", "omnisql")
    if style == "plain":
        sql = _clean(text)
        return Extraction(sql, sql is not None, "ok" if sql else "empty", "plain")
    raise ValueError(f"unknown extraction style {style!r}; allowed: auto, sql_r1, omnisql, plain")
