"""Long CLI work shows a progress bar on a terminal and nothing extra when piped (CI, logs)."""

from __future__ import annotations

import fcntl
import json
import os
import pathlib
import pty
import struct
import subprocess
import sys
import termios

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BAR = "%|"  # tqdm's bar: "evaluating:  40%|####      | 2/5 [...]"


def _commands(tmp: pathlib.Path, demo_dir: str) -> dict[str, list[str]]:
    db = os.path.join(demo_dir, "database")
    gold = tmp / "gold.json"
    gold.write_text(json.dumps([{"db_id": "hr", "query": "SELECT count(*) FROM employees"}] * 5))
    pred = tmp / "pred.txt"
    pred.write_text("SELECT count(id) FROM employees\n" * 5)
    return {
        "evaluate": [
            "-m",
            "extensions.evaluate",
            "--gold",
            str(gold),
            "--predictions",
            str(pred),
            "--db-dir",
            db,
            "--workers",
            "1",
        ],
        "validation": ["-m", "extensions.validation", str(gold), "--db-dir", db, "--workers", "1"],
        "data_prepare": [
            "-m",
            "extensions.data",
            "prepare",
            "--source",
            "demo",
            "--out",
            str(tmp / "prepared"),
            "--max-examples",
            "5",
        ],
        "bench": [
            "-m",
            "extensions.bench",
            "memory",
            "--n-databases",
            "3",
            "--rounds",
            "1",
            "--queries-per-db",
            "1",
            "--workers",
            "1",
            "--cache-dir",
            str(tmp / "bench"),
            "--shared",
            str(tmp / "absent"),
        ],
    }


def _env(demo_dir: str) -> dict[str, str]:
    return {**os.environ, "EXTENSIONS_DEMO_DIR": demo_dir, "PYTHONPATH": str(ROOT), "TERM": "xterm"}


def _run_on_tty(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0 columns wide
    proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["evaluate", "validation", "data_prepare", "bench"])
def test_progress_bar_on_a_terminal_only(name, tmp_path, demo_dir):
    argv = _commands(tmp_path, demo_dir)[name]
    env = _env(demo_dir)
    piped = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0, piped.stderr
    assert BAR not in piped.stderr + piped.stdout and "\r" not in piped.stderr
    code, screen = _run_on_tty(argv, env)
    assert code == 0, screen
    assert BAR in screen
