"""The code a result was produced by: the git commit of the checkout ``extensions`` is imported from.

>>> commit, dirty = code_version()
>>> commit == "unknown" or len(commit) == 40
True
"""

from __future__ import annotations

import functools
import os
import subprocess

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the extensions folder


@functools.lru_cache(maxsize=1)
def code_version() -> tuple[str, bool | None]:
    """``(commit, dirty)`` of the checkout the ``extensions`` package is imported from.

    Returns:
        The full commit hash and whether tracked files differ from it; ``("unknown", None)`` outside a git
        checkout (an installed wheel) or without ``git``.

    >>> isinstance(code_version()[0], str)
    True
    """

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", _PACKAGE, *args], capture_output=True, text=True, timeout=30)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return "unknown", None
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip() != ""
        return head.stdout.strip(), dirty
    except (OSError, subprocess.SubprocessError):
        return "unknown", None
