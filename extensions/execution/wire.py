"""The worker pipe format: length-prefixed frames, results in a tagged binary codec.

A worker answers with :func:`encode_result`: a fixed header (status, times,
sizes) and rows whose cells are tagged ``N`` (NULL), ``I`` (64-bit int), ``F``
(double), ``S`` (UTF-8 text) or ``B`` (blob), packed with :mod:`struct`.
:func:`decode_result` checks every tag, length and count against the frame and
builds only tuples of those five types, so a frame from a compromised worker
can at worst be rejected (:class:`WireError`); it can never run code, which
unpickling could. Requests and the small stats reply are JSON. Standard
library only (loaded by the worker processes).

>>> from extensions.execution.status import ExecResult, Status
>>> r = ExecResult(Status.OK, rows=((1, "a", None, 2.5, b"x"),), columns=("a", "b", "c", "d", "e"))
>>> decode_result(encode_result(r, 1 << 20)) == r
True
"""

from __future__ import annotations

import functools
import json
import os
import struct

from extensions.execution.status import ExecResult, Status

FRAME = struct.Struct("!Q")
_MAGIC = b"XR1"
# magic, status index, elapsed_s, timeout_s, len(detail), n_columns, n_rows (NO_ROWS: rows is None)
_HEAD = struct.Struct("!3sBddIII")
_NO_ROWS = 0xFFFFFFFF
_LEN = struct.Struct("!I")
_STATUSES = tuple(Status)
_CODES = {ord("N"): "", ord("I"): "q", ord("F"): "d", ord("S"): "I", ord("B"): "I"}
_INT64 = (-(1 << 63), (1 << 63) - 1)


class WireError(ValueError):
    """A frame that does not follow the format (truncated, bad tag, bad length, too large)."""


class ResultTooLarge(Exception):
    """Raised by :func:`encode_result` when the encoded result passes its byte cap."""


# -- encoding (worker side) ---------------------------------------------------------------
def _cell(v: object, tags: bytearray, fixed: list, var: list[bytes]) -> None:
    """Append one cell's tag, its fixed part and its variable part."""
    if v is None:
        tags.append(78)  # N
        return
    if isinstance(v, int) and not isinstance(v, bool):
        if not _INT64[0] <= v <= _INT64[1]:
            raise WireError("integer outside 64 bits")
        tags.append(73)  # I
        fixed.append(v)
        return
    if isinstance(v, float):
        tags.append(70)  # F
        fixed.append(v)
        return
    if isinstance(v, str):
        data = v.encode("utf-8", "surrogatepass")
        tags.append(83)  # S
    elif isinstance(v, (bytes, bytearray, memoryview)):
        data = bytes(v)
        tags.append(66)  # B
    else:
        raise WireError(f"cannot encode a {type(v).__name__}")
    fixed.append(len(data))
    var.append(data)


def _encode_row(row: tuple, width: int) -> bytes:
    if len(row) != width:
        raise WireError("rows of different widths")
    tags = bytearray()
    fixed: list = []
    var: list[bytes] = []
    for v in row:
        _cell(v, tags, fixed, var)
    packed = _row_struct(bytes(tags)).pack(*fixed)
    return b"".join([bytes(tags), packed, *var])


def encode_result(r: ExecResult, max_bytes: int) -> bytes:
    """The frame body for ``r``.

    Args:
        r: the result to send.
        max_bytes: the most bytes the body may take.

    Returns:
        The encoded body.

    Raises:
        ResultTooLarge: the body would pass ``max_bytes`` (checked while encoding).
        WireError: a value of a type SQLite never returns.
    """
    detail = r.detail.encode("utf-8", "surrogatepass")[:4000]
    cols = [c.encode("utf-8", "surrogatepass") for c in r.columns]
    rows = r.rows
    width = len(cols)
    n_rows = _NO_ROWS if rows is None else len(rows)
    parts = [_HEAD.pack(_MAGIC, _STATUSES.index(r.status), r.elapsed_s, r.timeout_s, len(detail), width, n_rows), detail]
    parts += [_LEN.pack(len(c)) + c for c in cols]
    size = sum(map(len, parts))
    for row in rows or ():
        data = _encode_row(row, width)
        size += len(data)
        if size > max_bytes:
            raise ResultTooLarge(f"result larger than max_result_bytes={max_bytes}")
        parts.append(data)
    if size > max_bytes:
        raise ResultTooLarge(f"result larger than max_result_bytes={max_bytes}")
    return b"".join(parts)


# -- decoding (trainer side) --------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _row_struct(tags: bytes) -> struct.Struct:
    try:
        return struct.Struct("!" + "".join(_CODES[t] for t in tags))
    except KeyError:
        raise WireError("unknown cell tag") from None


class _Reader:
    """Bounds-checked reads from one frame."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> memoryview:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise WireError("truncated frame")
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def unpack(self, s: struct.Struct) -> tuple:
        return s.unpack(self.take(s.size))

    def text(self, n: int) -> str:
        try:
            return str(self.take(n), "utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise WireError("invalid UTF-8") from None


def _decode_row(rd: _Reader, width: int) -> tuple:
    tags = bytes(rd.take(width))
    fixed = iter(rd.unpack(_row_struct(tags)))
    out: list[object] = []
    for t in tags:
        if t == 78:
            out.append(None)
        elif t in (73, 70):
            out.append(next(fixed))
        elif t == 83:
            out.append(rd.text(next(fixed)))
        else:
            out.append(bytes(rd.take(next(fixed))))
    return tuple(out)


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
    rd = _Reader(data)
    magic, status, elapsed, timeout, n_detail, width, n_rows = rd.unpack(_HEAD)
    if magic != _MAGIC or status >= len(_STATUSES):
        raise WireError("not a result frame")
    detail = rd.text(n_detail)
    columns = tuple(rd.text(rd.unpack(_LEN)[0]) for _ in range(width))
    rows = None
    if n_rows != _NO_ROWS:
        if n_rows > len(data):  # every row takes at least one byte
            raise WireError("row count larger than the frame")
        rows = tuple(_decode_row(rd, width) for _ in range(n_rows))
    if rd.pos != len(data):
        raise WireError("trailing bytes")
    return ExecResult(_STATUSES[status], rows, columns, elapsed, detail, timeout)


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
