"""Shared fixtures: demo databases in a temp folder, one engine per session, the optional Spider data."""

from __future__ import annotations

import os
import pathlib

import pytest

from extensions.data.demo import build_demo_databases, write_demo_dataset
from extensions.execution.engine import ExecutionEngine

ROOT = pathlib.Path(__file__).resolve().parents[1]
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
