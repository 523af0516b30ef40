"""Give freed tensor memory back to the operating system during a CPU run (glibc).

glibc's ``malloc`` serves an allocation above its mmap threshold with ``mmap`` and returns it to the OS when it
is freed, but it raises that threshold (up to 32 MiB) each time such a block is freed, after which freed
tensors of a few MiB stay in the heap, scattered, and the resident set only grows. A fixed threshold
(:data:`MMAP_THRESHOLD`, set with ``mallopt`` as ``MALLOC_MMAP_THRESHOLD_`` would) keeps every tensor above it
on ``mmap``: a run's peak memory is then what its tensors need at one time.

>>> MMAP_THRESHOLD
65536
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD = 64 * 1024  # bytes: allocations at least this large are mmapped and unmapped when freed


def release_freed_memory(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes for this process; False where that is not possible.

    Call it before the large allocations start (the CLI calls it before loading the model). Other C
    libraries (macOS, musl) are left alone.

    Args:
        threshold: the fixed threshold in bytes.

    Returns:
        True when glibc accepted the setting.

    >>> release_freed_memory()  # doctest: +SKIP
    True
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, int(threshold)))
