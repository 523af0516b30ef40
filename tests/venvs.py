"""Fresh virtual environments for tests that must not see the system site-packages (slow tests only)."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import pytest

from tests.conftest import in_ci

ROOT = pathlib.Path(__file__).resolve().parents[1]
LIGHT_DEPS = ["sqlglot>=25,<31", "pydantic>=2.5,<3", "pyyaml>=6", "tqdm>=4.60"]


def pip(python: pathlib.Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run ``python -m pip ARGS`` quietly; the result carries stdout/stderr."""
    return subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def skip_if_registry_unreachable(requirement: str, tmp: pathlib.Path) -> None:
    """Skip the test when ``pip download REQUIREMENT --no-deps`` cannot reach a package index (fail under ``CI=true``:
    CI installs from an index, so one it cannot reach here is a broken run, not a reason to skip)."""
    p = pip(
        pathlib.Path(sys.executable), "download", "--no-deps", "-q", "-d", str(tmp / "probe"), requirement, timeout=300
    )
    if p.returncode != 0:
        if in_ci():
            pytest.fail(f"CI=true: package registry unreachable ({requirement}): {p.stderr.strip()[-300:]}")
        pytest.skip(f"package registry unreachable ({requirement}): {p.stderr.strip().splitlines()[-1:]}")


def new_venv(where: pathlib.Path) -> pathlib.Path:
    """A fresh venv without system site-packages; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
    return where / "bin" / "python"


def check(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """Fail the test with the command's output when it did not succeed."""
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p


def source_copy(where: pathlib.Path) -> pathlib.Path:
    """A copy of the repository's sources (no build outputs), so that building never writes into the checkout."""
    shutil.copytree(
        ROOT,
        where,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            "outputs",
            ".pytest_cache",
            ".hypothesis",
            ".benchmarks",
        ),
    )
    return where


def hosted_runtime_venv(where: pathlib.Path, hide: tuple[str, ...] = ()) -> pathlib.Path:
    """A venv that sees this interpreter's packages as a hosted notebook runtime (Colab) sees its preinstalled ones.

    The venv has no system site-packages; a folder of links to them is put on its path instead, without the
    ``.pth`` files (so an editable install of this repository stays out of sight), without this repository's
    own distribution, and without the packages named in ``hide``. pip in the venv counts the linked packages as
    installed and installs anything else into the venv.

    Args:
        where: the venv folder (the links go to ``where/preinstalled``).
        hide: distribution names (as their folders spell them) to leave out, so the runtime lacks them.

    Returns:
        The venv's python.
    """
    import site

    python = new_venv(where)
    farm = where / "preinstalled"
    farm.mkdir()
    hidden = {"text2sql_rewards", "extensions", *hide}
    for system in site.getsitepackages():
        for entry in pathlib.Path(system).iterdir():
            name = entry.name.split("-")[0].lower()
            if entry.suffix == ".pth" or entry.name.startswith("__editable__") or name in hidden:
                continue
            if not (farm / entry.name).exists():
                (farm / entry.name).symlink_to(entry)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (pathlib.Path(purelib) / "preinstalled.pth").write_text(str(farm) + "\n")
    return python
