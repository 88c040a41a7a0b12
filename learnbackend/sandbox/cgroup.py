"""A per-run ``pids`` cgroup: caps the number of processes of one sandboxed run and kills them all.

``RLIMIT_NPROC`` counts every process of a uid and is not enforced for root, so when we
run as root a cgroup is the reliable way to stop a fork storm. Both cgroup v2 (a
delegated unified hierarchy with the ``pids`` controller) and the v1 ``pids`` hierarchy
are supported. Every directory we create is named ``learnbackend-sandbox-<pid>-<n>`` so
that leftovers of a crashed run can be recognised and removed (:func:`reap_leftovers`).
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

from learnbackend.liveness import process_alive

PREFIX = "learnbackend-sandbox-"
_V1_ROOT = Path("/sys/fs/cgroup/pids")
_V2_CANDIDATES = (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified"))
_counter = itertools.count()


def _v2_parent() -> Path | None:
    for root in _V2_CANDIDATES:
        controllers = root / "cgroup.controllers"
        try:
            if "pids" in controllers.read_text().split() and os.access(root, os.W_OK):
                subtree = (root / "cgroup.subtree_control").read_text().split()
                if "pids" in subtree:
                    return root
        except OSError:
            continue
    return None


def _parents() -> list[Path]:
    """Where a pids cgroup can be created, best first."""
    found: list[Path] = []
    v2 = _v2_parent()
    if v2 is not None:
        found.append(v2)
    if (_V1_ROOT / "cgroup.procs").exists() and os.access(_V1_ROOT, os.W_OK):
        found.append(_V1_ROOT)
    return found


class PidsCgroup:
    """One cgroup holding every process of one sandboxed run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, max_procs: int) -> PidsCgroup | None:
        """A fresh cgroup limited to ``max_procs`` processes, or None when none can be made here."""
        for parent in _parents():
            reap_leftovers(parent)
            path = parent / f"{PREFIX}{os.getpid()}-{next(_counter)}"
            try:
                path.mkdir()
                (path / "pids.max").write_text(str(max_procs))
            except OSError:
                try:
                    path.rmdir()
                except OSError:
                    pass
                continue
            return cls(path)
        return None

    def join_path(self) -> str:
        """The file a child writes its own pid into to enter the cgroup (used before exec)."""
        return str(self.path / "cgroup.procs")

    def limit_hit(self) -> bool:
        """Whether a fork was refused because the process limit was reached."""
        try:
            for line in (self.path / "pids.events").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "max" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def kill_all(self, *, deadline_s: float = 5.0) -> None:
        """SIGKILL every process in the cgroup until it is empty (a fork storm keeps forking)."""
        kill_file = self.path / "cgroup.kill"
        if kill_file.exists():
            try:
                kill_file.write_text("1")
            except OSError:
                pass
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        """Kill what is left and delete the cgroup directory."""
        self.kill_all()
        for _ in range(100):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)


_alive = process_alive


def reap_leftovers(parent: Path) -> int:
    """Remove cgroups left by sandbox runs whose owning process is gone; return how many."""
    removed = 0
    try:
        entries = list(parent.iterdir())
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(PREFIX) or not entry.is_dir():
            continue
        owner = entry.name[len(PREFIX):].split("-")[0]
        if owner.isdigit() and _alive(int(owner)):
            continue
        group = PidsCgroup(entry)
        group.remove()
        removed += not entry.exists()
    return removed
