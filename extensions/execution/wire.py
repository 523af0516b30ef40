"""The worker pipe format: length-prefixed frames, results in a tagged binary codec.

A worker answers with :func:`encode_result`: a fixed header (status, times,
sizes), the detail, the column names, then the cells of all rows in row
order as one tag byte each (``N`` NULL, ``I`` 64-bit int, ``F`` double, ``S``
UTF-8 text, ``B`` blob) followed by one section per kind: the ints, the
doubles, the text lengths and text, the blob lengths and blobs.
:func:`decode_result` checks every tag, count, length and the frame's end,
and builds only tuples of those five types, so a frame from a compromised
worker can at worst be rejected (:class:`WireError`); it can never run code,
which unpickling could. Numbers use the machine's byte order (both ends run on
the same host). Requests are packed with :mod:`struct`; the small stats reply is JSON. Standard library
only (loaded by the worker processes).

>>> from extensions.execution.status import ExecResult, Status
>>> r = ExecResult(Status.OK, rows=((1, "a", None, 2.5, b"x"),), columns=("a", "b", "c", "d", "e"))
>>> decode_result(encode_result(r, 1 << 20)) == r
True
"""

from __future__ import annotations

import itertools
import json
import os
import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from extensions.execution.budget import NO_BUDGET, WHOLE, Budget, Cap
from extensions.execution.status import ExecResult, Status

FRAME = struct.Struct("!Q")
_MAGIC = b"XR4"
# magic, status index, elapsed_s, timeout_s, vm_steps, max_vm_steps, cpu_s, max_cpu_s, the worker's
# process CPU seconds when it sent the frame, total_rows (NO_TOTAL: None), len(detail), row width,
# n_columns (the names sent: the width, or 0 without names), n_rows (NO_ROWS: rows is None)
_HEAD = struct.Struct("!3sBddQQdddQIIII")
_NO_ROWS = 0xFFFFFFFF
_NO_TOTAL = 0xFFFFFFFFFFFFFFFF
_LEN = struct.Struct("!I")
_SECTIONS = struct.Struct("!6Q")  # sizes of: ints, doubles, text lengths, text, blob lengths, blobs
_STATUSES = tuple(Status)
_TAG_OF = {type(None): 78, int: 73, float: 70, str: 83, bytes: 66}
_TAGS = b"NIFSB"


class WireError(ValueError):
    """A frame that does not follow the format (truncated, bad tag, bad length, too large)."""


class ResultTooLarge(Exception):
    """Raised by :func:`encode_result` when the encoded result passes its byte cap."""


# -- encoding (worker side) ---------------------------------------------------------------
def _only(tag: int) -> bytes:
    """A ``bytes.translate`` table that maps ``tag`` to 1 and every other byte to 0."""
    table = bytearray(256)
    table[tag] = 1
    return bytes(table)


_MASK = {t: _only(t) for t in _TAGS}


def _kind(cells: list, tags: bytes, tag: int) -> list:
    """The cells tagged ``tag``, in order (selected in C with ``itertools.compress``)."""
    if tag not in tags:
        return []
    return list(itertools.compress(cells, tags.translate(_MASK[tag])))


def _sections(cells: list, max_bytes: int) -> list[bytes]:
    """The tag bytes and the five value sections of ``cells`` (row order)."""
    try:
        tags = bytes(map(_TAG_OF.__getitem__, map(type, cells)))
    except KeyError as exc:
        raise WireError(f"cannot encode a {exc.args[0].__name__}") from None
    texts, blobs = _kind(cells, tags, 83), _kind(cells, tags, 66)
    if sum(map(len, texts)) + sum(map(len, blobs)) > max_bytes:  # before copying them
        raise ResultTooLarge(f"result larger than max_result_bytes={max_bytes}")
    try:
        ints = array("q", _kind(cells, tags, 73))
    except OverflowError:
        raise WireError("integer outside 64 bits") from None
    return [
        tags,
        ints.tobytes(),
        array("d", _kind(cells, tags, 70)).tobytes(),
        array("Q", map(len, texts)).tobytes(),
        "".join(texts).encode("utf-8", "surrogatepass"),
        array("Q", map(len, blobs)).tobytes(),
        b"".join(blobs),
    ]


