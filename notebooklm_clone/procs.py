"""Child processes that never outlive their parent, and the share of the cores a process may use.

`die_with_parent` runs first in every worker process (or between fork and exec of a server): on Linux the kernel
sends it SIGKILL when the parent dies, even when the parent itself was killed with SIGKILL, so no orphan keeps
computing or writing after a `podcast`, `speak` or `batch` is stopped.

`cpu_share` is how a process that runs one of several documents at once learns how many cores are its own: the
executors set it (it travels to spawned children in the environment), and speech synthesis then runs inline with
that many threads instead of starting one process per core on a machine whose cores are already taken.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Iterator

CPU_SHARE_ENV = "NOTEBOOKLM_CLONE_CPU_SHARE"
PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None = None) -> None:
    """Ask the kernel for SIGKILL when our parent dies (Linux), then exit at once if it already has: a parent that
    died before the request took effect would never send the signal. `parent_pid` is the parent we were started
    by; without it only the request is made (as in a preexec_fn, where the parent is alive by construction)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # no libc prctl: the parent's own cleanup still stops us
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)


def machine_cores() -> int:
    """Cores this process may run on (its CPU affinity), whatever share of them a document has."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def usable_cores() -> int:
    """Cores this process may use: its CPU affinity, or its share when an executor runs several documents at once."""
    cores = machine_cores()
    share = cpu_share()
    return max(1, min(cores, share)) if share else cores


def cpu_share() -> int | None:
    """The cores set aside for this document when several run at once (None: the machine is ours)."""
    try:
        return max(1, int(os.environ[CPU_SHARE_ENV]))
    except (KeyError, ValueError):
        return None


@contextlib.contextmanager
def sharing_cores(cores: int) -> Iterator[None]:
    """Within the block (and in processes started from it) this process counts as one of several documents that
    share the machine, with `cores` cores of its own."""
    before = os.environ.get(CPU_SHARE_ENV)
    os.environ[CPU_SHARE_ENV] = str(max(1, int(cores)))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CPU_SHARE_ENV, None)
        else:
            os.environ[CPU_SHARE_ENV] = before
