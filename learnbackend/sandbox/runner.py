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

import io
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
            read = getattr(self.stream, "read1", self.stream.read)
            while chunk := read(65536):
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


class SandboxedProcess:
    """One running sandboxed program with pipes to talk to it; a context manager that kills and cleans up.

    ``stdin`` is a pipe to the program (unbuffered), ``stdout`` a pipe from it (a buffered
    reader whose ``readline``/``read1`` return what is available). stderr is captured in the
    background, bounded. A watchdog thread enforces the run's deadline and disk budget even
    while the caller is blocked reading ``stdout``: the program is killed and the read sees EOF.
    :meth:`finish` ends the run and returns its :class:`SandboxResult`.
    """

    stdin: IO[bytes]
    stdout: IO[bytes]

    def __init__(self, proc: subprocess.Popen[bytes], *, cleanup: _Cleanup, timeout: float, limits: dict[str, int],
                 watched: list[Path], disk_budget: int, private_network: bool) -> None:
        self._proc, self._cleanup = proc, cleanup
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self.stdin = proc.stdin
        self.stdout = io.BufferedReader(proc.stdout)  # type: ignore[arg-type,type-var]
        self._timeout, self._limits, self._private_network = timeout, limits, private_network
        self._watched, self._disk_budget = watched, disk_budget
        self._disk_before = _disk_usage(watched)
        self._start = time.monotonic()
        self._deadline = self._start + timeout
        self._lock = threading.Lock()
        self._stopped = False
        self._finished: SandboxResult | None = None
        self.timed_out = self._disk_hit = False
        self._stderr = _Capture(proc.stderr, OUTPUT_LIMIT)
        self._stderr.start()
        self._stdout_rest: _Capture | None = None
        self._watchdog = threading.Thread(target=self._watch, daemon=True)
        self._watchdog.start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _watch(self) -> None:
        """Kill the run at its deadline or when it writes more than its disk budget."""
        next_disk_check, disk_interval = self._start, 0.05
        while self._proc.poll() is None and not self._stopped:
            now = time.monotonic()
            if now >= self._deadline:
                self.timed_out = True
                self.kill()
                return
            if now >= next_disk_check:
                t0 = time.monotonic()
                if _disk_usage(self._watched) - self._disk_before > self._disk_budget:
                    self._disk_hit = True
                    self.kill()
                    return
                # A big directory is walked less often, so the watchdog costs at most ~10 %.
                next_disk_check = time.monotonic() + max(disk_interval, 10 * (time.monotonic() - t0))
            try:
                self._proc.wait(timeout=min(0.05, max(0.001, self._deadline - now)))
            except subprocess.TimeoutExpired:
                pass

    def kill(self) -> None:
        """Kill every process of the run now (idempotent; the result says how it ended)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._cleanup.stop(self._proc)

    def finish(self, timeout: float | None = None) -> SandboxResult:
        """Close stdin, wait for the program (at most ``timeout`` s, never past the run's deadline), kill
        everything it left, clean up and return what happened. ``stdout`` holds what the caller did not read."""
        if self._finished is not None:
            return self._finished
        try:
            try:
                self.stdin.close()
            except OSError:
                pass
            if self._stdout_rest is None:
                self._stdout_rest = _Capture(self.stdout, OUTPUT_LIMIT)
                self._stdout_rest.start()
            end = self._deadline if timeout is None else min(self._deadline, time.monotonic() + timeout)
            while self._proc.poll() is None and not self._stopped:
                try:
                    self._proc.wait(timeout=max(0.001, min(0.05, end - time.monotonic())))
                except subprocess.TimeoutExpired:
                    pass
                if time.monotonic() >= end and self._proc.poll() is None:
                    self.timed_out = True
                    break
        finally:
            # Also on Ctrl-C: nothing the learner started outlives the run.
            self.kill()
            returncode = self._proc.wait()
            duration = time.monotonic() - self._start
            self._watchdog.join(timeout=5)
            self._stderr.join(timeout=5)
            if self._stdout_rest is not None:
                self._stdout_rest.join(timeout=5)
            procs_hit = self._cleanup.procs_hit()
            self._cleanup.remove()
        stderr = self._stderr.text()
        timed_out, disk_hit = self.timed_out, self._disk_hit
        waited = self._timeout if timeout is None else min(self._timeout, timeout)
        reason = _reason(timed_out=timed_out, timeout=waited, returncode=returncode, stderr=stderr,
                         procs_hit=procs_hit, disk_hit=disk_hit, limits=self._limits)
        self._finished = SandboxResult(
            exit_code=None if timed_out or disk_hit or returncode < 0 else returncode,
            stdout=self._stdout_rest.text() if self._stdout_rest is not None else "", stderr=stderr,
            timed_out=timed_out, killed_reason=reason, duration_s=round(duration, 3),
            network_isolated=self._private_network,
        )
        return self._finished

    def __enter__(self) -> SandboxedProcess:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
        if self._finished is None:
            try:
                self.finish(timeout=0)
            except Exception:  # noqa: BLE001 - cleanup on the way out must not mask the caller's exception
                self._cleanup.remove()


class _Cleanup:
    """What one run owns outside its processes: a cgroup, a dedicated uid, a private temporary directory."""

    def __init__(self, group: PidsCgroup | None, uid: int | None, tmp: Path) -> None:
        self.group, self.uid, self.tmp = group, uid, tmp
        self._removed = False

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        _stop(proc, self.group, self.uid)

    def procs_hit(self) -> bool:
        return self.group.limit_hit() if self.group is not None else False

    def remove(self) -> None:
        if self._removed:
            return
        self._removed = True
        if self.group is not None:
            self.group.remove()
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_sandboxed(argv: list[str], *, cwd: Path, timeout: float = 30.0, memory_mb: int = 512, max_procs: int = 64,
                    max_file_mb: int = 50, env: dict[str, str] | None = None, network: bool = False,
                    readable: list[Path] | None = None) -> SandboxedProcess:
    """Start ``argv`` in ``cwd`` in a sandbox and return it running, with pipes to talk to it.

    Same limits as :func:`run_sandboxed`; the deadline (``timeout``) kills the program even
    while the caller waits on its output. ``readable`` lists extra host paths the program may
    read (an interpreter's library, a worker script). Use it as a context manager, or call
    :meth:`SandboxedProcess.finish`.
    """
    return _start(argv, cwd=Path(cwd), timeout=timeout, memory_mb=memory_mb, max_procs=max_procs,
                  max_file_mb=max_file_mb, env=env, network=network, readable=readable)


def run_sandboxed(argv: list[str], *, cwd: Path, timeout: float = 30.0, memory_mb: int = 512, max_procs: int = 64,
                  max_file_mb: int = 50, env: dict[str, str] | None = None, network: bool = False,
                  readable: list[Path] | None = None) -> SandboxResult:
    """Run ``argv`` in ``cwd`` in a sandbox and return what happened; never raises for the program's behaviour.

    ``max_file_mb`` caps each file written and the total growth of ``cwd`` plus the
    run's private temporary directory (``$TMPDIR``/``$HOME``, removed afterwards).
    ``network=True`` keeps the host network. Raises ``FileNotFoundError`` only when
    ``argv[0]`` or ``cwd`` does not exist, and EnvironmentMissing when the sandbox's
    unprivileged user (used as root without cgroups) may not run ``argv[0]``.
    """
    return _run(argv, cwd=Path(cwd), timeout=timeout, memory_mb=memory_mb, max_procs=max_procs,
                max_file_mb=max_file_mb, env=env, network=network, readable=readable)


def _run(argv: list[str], *, cwd: Path, timeout: float, memory_mb: int, max_procs: int, max_file_mb: int,
         env: dict[str, str] | None, network: bool, process_strategy: str | None = None,
         readable: list[Path] | None = None) -> SandboxResult:
    """:func:`run_sandboxed`, with the process-cap strategy selectable (tests exercise each one)."""
    with _start(argv, cwd=cwd, timeout=timeout, memory_mb=memory_mb, max_procs=max_procs, max_file_mb=max_file_mb,
                env=env, network=network, process_strategy=process_strategy, readable=readable) as running:
        return running.finish()


def _start(argv: list[str], *, cwd: Path, timeout: float, memory_mb: int, max_procs: int, max_file_mb: int,
           env: dict[str, str] | None, network: bool, process_strategy: str | None = None,
           readable: list[Path] | None = None) -> SandboxedProcess:
    if not cwd.is_dir():
        raise FileNotFoundError(f"sandbox working directory {cwd} does not exist")
    _reap_temp_dirs()
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
    group, nproc, uid = _plan_processes(max_procs, process_strategy)
    cleanup = _Cleanup(group, uid, tmp)
    if uid is not None:
        os.chown(tmp, uid, uid)
    private_network = not network and isolation.network_isolation_available()
    setup = isolation.ChildSetup(
        memory_mb=memory_mb, max_file_mb=max_file_mb, cpu_seconds=max(1, math.ceil(timeout) + 1),
        nproc=nproc, cgroup_procs=group.join_path() if group else None, private_network=private_network, run_as=uid,
    )
    try:
        # preexec_fn is the only way to enter namespaces, a cgroup and limits between fork and exec;
        # ChildSetup only makes system calls with modules imported beforehand (safe in a threaded parent).
        proc = subprocess.Popen(
            argv, cwd=cwd, env=_base_env(tmp, env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=setup, close_fds=True,  # noqa: PLW1509
            bufsize=0,
        )
    except BaseException as exc:
        cleanup.remove()
        if uid is not None and isinstance(exc, PermissionError):
            raise EnvironmentMissing(
                f"The sandbox runs learner code as an unprivileged user here (no cgroup for a process limit), "
                f"and that user may not run {argv[0]} in {cwd}.",
                fix="Make the interpreter and the workspace readable by every user (not under /root), "
                    "or run where the cgroup pids controller is writable.",
            ) from None
        raise
    limits = {"procs": max_procs, "disk": max_file_mb, "cpu": setup.cpu_seconds, "memory": memory_mb}
    return SandboxedProcess(proc, cleanup=cleanup, timeout=timeout, limits=limits, watched=[cwd, tmp],
                            disk_budget=max_file_mb * 1024 * 1024, private_network=private_network)


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