def encode_result(r: ExecResult, max_bytes: int, worker_cpu_s: float = 0.0) -> bytes:
    """The frame body for ``r``.

    Args:
        r: the result to send.
        max_bytes: the most bytes the body may take.
        worker_cpu_s: the sending process's CPU seconds so far (the parent's baseline for the next
            statement's CPU use).

    Returns:
        The encoded body.

    Raises:
        ResultTooLarge: the body would pass ``max_bytes``.
        WireError: a value of a type SQLite never returns, or rows of different widths.
    """
    detail = r.detail.encode("utf-8", "surrogatepass")[:4000]
    cols = [c.encode("utf-8", "surrogatepass") for c in r.columns]
    rows = r.rows
    width = len(rows[0]) if rows else len(cols)
    if cols and len(cols) != width:
        raise WireError("rows of a different width than the columns")
    n_rows = _NO_ROWS if rows is None else len(rows)
    total = _NO_TOTAL if r.total_rows is None else r.total_rows
    head = (_MAGIC, _STATUSES.index(r.status), r.elapsed_s, r.timeout_s, r.vm_steps, r.max_vm_steps)
    head += (r.cpu_s, r.max_cpu_s, worker_cpu_s, total)
    parts = [_HEAD.pack(*head, len(detail), width, len(cols), n_rows), detail]
    parts += [_LEN.pack(len(c)) + c for c in cols]
    if rows is not None:
        if rows and set(map(len, rows)) != {width}:
            raise WireError("rows of a different width than the columns")
        tags, *sections = _sections(list(itertools.chain.from_iterable(rows)), max_bytes)
        parts += [tags, _SECTIONS.pack(*map(len, sections)), *sections]
    if sum(map(len, parts)) > max_bytes:
        raise ResultTooLarge(f"result larger than max_result_bytes={max_bytes}")
    return b"".join(parts)


# -- decoding (trainer side) --------------------------------------------------------------
def _take(data: bytes, pos: int, n: int) -> tuple[bytes, int]:
    """``data[pos:pos + n]`` and the new position; WireError past the end."""
    end = pos + n
    if n < 0 or end > len(data):
        raise WireError("truncated frame")
    return data[pos:end], end


def _utf8(b: bytes) -> str:
    try:
        return b.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        raise WireError("invalid UTF-8") from None


def _numbers(sec: bytes, code: str, count: int) -> list:
    if len(sec) != 8 * count:
        raise WireError("section size does not match its tags")
    a = array(code)
    a.frombytes(sec)
    return a.tolist()


def _pieces(lens_sec: bytes, data: str | bytes, count: int) -> list:
    lens = _numbers(lens_sec, "Q", count)
    if sum(lens) != len(data):
        raise WireError("lengths do not add up to their section")
    ends = list(itertools.accumulate(lens))
    return list(map(data.__getitem__, map(slice, [0, *ends], ends)))


def _decode_cells(data: bytes, pos: int, n_cells: int) -> tuple[list, int]:
    tags, pos = _take(data, pos, n_cells)
    if tags.translate(None, _TAGS):
        raise WireError("unknown cell tag")
    sizes, pos = _take(data, pos, _SECTIONS.size)
    ends = list(itertools.accumulate(_SECTIONS.unpack(sizes), initial=pos))
    if ends[-1] > len(data):
        raise WireError("truncated frame")
    ints, floats, text_lens, text, blob_lens, blobs = map(data.__getitem__, map(slice, ends, ends[1:]))
    sources: dict[int, Iterator] = {78: itertools.repeat(None)}
    if ints or floats:
        sources[73] = iter(_numbers(ints, "q", tags.count(b"I")))
        sources[70] = iter(_numbers(floats, "d", tags.count(b"F")))
    if text_lens or blob_lens:
        sources[83] = iter(_pieces(text_lens, _utf8(text), tags.count(b"S")))
        sources[66] = iter(_pieces(blob_lens, blobs, tags.count(b"B")))
    try:
        cells = list(map(next, map(sources.__getitem__, tags)))  # each tag takes the next value of its kind
    except KeyError:  # a tag whose sections are empty
        raise WireError("section size does not match its tags") from None
    if len(cells) != n_cells:
        raise WireError("section size does not match its tags")
    return cells, ends[-1]


def decode_result(data: bytes) -> ExecResult:
    """The :class:`ExecResult` in a frame body; never evaluates anything it reads.

    Args:
        data: a frame body written by :func:`encode_result`.

    Returns:
        The result.

    Raises:
        WireError: the body does not follow the format exactly.

    >>> decode_result(b"\\x80\\x04cos\\nsystem\\n.")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    extensions.execution.wire.WireError: truncated frame
    """
    return decode_reply(data)[0]


def decode_reply(data: bytes) -> tuple[ExecResult, float]:
    """The result in a frame body and the worker's process CPU seconds when it sent it.

    Args:
        data: a frame body written by :func:`encode_result`.

    Returns:
        ``(result, worker_cpu_s)``.

    Raises:
        WireError: the body does not follow the format exactly.
    """
    head, pos = _take(data, 0, _HEAD.size)
    magic, status, elapsed, timeout, steps, max_steps, cpu, max_cpu, worker_cpu, total, *sizes = _HEAD.unpack(head)
    n_detail, width, n_cols, n_rows = sizes
    if magic != _MAGIC or status >= len(_STATUSES):
        raise WireError("not a result frame")
    detail, pos = _take(data, pos, n_detail)
    columns = []
    if n_cols not in (0, width):
        raise WireError("column names do not match the row width")
    for _ in range(n_cols):
        (n,), pos = _LEN.unpack(_take(data, pos, 4)[0]), pos + 4
        col, pos = _take(data, pos, n)
        columns.append(_utf8(col))
    rows = None
    if n_rows != _NO_ROWS:
        if n_rows * width > len(data) or (n_rows and not width):
            raise WireError("row count does not fit the frame")
        cells, pos = _decode_cells(data, pos, n_rows * width)
        rows = tuple(zip(*[iter(cells)] * width)) if width else ()
    if pos != len(data):
        raise WireError("trailing bytes")
    result = ExecResult(
        _STATUSES[status],
        rows,
        tuple(columns),
        elapsed,
        _utf8(detail),
        timeout,
        vm_steps=steps,
        max_vm_steps=max_steps,
        cpu_s=cpu,
        max_cpu_s=max_cpu,
        total_rows=None if total == _NO_TOTAL else total,
    )
    return result, worker_cpu


