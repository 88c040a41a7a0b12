"""Run learner code in a subprocess with a timeout, resource limits and no network.

The checker never runs learner code in its own process. :func:`run_sandboxed` starts
it in its own session (process group) with:

* a wall-clock timeout (the whole group is killed) and ``RLIMIT_CPU``;
* ``RLIMIT_DATA``/``RLIMIT_AS`` for memory, ``RLIMIT_FSIZE`` per file plus a watchdog on the
  growth of the working and temporary directories (disk);
* a process cap: a per-run ``pids`` cgroup when one can be made (the only cap that
  holds for root), else a dedicated unprivileged uid with ``RLIMIT_NPROC`` when we are
  root, else ``RLIMIT_NPROC`` on top of the user's current process count;
* a private network namespace with only loopback (``network_isolated`` says whether it
  could be made);
* bounded output capture.

It returns a :class:`SandboxResult` and never raises for a misbehaving program: a
program that loops, forks without end, fills the disk or reaches for the network gets
a ``killed_reason`` that says so in plain words.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from learnbackend.errors import EnvironmentMissing
from learnbackend.liveness import process_alive
from learnbackend.sandbox import isolation
from learnbackend.sandbox.cgroup import PidsCgroup

#: Bytes kept of each of stdout and stderr; the rest is read and dropped.
OUTPUT_LIMIT = 256 * 1024
TRUNCATED = "\n[... output truncated by the sandbox ...]\n"
#: Marks the private temporary directory of a run: ``learnbackend-sandbox-<checker pid>-...``.
TMP_PREFIX = "learnbackend-sandbox-"
#: First uid of the range used for the dedicated-uid fallback (root without cgroups).
SANDBOX_UID_BASE = 610_000
_uid_counter = itertools.count()

_MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
_FORK_MARKERS = ("Resource temporarily unavailable", "BlockingIOError", "fork: retry", "Cannot fork")
_DISK_MARKERS = ("File too large", "[Errno 27]", "Disk quota exceeded", "No space left on device")
_NETWORK_MARKERS = (
    "Network is unreachable", "[Errno 101]", "Temporary failure in name resolution",
    "Name or service not known", "No address associated with hostname", "[Errno -3]", "[Errno -2]",
)


@dataclass
class SandboxResult:
    """What happened to one sandboxed run."""

    #: The exit status when the program exited by itself; None when it was killed by a signal.
    exit_code: int | None
    stdout: str
    stderr: str
    #: True when the wall-clock timeout ended the run.
    timed_out: bool
    #: A plain-words reason when a limit ended or broke the run (timeout, memory, processes, disk, network).
    killed_reason: str | None
    duration_s: float
    #: True when the program ran in a private network namespace (no network but loopback).
    network_isolated: bool

    @property
    def ok(self) -> bool:
        """Exited by itself with status 0 and hit no limit."""
        return self.exit_code == 0 and self.killed_reason is None


class _Capture(threading.Thread):
    """Reads one pipe to the end, keeping at most ``limit`` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.limit = stream, limit
        self.data = bytearray()
        self.truncated = False

    def run(self) -> None:
        try:
            while chunk := self.stream.read1(65536):  # type: ignore[attr-defined]
                room = self.limit - len(self.data)
                if room > 0:
                    self.data += chunk[:room]
                if len(chunk) > room:
                    self.truncated = True
        except (OSError, ValueError):
            pass

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        return text + TRUNCATED if self.truncated else text


def _disk_usage(paths: list[Path]) -> int:
    """Bytes really allocated under ``paths`` (sparse files count what they use)."""
    total = 0
    stack = [str(p) for p in paths]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        continue
        except OSError:
            continue
    return total


_reaped = False


def _reap_temp_dirs() -> None:
    """Remove the temporary directories of runs whose checker was killed (once per process)."""
    global _reaped
    if _reaped:
        return
    _reaped = True
    for entry in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
        owner = entry.name[len(TMP_PREFIX):].split("-")[0]
        if not owner.isdigit() or not entry.is_dir():
            continue
        if not process_alive(int(owner)):
            shutil.rmtree(entry, ignore_errors=True)


