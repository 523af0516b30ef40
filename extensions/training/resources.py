"""What a run cost: CPU seconds, wall seconds, peak memory and the machine's load while it ran.

:class:`Meter` starts with the run and :meth:`Meter.read` gives the figures ``eval.json`` records under
``resources``.

>>> sorted(Meter(busy_cores=0.1).read())
['busy_cores_at_start', 'cpu_s', 'cpus', 'load_avg', 'peak_rss_mb', 'wall_s']
"""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS has none.

    >>> load_average() is None or load_average() >= 0
    True
    """
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def peak_rss_mb() -> float:
    """The largest resident set this process has had so far, in MiB (``getrusage``'s ``ru_maxrss``).

    >>> peak_rss_mb() > 0
    True
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)  # bytes on macOS, KiB on Linux


def cpu_seconds() -> float:
    """User + system CPU time of this process (every thread) and of its children that have ended.

    >>> cpu_seconds() > 0
    True
    """
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class Meter:
    """CPU and wall time since it was made, peak RSS and the load average at the start and now.

    Attributes:
        busy_cores: cores other jobs kept busy when the run started (None: not measured).
    """

    busy_cores: float | None = None
    wall0: float = field(default_factory=time.perf_counter)
    cpu0: float = field(default_factory=cpu_seconds)
    load0: float | None = field(default_factory=load_average)

    def read(self) -> dict[str, Any]:
        """The figures so far.

        Returns:
            ``cpu_s``, ``wall_s``, ``peak_rss_mb`` (this process; the reward's worker processes are apart and
            small), ``load_avg`` (``[start, now]``), ``cpus`` and ``busy_cores_at_start``.

        >>> Meter().read()["wall_s"] >= 0
        True
        """
        return {
            "cpu_s": round(cpu_seconds() - self.cpu0, 1),
            "wall_s": round(time.perf_counter() - self.wall0, 1),
            "peak_rss_mb": peak_rss_mb(),
            "load_avg": [self.load0, load_average()],
            "cpus": os.cpu_count(),
            "busy_cores_at_start": self.busy_cores,
        }