# -- requests (trainer to worker) ----------------------------------------------------------
# kind, timeout_s, max_vm_steps, max_cpu_s, cap rows, cap cell_chars, cap max_bytes, cap names,
# len(signature), len(path)
_REQ = struct.Struct("!cdQdqqqBBI")


@dataclass(frozen=True)
class Request:
    """A decoded request: what to run, on which file, under which budget and cap."""

    kind: bytes
    path: str = ""
    sql: str = ""
    sig: tuple[int, ...] | None = None
    budget: Budget = NO_BUDGET
    cap: Cap = WHOLE


def encode_request(
    kind: bytes,
    path: str = "",
    sql: str = "",
    sig: tuple[int, ...] | None = None,
    budget: Budget = NO_BUDGET,
    cap: Cap = WHOLE,
) -> bytes:
    """A request frame body: ``kind`` is ``b"E"`` (execute), ``b"S"`` (stats) or ``b"C"`` (close).

    >>> decode_request(encode_request(b"E", "/d.sqlite", "SELECT 1", None, Budget(5, 1.0, 2.0))).budget
    Budget(max_vm_steps=5, max_cpu_s=1.0, timeout_s=2.0)
    """
    p = path.encode("utf-8", "surrogatepass")
    sig = tuple(sig or ())
    b = budget
    head = _REQ.pack(
        kind,
        b.timeout_s,
        max(0, int(b.max_vm_steps)),
        max(0.0, b.max_cpu_s),
        cap.rows,
        cap.cell_chars,
        cap.max_bytes,
        int(cap.names),
        len(sig),
        len(p),
    )
    return head + struct.pack(f"!{len(sig)}q", *sig) + p + sql.encode("utf-8", "surrogatepass")


def decode_request(body: bytes) -> Request:
    """The :class:`Request` in a request frame body (written by the parent)."""
    kind, timeout_s, steps, cpu, rows, cell_chars, max_bytes, names, n_sig, n_path = _REQ.unpack_from(body)
    pos = _REQ.size + 8 * n_sig
    sig = struct.unpack_from(f"!{n_sig}q", body, _REQ.size) if n_sig else None
    path = body[pos : pos + n_path].decode("utf-8", "surrogatepass")
    sql = body[pos + n_path :].decode("utf-8", "surrogatepass")
    whole = (rows, cell_chars, max_bytes, names) == (-1, -1, -1, 1)
    cap = WHOLE if whole else Cap(rows, cell_chars, max_bytes, bool(names))
    return Request(kind, path, sql, sig, Budget(steps, cpu, timeout_s), cap)


# -- framing and JSON messages ------------------------------------------------------------
def encode_json(obj: object) -> bytes:
    """A request or stats reply as a frame body."""
    return json.dumps(obj, separators=(",", ":")).encode()


def read_exact(fd: int, n: int) -> bytes:
    """Read exactly ``n`` bytes or raise EOFError."""
    chunks = []
    while n:
        b = os.read(fd, min(n, 1 << 20))
        if not b:
            raise EOFError("pipe closed")
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def read_frame(fd: int, max_bytes: int) -> bytes:
    """Read one frame body; WireError when its announced size passes ``max_bytes``.

    Messages are strictly request/response, so a single ``read`` usually
    returns the whole (small) frame.
    """
    first = os.read(fd, 65536)
    if not first:
        raise EOFError("pipe closed")
    if len(first) < FRAME.size:
        first += read_exact(fd, FRAME.size - len(first))
    (size,) = FRAME.unpack_from(first)
    if size > max_bytes:
        raise WireError(f"frame of {size} bytes announced, more than {max_bytes}")
    body = first[FRAME.size :]
    if len(body) < size:
        body += read_exact(fd, size - len(body))
    if len(body) != size:
        raise WireError("frame longer than announced")
    return body


def write_frame(fd: int, body: bytes) -> None:
    """Write one length-prefixed frame."""
    view = memoryview(FRAME.pack(len(body)) + body)
    while view:
        n = os.write(fd, view)
        view = view[n:]
