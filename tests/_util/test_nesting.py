"""The depth-bounded JSON loader: defined errors for bombs and bad bytes, no false refusals."""

from __future__ import annotations

import json

import pytest

from extensions._util.nesting import json_depth, json_loads_bounded


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 5_000 + "1" + "}" * 5_000,
        '[{"x": ' * 40 + "1" + "}]" * 40,
        '["\\"", ' + "[" * 1_000,  # an escaped quote does not hide what follows
        b"\xff\xfe[1]",  # invalid UTF-8
        "[1, 2",
        "",
    ],
    ids=["arrays", "objects", "mixed", "escaped-quote", "bad-utf8", "truncated", "empty"],
)
def test_hostile_json_raises_value_error(text: str | bytes) -> None:
    with pytest.raises(ValueError):
        json_loads_bounded(text)


def test_brackets_inside_strings_do_not_count() -> None:
    value = {"sql": "SELECT " + "(" * 500 + "1" + ")" * 500, "note": "[{" * 300}
    assert json_loads_bounded(json.dumps(value)) == value
    assert json_depth(json.dumps(value)) == 1


def test_limits_are_applied() -> None:
    assert json_loads_bounded("[[1]]", max_depth=2) == [[1]]
    with pytest.raises(ValueError, match="longer"):
        json_loads_bounded("[1]" + " " * 100, max_chars=10)
    with pytest.raises(ValueError):
        json_loads_bounded(12)  # type: ignore[arg-type]


def test_docstring_examples() -> None:
    import doctest

    from extensions._util import nesting

    result = doctest.testmod(nesting)
    assert result.attempted > 0 and result.failed == 0
