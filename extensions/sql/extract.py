"""Pull the SQL out of a model completion, with a format verdict.

Four styles are understood:

* ``sql_r1``: ``<think>...</think><answer>```sql ...```</answer>``. The format is
  correct only if each of the four tags appears exactly once, in that order,
  and the answer holds a fenced ``sql`` block (``require_sql_block``).
* ``omnisql`` (Arctic-Text2SQL-R1, OmniSQL): the last fenced ``sql`` block.
* ``plain``: the whole text is the SQL.
* ``auto`` (default): ``sql_r1`` if an ``<answer>`` tag is present (or a ``<think>``
  that is never closed). Otherwise the text after the last ``</think>``, if any, is read
  as ``omnisql`` if it holds a code fence, else as ``plain``: a reasoning model that
  thinks aloud and then writes a fenced block is judged on the block.

A fence's info string (```` ```sql ````, ```` ```sqlite ````, ```` ```SQLite ````,
```` ```sql3 ````, ```` ```postgresql title=q ````) never becomes part of the SQL; blocks
whose info word contains ``sql`` are preferred over other languages (see :func:`fenced_block`).

Every routine here is linear in the length of the text (``str.find``,
``str.count``, slicing and two regular expressions without nested quantifiers), so
megabytes of text or thousands of repeated tags cost milliseconds.

>>> e = extract_sql("<think>count them</think><answer>```sql\\nSELECT count(*) FROM singer\\n```</answer>")
>>> e.sql, e.format_ok, e.style
('SELECT count(*) FROM singer', True, 'sql_r1')
>>> extract_sql("Here you go:\\n```sql\\nSELECT 1\\n```\\nand\\n```sql\\nSELECT 2;\\n```").sql
'SELECT 2'
>>> extract_sql("<think>a</think><think>b</think><answer>```sql SELECT 1```</answer>").format_reason
'duplicate_tag:<think>'
>>> e = extract_sql("<think>join them</think>\\n\\n```sqlite\\nSELECT 1\\n```")
>>> e.sql, e.format_ok, e.style
('SELECT 1', True, 'omnisql')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from extensions._util.frozen import direct_init

Style = Literal["auto", "sql_r1", "omnisql", "plain"]

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
_TAGS = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)


@direct_init
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
    """Return the content of the last fenced block, preferring blocks whose info string names ``lang``.

    A block whose info word contains ``lang`` (case-insensitive: ``sql``, ``sqlite``, ``SQLite``,
    ``sql3``, ``postgresql``) wins over later blocks of other languages; without one, the last block
    of any info string (or none) is taken. The info string never reaches the SQL (see
    :func:`fenced_block`).

    Args:
        text: the completion.
        lang: the preferred language, matched as a substring of the info word.

    Returns:
        The block's SQL without trailing ``;``, or None.

    >>> last_fenced_block("```sql\\nSELECT 1\\n``` text ```SQLite\\nSELECT 2\\n```")
    'SELECT 2'
    """
    return fenced_block(text, lang=lang)[0]


def fenced_block(text: str, *, lang: str = "sql") -> tuple[str | None, bool]:
    """The last fenced block, as :func:`last_fenced_block` chooses it, and whether its fence is closed.

    After an opening fence comes an optional info string: its first word is the language when it
    starts with a letter (or ``{``) and is not an SQL statement's first word (``SELECT``, ``WITH``, ...);
    otherwise there is no info string. The rest of the fence's line is more info (``sql title=x``) unless it
    starts an SQL statement (the one-line form ``sql SELECT 1``).

    The last fence whose info word contains ``lang`` opens the block, which ends at the next fence (a
    stray fence earlier in the prose cannot shift it). Without such a fence, fences pair up from the left
    and the last block is taken. A block that is never closed runs to the end of the text.

    Args:
        text: the completion.
        lang: the preferred language, matched as a substring of the info word.

    Returns:
        ``(sql, closed)``; ``(None, False)`` when there is no block.

    >>> fenced_block("```sql\\nSELECT 1")
    ('SELECT 1', False)
    >>> fenced_block("Wrap code in ``` fences:\\n```sqlite title=q.sql\\nSELECT 2\\n```")
    ('SELECT 2', True)
    """
    fences = _fence_positions(text)
    if not fences:
        return None, False
    lang = lang.lower()
    if lang in text.lower():
        for i in range(len(fences) - 1, -1, -1):
            info, body_start, end = _block_at(text, fences, i)
            if lang in info:
                return _clean(text[body_start:end]), i + 1 < len(fences)
    i = len(fences) - 1 - (len(fences) - 1) % 2  # fences paired from the left: the last opener
    _, body_start, end = _block_at(text, fences, i)
    return _clean(text[body_start:end]), i + 1 < len(fences)


_FENCE = "```"
_WORD = re.compile(r"[ \t]*([^\s`]*)")  # linear: no nested quantifiers
_LETTERS = re.compile(r"[A-Za-z]+")
_STATEMENT_WORDS = frozenset(
    {
        "select",
        "with",
        "insert",
        "update",
        "delete",
        "replace",
        "create",
        "drop",
        "alter",
        "pragma",
        "explain",
        "values",
        "attach",
        "detach",
        "begin",
        "commit",
        "end",
        "rollback",
        "savepoint",
        "release",
        "vacuum",
        "analyze",
        "reindex",
    }
)


def _fence_positions(text: str) -> list[int]:
    """Where every ``` starts, left to right, without overlaps."""
    out = []
    pos = text.find(_FENCE)
    while pos >= 0:
        out.append(pos)
        pos = text.find(_FENCE, pos + len(_FENCE))
    return out


def _block_at(text: str, fences: list[int], i: int) -> tuple[str, int, int]:
    """``(info word, body start, body end)`` of the block fence ``i`` opens; it ends at fence ``i + 1`` or the end."""
    start = fences[i] + len(_FENCE)
    end = fences[i + 1] if i + 1 < len(fences) else len(text)
    info, body_start = _info_string(text, start, end)
    return info, body_start, end


def _starts_statement(word: str) -> bool:
    letters = _LETTERS.match(word)
    return word.startswith("(") or (letters is not None and letters.group(0).lower() in _STATEMENT_WORDS)


def _word_at(text: str, pos: int, end: int) -> tuple[str, int]:
    """The whitespace-free word after optional spaces or tabs at ``pos``, and where it ends."""
    match = _WORD.match(text, pos, end)
    return (match.group(1), match.end()) if match else ("", pos)


def _info_string(text: str, start: int, end: int) -> tuple[str, int]:
    """The info word of the fence whose text starts at ``start``, and where the body starts."""
    if start >= end or text[start] == "\n":  # nothing on the fence's line: no info string
        return "", start
    if text.startswith("sql\n", start, end):  # the usual ```sql line, as _info_rule reads it
        return "sql", start + 4
    return _info_rule(text, start, end)


def _info_rule(text: str, start: int, end: int) -> tuple[str, int]:
    """:func:`_info_string` without its shortcuts for the usual fence lines."""
    word, after = _word_at(text, start, end)
    if not (word[:1].isalpha() or word[:1] == "{") or _starts_statement(word):
        return "", start  # no language: the body starts at once (``-- note``, ``/* q */``, ``(SELECT``)
    rest, _ = _word_at(text, after, end)
    newline = text.find("\n", after, end)
    if newline < 0 or _starts_statement(rest):
        return word.lower(), after
    return word.lower(), newline + 1


def _tags_reason(text: str) -> str:
    """``"ok"`` when each of the four tags appears exactly once, else the first tag's problem."""
    for tag in _TAGS:
        n = text.count(tag)
        if n != 1:
            return f"missing_tag:{tag}" if n == 0 else f"duplicate_tag:{tag}"
    return "ok"


def _sql_r1(text: str, require_sql_block: bool) -> Extraction:
    reason = _tags_reason(text)
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
        if ANSWER_OPEN in text or (THINK_OPEN in text and THINK_CLOSE not in text):
            return _sql_r1(text, require_sql_block)
        if THINK_CLOSE in text:
            return _after_reasoning(text)
        style = "omnisql" if _FENCE in text else "plain"
    if style == "sql_r1":
        return _sql_r1(text, require_sql_block)
    if style == "omnisql":
        return _omnisql(text)
    if style == "plain":
        return _plain(text)
    raise ValueError(f"unknown extraction style {style!r}; allowed: auto, sql_r1, omnisql, plain")


def _omnisql(text: str, think: str = "") -> Extraction:
    sql, closed = fenced_block(text)
    if sql is None:
        return Extraction(None, False, "no_sql_block", "omnisql", think)
    return Extraction(sql, closed, "ok" if closed else "unclosed_fence", "omnisql", think)


def _plain(text: str, think: str = "") -> Extraction:
    sql = _clean(text)
    return Extraction(sql, sql is not None, "ok" if sql else "empty", "plain", think)


def _after_reasoning(text: str) -> Extraction:
    """``auto`` without ``<answer>``: the reasoning ends at the last ``</think>``; the SQL is read after it.

    A reasoning model under an OmniSQL-style prompt writes ``<think>...</think>`` (or only
    ``...</think>`` when the chat template opened the tag) and then a fenced block or plain SQL.
    """
    close = text.rfind(THINK_CLOSE)
    think = text[:close]
    opened = think.find(THINK_OPEN)
    if opened >= 0:
        think = think[opened + len(THINK_OPEN) :]
    rest = text[close + len(THINK_CLOSE) :]
    return _omnisql(rest, think) if _FENCE in rest else _plain(rest, think)