def _base_env(tmp: Path, env: dict[str, str] | None) -> dict[str, str]:
    base = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(tmp),
        "TMPDIR": str(tmp),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        # Fewer malloc arenas: each reserves address space that RLIMIT_AS would count.
        "MALLOC_ARENA_MAX": "2",
        # Learner tests run with pytest's own plugins only, not whatever the checker's environment
        # has installed: deterministic, and 4-5x faster to start here. Enable one with `-p NAME`,
        # or pass env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": ""} to autoload again.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    base.update(env or {})
    return base


def _plan_processes(max_procs: int, strategy: str | None) -> tuple[PidsCgroup | None, int | None, int | None]:
    """(cgroup, RLIMIT_NPROC value, uid to run as) for the process cap."""
    if strategy in (None, "cgroup"):
        group = PidsCgroup.create(max_procs)
        if group is not None or strategy == "cgroup":
            return group, None, None
    if os.geteuid() == 0:
        uid = SANDBOX_UID_BASE + (os.getpid() * 64 + next(_uid_counter)) % 300_000
        return None, max_procs, uid
    return None, isolation.count_processes_of(os.geteuid()) + max_procs, None


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` (kill(-1) from that uid reaches exactly them)."""
    def become_and_kill() -> None:
        os.setgid(uid)
        os.setuid(uid)
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass

    for _ in range(3):
        try:
            subprocess.run(["/bin/true"], preexec_fn=become_and_kill, check=False, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return
        if isolation.count_processes_of(uid) == 0:
            return


def _reason(*, timed_out: bool, timeout: float, returncode: int, stderr: str, limits: dict[str, int],
            procs_hit: bool, disk_hit: bool) -> str | None:
    """The plain-words reason a limit ended or broke the run, or None."""
    parts: list[str] = []
    if procs_hit or (returncode != 0 and any(m in stderr for m in _FORK_MARKERS)):
        parts.append(f"process limit: the program tried to run more than {limits['procs']} processes at once")
    if disk_hit or returncode in (-signal.SIGXFSZ,) or (returncode != 0 and any(m in stderr for m in _DISK_MARKERS)):
        parts.append(f"disk limit: the program wrote more than {limits['disk']} MB")
    if returncode == -signal.SIGXCPU:
        parts.append(f"CPU limit: the program used more than {limits['cpu']} s of CPU time")
    if returncode != 0 and any(m in stderr for m in _MEMORY_MARKERS):
        parts.append(f"memory limit: the program tried to use more than {limits['memory']} MB")
    if returncode != 0 and any(m in stderr for m in _NETWORK_MARKERS):
        parts.append("network blocked: the sandbox has no network, only 127.0.0.1 (loopback)")
    if timed_out:
        parts.insert(0, f"timeout: still running after {timeout:g} s, stopped")
    return "; ".join(parts) or None


def run_sandboxed(argv: list[str], *, cwd: Path, timeout: float = 30.0, memory_mb: int = 512, max_procs: int = 64,
                  max_file_mb: int = 50, env: dict[str, str] | None = None, network: bool = False) -> SandboxResult:
    """Run ``argv`` in ``cwd`` in a sandbox and return what happened; never raises for the program's behaviour.

    ``max_file_mb`` caps each file written and the total growth of ``cwd`` plus the
    run's private temporary directory (``$TMPDIR``/``$HOME``, removed afterwards).
    ``network=True`` keeps the host network. Raises ``FileNotFoundError`` only when
    ``argv[0]`` or ``cwd`` does not exist, and EnvironmentMissing when the sandbox's
    unprivileged user (used as root without cgroups) may not run ``argv[0]``.
    """
    return _run(argv, cwd=Path(cwd), timeout=timeout, memory_mb=memory_mb, max_procs=max_procs,
                max_file_mb=max_file_mb, env=env, network=network)


def _run(argv: list[str], *, cwd: Path, timeout: float, memory_mb: int, max_procs: int, max_file_mb: int,
         env: dict[str, str] | None, network: bool, process_strategy: str | None = None) -> SandboxResult:
    """:func:`run_sandboxed`, with the process-cap strategy selectable (tests exercise each one)."""
    if not cwd.is_dir():
        raise FileNotFoundError(f"sandbox working directory {cwd} does not exist")
    _reap_temp_dirs()
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
    group, nproc, uid = _plan_processes(max_procs, process_strategy)
    if uid is not None:
        os.chown(tmp, uid, uid)
    private_network = not network and isolation.network_isolation_available()
    setup = isolation.ChildSetup(
        memory_mb=memory_mb, max_file_mb=max_file_mb, cpu_seconds=max(1, math.ceil(timeout) + 1),
        nproc=nproc, cgroup_procs=group.join_path() if group else None, private_network=private_network, run_as=uid,
    )
    watched = [cwd, tmp]
    disk_before = _disk_usage(watched)
    disk_budget = max_file_mb * 1024 * 1024
    start = time.monotonic()
    timed_out = disk_hit = False
    try:
        # preexec_fn is the only way to enter namespaces, a cgroup and limits between fork and exec;
        # ChildSetup only makes system calls with modules imported beforehand (safe in a threaded parent).
        proc = subprocess.Popen(
            argv, cwd=cwd, env=_base_env(tmp, env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=setup, close_fds=True,  # noqa: PLW1509
        )
    except BaseException as exc:
        if group is not None:
            group.remove()
        shutil.rmtree(tmp, ignore_errors=True)
        if uid is not None and isinstance(exc, PermissionError):
            raise EnvironmentMissing(
                f"The sandbox runs learner code as an unprivileged user here (no cgroup for a process limit), "
                f"and that user may not run {argv[0]} in {cwd}.",
                fix="Make the interpreter and the workspace readable by every user (not under /root), "
                    "or run where the cgroup pids controller is writable.",
            ) from None
        raise
    readers = [_Capture(proc.stdout, OUTPUT_LIMIT), _Capture(proc.stderr, OUTPUT_LIMIT)]  # type: ignore[arg-type]
    for reader in readers:
        reader.start()
    procs_hit = False
    try:
        try:
            next_disk_check, disk_interval = start, 0.05
            while proc.poll() is None:
                now = time.monotonic()
                if now - start >= timeout:
                    timed_out = True
                    break
                if now >= next_disk_check:
                    t0 = time.monotonic()
                    if _disk_usage(watched) - disk_before > disk_budget:
                        disk_hit = True
                        break
                    # A big directory is walked less often, so the watchdog costs at most ~10 %.
                    next_disk_check = time.monotonic() + max(disk_interval, 10 * (time.monotonic() - t0))
                try:
                    proc.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            # Also on Ctrl-C: nothing the learner started outlives the run.
            _stop(proc, group, uid)
        returncode = proc.wait()
        duration = time.monotonic() - start
        for reader in readers:
            reader.join(timeout=5)
        procs_hit = group.limit_hit() if group is not None else False
    finally:
        if group is not None:
            group.remove()
        shutil.rmtree(tmp, ignore_errors=True)
    stderr = readers[1].text()
    killed_by_us = timed_out or disk_hit
    reason = _reason(
        timed_out=timed_out, timeout=timeout, returncode=returncode, stderr=stderr, procs_hit=procs_hit,
        disk_hit=disk_hit, limits={"procs": max_procs, "disk": max_file_mb, "cpu": setup.cpu_seconds, "memory": memory_mb},
    )
    return SandboxResult(
        exit_code=None if killed_by_us or returncode < 0 else returncode,
        stdout=readers[0].text(), stderr=stderr, timed_out=timed_out, killed_reason=reason,
        duration_s=round(duration, 3), network_isolated=private_network,
    )


def _stop(proc: subprocess.Popen[bytes], group: PidsCgroup | None, uid: int | None) -> None:
    """Kill the whole run: its process group, its cgroup, or every process of its uid."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if group is not None:
        group.kill_all()
    if uid is not None:
        _kill_uid(uid)
