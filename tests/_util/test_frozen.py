"""extensions._util.frozen: the direct ``__init__`` builds the same frozen instances as the generated one."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from extensions._util.frozen import direct_init
from extensions.execution.engine import MatchResult
from extensions.execution.status import ExecResult, Status
from extensions.sql.extract import Extraction


@dataclasses.dataclass(frozen=True)
class _Plain:
    a: int
    b: str = "x"
    c: tuple = ()


@direct_init
@dataclasses.dataclass(frozen=True)
class _Direct:
    a: int
    b: str = "x"
    c: tuple = ()

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("a < 0")


@pytest.mark.parametrize("cls", [ExecResult, MatchResult, Extraction])
def test_the_hot_classes_keep_their_parameters_and_defaults(cls: type) -> None:
    fields = dataclasses.fields(cls)
    params = list(inspect.signature(cls).parameters.values())
    assert [p.name for p in params] == [f.name for f in fields]
    assert [p.default for p in params] == [
        inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default for f in fields
    ]


def test_instances_compare_hash_copy_and_pickle_as_the_generated_ones_do() -> None:
    d, p = _Direct(1, "y"), _Plain(1, "y")
    assert dataclasses.astuple(d) == dataclasses.astuple(p) == (1, "y", ())
    assert d == _Direct(1, "y") and hash(d) == hash(_Direct(1, "y")) and d != _Direct(2)
    assert dataclasses.replace(d, b="z") == _Direct(1, "z")
    assert pickle.loads(pickle.dumps(d)) == d
    assert repr(_Direct(3)).endswith("_Direct(a=3, b='x', c=())")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.a = 2  # type: ignore[misc]
    with pytest.raises(ValueError):
        _Direct(-1)  # __post_init__ still runs
    with pytest.raises(TypeError):
        _Direct()  # type: ignore[call-arg]  # a required parameter stays required


def test_results_built_directly_equal_results_built_field_by_field() -> None:
    r = ExecResult(Status.OK, ((1,),), ("c",), 0.5, "", 2.0, vm_steps=3000, max_vm_steps=10, cpu_s=0.1)
    assert dataclasses.asdict(r)["vm_steps"] == 3000 and r.cached is False and r.total_rows is None
    same = ExecResult(Status.OK, rows=((1,),), columns=("c",), elapsed_s=0.5, timeout_s=2.0, vm_steps=3000)
    same = dataclasses.replace(same, max_vm_steps=10)
    assert r == same


def test_unsupported_classes_are_refused() -> None:
    @dataclasses.dataclass
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class WithFactory:
        a: list = dataclasses.field(default_factory=list)

    for cls in (Mutable, WithFactory, int):
        with pytest.raises(TypeError):
            direct_init(cls)
