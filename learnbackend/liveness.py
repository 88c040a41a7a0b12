"""Is a process still alive? The test every reaper uses before removing what a run left behind.

A PID alone is not an identity: once a process exits, the kernel hands its PID to
the next one. :func:`start_time` (from ``/proc/<pid>/stat``) plus the PID is: a run
records both, and :func:`same_process` is only true for that very process.
"""

from __future__ import annotations

import os
from pathlib import Path


def process_alive(pid: int) -> bool:
    """True if ``pid`` exists (even if it belongs to another user); False once it is gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, we may not signal it
        return True
    return True


def _stat_field(pid: int | str, index: int) -> int | None:
    """Field ``index + 3`` of /proc/<pid>/stat (counted after the command name); None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
        return int(stat.rsplit(")", 1)[1].split()[index])
    except (OSError, ValueError, IndexError):
        return None


def start_time(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (field 22 of /proc/<pid>/stat); None if it is gone."""
    return _stat_field(pid, 19)


def parent_pid(pid: int | str) -> int | None:
    """The parent of ``pid`` (field 4 of /proc/<pid>/stat); None if it is gone."""
    return _stat_field(pid, 1)


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, now."""
    return [int(entry.name) for entry in os.scandir("/proc")
            if entry.name.isdigit() and parent_pid(entry.name) == pid]


def same_process(pid: int, started: int | None) -> bool:
    """True while the process ``pid`` that started at ``started`` runs; a reused PID is not it.

    Without a known start time (no /proc, an old record) only the PID can be tested.
    """
    if pid <= 0:
        return False
    if started is None or not os.path.isdir("/proc/self"):
        return process_alive(pid)
    return start_time(pid) == started


def identity(pid: int | None = None) -> str:
    """``PID.START`` of a process (this one by default): what a record stores to find it again."""
    pid = os.getpid() if pid is None else pid
    started = start_time(pid)
    return f"{pid}.{started}" if started is not None else str(pid)


def identity_alive(token: str) -> bool:
    """Whether the process an :func:`identity` token names still runs (False for a malformed token)."""
    pid_text, _, start_text = token.partition(".")
    try:
        pid = int(pid_text)
        started = int(start_text) if start_text else None
    except ValueError:
        return False
    return same_process(pid, started)
