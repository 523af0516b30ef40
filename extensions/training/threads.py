"""CPU threads for a run on a machine that other jobs may share.

Torch's OpenMP threads wait for each other by spinning; when another job holds a core, a spinning thread burns
CPU time waiting for one that is not running, and a run's CPU time grows several-fold. :func:`plan_threads`
therefore uses no more threads than the cores idle when the run starts, and :func:`quiet_runtime_env` makes
the threads wait passively (``OMP_WAIT_POLICY=PASSIVE``) with one inter-op thread. The environment must be set
before torch is imported, so the command sets it first (:func:`extensions.training.cli.main`).

>>> plan_threads(None, cpus=2, busy=0.1).threads
2
>>> plan_threads(None, cpus=2, busy=3.8).threads
1
"""

from __future__ import annotations

import os
import time
from collections.abc import MutableMapping
from dataclasses import dataclass

# What a run sets before torch starts its thread pools (an existing value is kept).
RUNTIME_ENV = {
    "OMP_WAIT_POLICY": "PASSIVE",  # threads sleep while they wait instead of spinning on a shared core
    "KMP_BLOCKTIME": "0",  # the same for Intel's OpenMP, where torch links it
}
# Offline runs: no Hugging Face Hub telemetry, no network look-ups.
HUB_TELEMETRY_OFF = {"HF_HUB_DISABLE_TELEMETRY": "1"}
HUB_OFFLINE = {"HF_HUB_OFFLINE": "1"}


@dataclass(frozen=True)
class ThreadPlan:
    """The torch thread count of a run and what it was chosen from.

    Attributes:
        threads: intra-op threads for torch.
        cpus: the cores this process may use.
        busy: cores other jobs kept busy when the run started (None when it could not be measured).
        requested: the count asked for with ``--threads``, if any.
    """

    threads: int
    cpus: int
    busy: float | None
    requested: int | None = None

    @property
    def shared(self) -> bool:
        """Other jobs held at least half a core when the run started."""
        return self.busy is not None and self.busy >= 0.5

    def warning(self) -> str | None:
        """One warning when the machine is busy, naming what it costs and the fix; None on a quiet machine.

        >>> print(ThreadPlan(1, 2, 3.9).warning())  # doctest: +NORMALIZE_WHITESPACE
        warning: other jobs keep 3.9 of this machine's 2 cores busy, so torch uses 1 thread (passive waiting,
        no spinning); the run will take longer than on a quiet machine. To get the documented time, let the
        other jobs finish first; --threads N sets the count yourself.
        """
        if not self.shared:
            return None
        word = "thread" if self.threads == 1 else "threads"
        cost = "the run will take longer than on a quiet machine"
        if self.requested and self.requested > self.cpus - (self.busy or 0.0):
            cost = f"--threads {self.requested} is more than the idle cores, so the threads compete with the jobs"
        return (
            f"warning: other jobs keep {self.busy:.1f} of this machine's {self.cpus} cores busy, so torch uses "
            f"{self.threads} {word} (passive waiting, no spinning); {cost}. To get the documented time, let the "
            "other jobs finish first; --threads N sets the count yourself."
        )


def usable_cpus() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one).

    >>> usable_cpus() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies of all cores from ``/proc/stat``; None where there is no such file."""
    try:
        with open("/proc/stat") as fh:
            fields = [float(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def busy_cores(interval: float = 0.5) -> float | None:
    """How many cores other work keeps busy now: measured over ``interval`` seconds, else the load average.

    Args:
        interval: how long to watch ``/proc/stat`` (Linux).

    Returns:
        Busy cores (0 to the machine's core count), or None when neither source exists.

    >>> busy_cores(0.05) is None or busy_cores(0.05) >= 0.0
    True
    """
    first = _cpu_times()
    if first is not None:
        time.sleep(interval)
        second = _cpu_times()
        if second is not None and second[1] > first[1]:
            share = (second[0] - first[0]) / (second[1] - first[1])
            return round(share * (os.cpu_count() or 1), 2)
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def plan_threads(requested: int | None, *, cpus: int | None = None, busy: float | None = None) -> ThreadPlan:
    """The thread count of a run: ``requested``, else the cores idle at the start (at least one).

    Args:
        requested: ``--threads``, or None to choose.
        cpus: usable cores (default: :func:`usable_cpus`).
        busy: cores other jobs keep busy (default: measured by :func:`busy_cores`).

    Returns:
        The :class:`ThreadPlan`.

    >>> plan_threads(4, cpus=2, busy=0.0).threads
    4
    >>> plan_threads(None, cpus=8, busy=2.6).threads
    5
    """
    cpus = cpus or usable_cpus()
    if busy is None and requested is None:
        busy = busy_cores()
    if requested:
        return ThreadPlan(requested, cpus, busy, requested)
    idle = cpus - (busy or 0.0)
    return ThreadPlan(max(1, min(cpus, int(idle + 0.5))), cpus, busy)


def quiet_runtime_env(
    threads: int, *, offline: bool, no_telemetry: bool, environ: MutableMapping[str, str] | None = None
) -> dict[str, str]:
    """Set the environment a CPU run needs before torch and huggingface_hub are imported; returns what it set.

    Sets :data:`RUNTIME_ENV` and ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``/``RAYON_NUM_THREADS`` (the tokenizer's
    pool) to ``threads``; with ``no_telemetry`` ``HF_HUB_DISABLE_TELEMETRY=1``, with ``offline``
    ``HF_HUB_OFFLINE=1``. A value already in the environment is kept.

    Args:
        threads: the run's thread count.
        offline: the run loads nothing from the Hub.
        no_telemetry: turn Hugging Face Hub telemetry off.
        environ: the environment to change (default ``os.environ``).

    Returns:
        The variables this call set (those not already set).

    >>> env = {"OMP_NUM_THREADS": "4"}
    >>> sorted(quiet_runtime_env(1, offline=True, no_telemetry=True, environ=env))[:3]
    ['HF_HUB_DISABLE_TELEMETRY', 'HF_HUB_OFFLINE', 'KMP_BLOCKTIME']
    >>> env["OMP_NUM_THREADS"], env["OMP_WAIT_POLICY"]
    ('4', 'PASSIVE')
    """
    environ = os.environ if environ is None else environ
    wanted = {**RUNTIME_ENV, **(HUB_TELEMETRY_OFF if no_telemetry else {}), **(HUB_OFFLINE if offline else {})}
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        wanted[name] = str(threads)
    set_now = {k: v for k, v in wanted.items() if k not in environ}
    environ.update(set_now)
    return set_now


def apply_threads(threads: int) -> None:
    """Give torch ``threads`` intra-op threads and one inter-op thread.

    The inter-op count can only be set before torch first uses its inter-op pool; later calls keep it.

    Args:
        threads: intra-op threads.

    >>> apply_threads(1)
    """
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # the pool has started (torch was used before): it keeps its size
        pass
