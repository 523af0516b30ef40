"""Every code block in README.md and docs/ runs as written (or says why it cannot, in a marker a reader sees).

The conventions, checked here:

* A fenced block names its language. ``python`` blocks are executed, each in a fresh interpreter, in a
  scratch folder that has the repository's ``configs/`` (the demo databases are built on demand). A line
  ``print(...)  # prints TEXT`` states what it prints: the printed lines must equal the ``# prints``
  texts, in order.
* ``bash``/``sh``/``console`` blocks and indented (4-space) blocks are shell: they must parse
  (``bash -n``), and every ``python -m extensions.X`` and ``python FILE.py`` they run and every
  ``configs/*.yaml`` they name must exist.
* ``text`` blocks (layouts, report shapes, sample output) are prose and are not run. No other language
  is allowed, so that nothing that looks like code escapes these checks.
* A block that cannot run here (it needs a GPU, a hub model or another package version) carries the line
  ``<!-- docs-test: skip: REASON -->`` right before it; the reason must be given.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SKIP = re.compile(r"<!--\s*docs-test:\s*skip:\s*(\S.*?)\s*-->")
SHELL = {"bash", "sh", "shell", "console", "indented"}
PRINTS = re.compile(r"#\s*prints\s+(.*?)\s*$")


@dataclasses.dataclass
class Block:
    page: pathlib.Path
    line: int
    lang: str
    code: str
    skip: str | None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _skip_before(lines: list[str], i: int) -> str | None:
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    m = SKIP.search(lines[j]) if j >= 0 else None
    return m.group(1) if m else None


def _indented(lines: list[str], i: int) -> tuple[list[str], int]:
    """The indented block starting at ``i`` (blank lines inside it included) and the index after it."""
    body, j = [], i
    while j < len(lines) and (
        lines[j].startswith("    ") or (not lines[j].strip() and j + 1 < len(lines) and lines[j + 1].startswith("    "))
    ):
        body.append(lines[j][4:])
        j += 1
    return body, j


def blocks(page: pathlib.Path) -> list[Block]:
    """The code blocks of one markdown page: fenced ones with their language, indented ones as shell."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out, i, in_list = [], 0, False
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            out.append(Block(page, i + 1, line[3:].strip(), "\n".join(lines[i + 1 : end]), _skip_before(lines, i)))
            i = end + 1
            continue
        if line.startswith("    ") and i > 0 and not lines[i - 1].strip() and not in_list:
            body, end = _indented(lines, i)
            out.append(Block(page, i + 1, "indented", "\n".join(body), _skip_before(lines, i)))
            i = end
            continue
        if line.strip():  # an indented line right after a list item continues the item, it is no code block
            in_list = bool(re.match(r"\s*([-*+]|\d+\.)\s", line)) or (in_list and line.startswith(" "))
        i += 1
    return out


ALL = [b for page in PAGES for b in blocks(page)]


def _ids(kind: set[str]) -> list:
    return [pytest.param(b, id=b.id) for b in ALL if b.lang in kind]


def test_the_scan_finds_the_blocks():
    """The README has its install commands and a python quick start, so the checks below see real blocks."""
    readme = [b for b in ALL if b.page.name == "README.md"]
    assert any(b.lang == "python" for b in readme) and any("pip install" in b.code for b in readme)


def test_every_fenced_block_names_a_checked_language():
    assert [b.id for b in ALL if b.lang not in {"python", "text"} | SHELL] == []


def test_every_skip_gives_a_reason_and_marks_a_block():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert len(re.findall(r"docs-test", text)) == len(SKIP.findall(text)), page
    assert all(b.skip.strip() for b in ALL if b.skip)


@pytest.fixture
def scratch(tmp_path, demo_dir, monkeypatch):
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    env = {k: v for k, v in os.environ.items() if k != "EXTENSIONS_CONFIG"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["EXTENSIONS_DEMO_DIR"] = demo_dir
    return tmp_path, env


@pytest.mark.parametrize("block", _ids({"python"}))
def test_python_block_runs(block, scratch):
    if block.skip:
        pytest.skip(block.skip)
    cwd, env = scratch
    r = subprocess.run(
        [sys.executable, "-c", block.code], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, f"{block.id} fails:\n{r.stderr[-3000:]}"
    promised = [m.group(1) for line in block.code.splitlines() if (m := PRINTS.search(line))]
    assert r.stdout.splitlines() == promised, f"{block.id}: the # prints comments differ from the output"


def _commands(code: str) -> tuple[list[str], list[str], list[str]]:
    """The ``python -m`` modules, the ``python FILE.py`` scripts and the ``configs/*.yaml`` a shell block names."""
    text = code.replace("\\\n", " ")
    modules = re.findall(r"python -m ([\w.]+)", text)
    scripts = re.findall(r"python ([\w/]+\.py)", text)
    configs = re.findall(r"(configs/[\w.-]+\.yaml)", text)
    return modules, scripts, configs


@pytest.mark.parametrize("block", _ids(SHELL))
def test_shell_block_parses_and_names_what_exists(block):
    if block.skip:
        pytest.skip(block.skip)
    r = subprocess.run(["bash", "-n"], input=block.code, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{block.id}: bash cannot parse it: {r.stderr}"
    modules, scripts, configs = _commands(block.code)
    ours = [m for m in modules if m.partition(".")[0] == "extensions"]
    assert [m for m in ours if importlib.util.find_spec(m) is None] == [], block.id
    assert [s for s in scripts + configs if not (ROOT / s).exists()] == [], block.id
