"""Reading the CLIs' input files: every problem becomes one :class:`InputError` naming the file.

The CLIs print ``error: <file>: <problem>`` and exit 2 on it, never a traceback. Text is strict
UTF-8 without NUL bytes, files are size-capped before they are read, JSON is depth-bounded
(:func:`extensions._util.nesting.json_loads_bounded`), and lines end at ``\\n`` or ``\\r\\n`` only.

>>> split_lines("a\\r\\nb\\u2028c\\n")
['a', 'b\\u2028c']
"""

from __future__ import annotations

import os
from typing import Any

from extensions._util.nesting import json_loads_bounded
from extensions.errors import DataError

MAX_INPUT_BYTES = 256 * 1024 * 1024


class InputError(DataError):
    """A bad input file: ``str(exc)`` is ``"<file>: <problem>"``.

    Args:
        path: the file.
        problem: what is wrong with it, in a few words.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def check_file(path: str, max_bytes: int = MAX_INPUT_BYTES) -> None:
    """Raise :class:`InputError` unless ``path`` is an existing regular file of at most ``max_bytes``.

    Args:
        path: the file to check.
        max_bytes: the size cap.

    Returns:
        None.

    >>> check_file("/")
    Traceback (most recent call last):
    ...
    extensions.cli.inputs.InputError: /: is a directory, not a file
    """
    if not os.path.exists(path):
        raise InputError(path, "no such file")
    if os.path.isdir(path):
        raise InputError(path, "is a directory, not a file")
    if not os.path.isfile(path):
        raise InputError(path, "is not a regular file")
    size = os.path.getsize(path)
    if size > max_bytes:
        raise InputError(path, f"{size:,} bytes is over the {max_bytes:,}-byte limit for an input file")


def check_output(path: str | None) -> None:
    """Raise :class:`InputError` when ``path`` (an output file, or None) could not be written.

    That is: its folder does not exist, or ``path`` is itself a folder.

    Args:
        path: where a report will be written.

    Returns:
        None.

    >>> check_output("/nonexistent-folder/report.json")
    Traceback (most recent call last):
    ...
    extensions.cli.inputs.InputError: /nonexistent-folder/report.json: its folder does not exist
    """
    if path is None:
        return
    if os.path.isdir(path):
        raise InputError(path, "is a directory, not a file")
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise InputError(path, "its folder does not exist")


def read_text(path: str, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The content of a UTF-8 text file (a leading BOM is dropped).

    Args:
        path: the file.
        max_bytes: the size cap, checked before reading.

    Returns:
        The text.

    Raises:
        InputError: missing, a directory, too large, unreadable, not UTF-8, or binary (NUL bytes).
    """
    check_file(path, max_bytes)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    if "\x00" in text:
        raise InputError(path, "holds NUL bytes: a binary file, not text")
    return text.removeprefix("\ufeff")


def split_lines(text: str) -> list[str]:
    """Lines ending at ``\\n`` or ``\\r\\n`` only (unlike ``str.splitlines``); no empty last line.

    Args:
        text: file content.

    Returns:
        The lines, without their endings.

    >>> split_lines("x\\x0by\\r\\nz")
    ['x\\x0by', 'z']
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_json(path: str, text: str, where: str = "") -> Any:
    """Depth-bounded JSON; a problem becomes an :class:`InputError` naming ``path`` (and ``where``).

    Args:
        path: the file the text comes from.
        text: the JSON text.
        where: a location prefix such as ``"line 3: "``.

    Returns:
        The decoded value.

    >>> parse_json("x.json", "[1]")
    [1]
    """
    try:
        return json_loads_bounded(text)
    except ValueError as exc:
        raise InputError(path, f"{where}not valid JSON ({exc})") from None


def type_name(value: Any) -> str:
    """``null`` for None, else the Python type name: for messages about JSON values.

    >>> type_name(None), type_name([1])
    ('null', 'list')
    """
    return "null" if value is None else type(value).__name__
