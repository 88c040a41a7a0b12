"""Run learner code in a sandbox: its own namespaces, a private root, an unprivileged uid, limits.

The checker never runs learner code in its own process. :func:`start_sandboxed` starts it
(:mod:`learnbackend.sandbox.launch`, :mod:`learnbackend.sandbox.isolation`) with:

* a private filesystem view (:mod:`learnbackend.sandbox.fsview`): only the run directory and
  its private ``$TMPDIR`` are writable; the checker's files, homes, sockets are not there;
* its own PID, mount, IPC, UTS and network namespaces (only loopback); when its init dies
  every process of the run dies, and the checker is invisible to it;
* a dedicated unprivileged uid when the checker is root (no capabilities, no_new_privs), a
  user namespace with every capability dropped otherwise;
* a wall-clock deadline enforced by a watchdog thread, and ``RLIMIT_CPU``;
* ``RLIMIT_DATA``/``RLIMIT_AS`` for memory, ``RLIMIT_FSIZE`` per file plus a watchdog on the
  growth of the run directory and the private temporary directory (disk);
* a process cap: a per-run ``pids`` cgroup when one can be made, and ``RLIMIT_NPROC``;
* bounded output capture.

Where no isolation can be made, runs are refused (EnvironmentMissing, exit 3) unless the
instructor opted out (``LEARNBACKEND_SANDBOX_ALLOW_UNISOLATED=1``). A run returns a
:class:`SandboxResult` and never raises for a misbehaving program: a program that loops,
forks without end, fills the disk or reaches for the network gets a ``killed_reason``
that says so in plain words.
"""

from __future__ import annotations

import io
import os
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from learnbackend.sandbox import launch
from learnbackend.sandbox.launch import (
    ALLOW_UNISOLATED_ENV,
    TMP_PREFIX,
    isolation_status,
)

__all__ = ["ALLOW_UNISOLATED_ENV", "TMP_PREFIX", "SandboxResult", "SandboxedProcess", "isolation_status",
           "run_sandboxed", "start_sandboxed"]

#: Bytes kept of each of stdout and stderr; the rest is read and dropped.
OUTPUT_LIMIT = 256 * 1024
TRUNCATED = "\n[... output truncated by the sandbox ...]\n"

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
    #: False when the program ran without namespaces and a private root (the instructor opted out).
    isolated: bool = True

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
    """Bytes allocated under ``paths`` (sparse files count what they use, every entry at least 4 KiB)."""
    total = 0
    stack = [str(p) for p in paths]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        # Every entry costs at least a block: empty files must not flood the inode table.
                        total += max(entry.stat(follow_symlinks=False).st_blocks * 512, 4096)
                    except OSError:
                        continue
        except OSError:
            continue
    return total



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


def _wait_exit(proc: subprocess.Popen[bytes], end: float) -> bool:
    """Wait until ``proc`` exits or the monotonic time ``end``; whether it exited."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfd (Linux < 5.3) or already reaped
        try:
            proc.wait(timeout=max(0.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        while proc.poll() is None:
            left = end - time.monotonic()
            if left <= 0 or not select.select([pidfd], [], [], left)[0]:
                return proc.poll() is not None
    finally:
        os.close(pidfd)
    return True


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

    def __init__(self, run: launch.Run, *, timeout: float, limits: dict[str, int], watched: list[Path],
                 disk_budget: int) -> None:
        assert run.proc is not None
        proc = self._proc = run.proc
        self._run = run
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self.stdin = proc.stdin
        self.stdout = io.BufferedReader(proc.stdout)  # type: ignore[type-var]
        self._timeout, self._limits = timeout, limits
        self._watched, self._disk_budget = watched, disk_budget
        self._disk_before = _disk_usage(watched)
        self._start = time.monotonic()
        self._deadline = self._start + timeout
        self._lock = threading.Lock()
        self._stopped = False
        self._ended = threading.Event()
        self._finished: SandboxResult | None = None
        self.timed_out = self._disk_hit = False
        self._stderr = _Capture(proc.stderr, OUTPUT_LIMIT)
        self._stderr.start()
        self._stdout_rest: _Capture | None = None
        self._watchdog = threading.Thread(target=self._watch, daemon=True)
        self._watchdog.start()

    @property
    def pid(self) -> int:
        """The pid (in the checker's view) of the run's first process, not the program's own."""
        return self._proc.pid

    def _watch(self) -> None:
        """Kill the run at its deadline or when it writes more than its disk budget."""
        next_disk_check, disk_interval = self._start, 0.05
        next_count = self._start + 0.1
        while not self._stopped and self._proc.poll() is None:
            now = time.monotonic()
            if now >= next_count:
                self._run.sample_processes()
                next_count = now + 0.2
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
            # finish() sets _ended: the watchdog stops at once instead of at its next tick.
            if self._ended.wait(min(0.05, max(0.001, self._deadline - now))):
                return

    def kill(self) -> None:
        """Kill every process of the run now (idempotent; the result says how it ended)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._run.stop()

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
            if timeout is None:
                self._proc.wait()  # the watchdog kills the run at its deadline
            elif not _wait_exit(self._proc, min(self._deadline, time.monotonic() + timeout)):
                self.timed_out = True
        finally:
            self._ended.set()
            # Also on Ctrl-C: nothing the learner started outlives the run.
            self.kill()
            returncode = self._run.returncode()
            duration = time.monotonic() - self._start
            self._watchdog.join(timeout=5)
            self._stderr.join(timeout=5)
            if self._stdout_rest is not None:
                self._stdout_rest.join(timeout=5)
            procs_hit = self._run.procs_hit()
            self.stdout.close()
            self._run.remove()
        stderr = self._stderr.text()
        timed_out, disk_hit = self.timed_out, self._disk_hit
        waited = self._timeout if timeout is None else min(self._timeout, timeout)
        reason = _reason(timed_out=timed_out, timeout=waited, returncode=returncode, stderr=stderr,
                         procs_hit=procs_hit, disk_hit=disk_hit, limits=self._limits)
        self._finished = SandboxResult(
            exit_code=None if timed_out or disk_hit or returncode < 0 else returncode,
            stdout=self._stdout_rest.text() if self._stdout_rest is not None else "", stderr=stderr,
            timed_out=timed_out, killed_reason=reason, duration_s=round(duration, 3),
            network_isolated=self._run.network_isolated, isolated=self._run.mode != "none",
        )
        return self._finished

    def __enter__(self) -> SandboxedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
        if self._finished is None:
            try:
                self.finish(timeout=0)
            except Exception:  # noqa: BLE001 - cleanup on the way out must not mask the caller's exception
                self._run.remove()


def start_sandboxed(argv: list[str], *, cwd: Path, timeout: float = 30.0, memory_mb: int = 512, max_procs: int = 64,
                    max_file_mb: int = 50, env: dict[str, str] | None = None, network: bool = False,
                    readable: list[Path] | None = None) -> SandboxedProcess:
    """Start ``argv`` in ``cwd`` in a sandbox and return it running, with pipes to talk to it.

    Same limits as :func:`run_sandboxed`; the deadline (``timeout``) kills the program even
    while the caller waits on its output. ``readable`` lists extra host paths the program may
    read (an interpreter's library, a worker script); when the checker is root the program
    runs as a dedicated uid, so they must be readable by every user. Use it as a context
    manager, or call :meth:`SandboxedProcess.finish`.
    """
    return _start(argv, cwd=Path(cwd), timeout=timeout, memory_mb=memory_mb, max_procs=max_procs,
                  max_file_mb=max_file_mb, env=env, network=network, readable=readable)


def run_sandboxed(argv: list[str], *, cwd: Path, timeout: float = 30.0, memory_mb: int = 512, max_procs: int = 64,
                  max_file_mb: int = 50, env: dict[str, str] | None = None, network: bool = False,
                  readable: list[Path] | None = None) -> SandboxResult:
    """Run ``argv`` in ``cwd`` in a sandbox and return what happened; never raises for the program's behaviour.

    ``max_file_mb`` caps each file written, the total growth of ``cwd`` plus the run's
    private temporary directory (``$TMPDIR``/``$HOME``, removed afterwards), and its ``/tmp``.
    The program sees the system, the checker's Python, ``cwd`` (writable) and ``readable``
    (see :mod:`learnbackend.sandbox.fsview`). ``network=True`` keeps the host network.
    Raises ``FileNotFoundError`` when ``argv[0]`` or ``cwd`` does not exist, and
    EnvironmentMissing when the sandbox cannot be made here (and the instructor did not
    opt out) or its unprivileged user may not run ``argv[0]``.
    """
    return _run(argv, cwd=Path(cwd), timeout=timeout, memory_mb=memory_mb, max_procs=max_procs,
                max_file_mb=max_file_mb, env=env, network=network, readable=readable)


def _run(argv: list[str], *, cwd: Path, timeout: float, memory_mb: int, max_procs: int, max_file_mb: int,
         env: dict[str, str] | None, network: bool, process_strategy: str | None = None,
         readable: list[Path] | None = None, mode: str | None = None) -> SandboxResult:
    """:func:`run_sandboxed`, with the process-cap strategy and the mode selectable (tests exercise each one)."""
    with _start(argv, cwd=cwd, timeout=timeout, memory_mb=memory_mb, max_procs=max_procs, max_file_mb=max_file_mb,
                env=env, network=network, process_strategy=process_strategy, readable=readable,
                mode=mode) as running:
        return running.finish()


def _start(argv: list[str], *, cwd: Path, timeout: float, memory_mb: int, max_procs: int, max_file_mb: int,
           env: dict[str, str] | None, network: bool, process_strategy: str | None = None,
           readable: list[Path] | None = None, mode: str | None = None) -> SandboxedProcess:
    run, limits = launch.launch(argv, cwd=cwd, timeout=timeout, memory_mb=memory_mb, max_procs=max_procs,
                                max_file_mb=max_file_mb, env=env, network=network, readable=readable,
                                process_strategy=process_strategy, mode=mode)
    described = {"procs": max_procs, "disk": max_file_mb, "cpu": limits.cpu_seconds, "memory": memory_mb}
    return SandboxedProcess(run, timeout=timeout, limits=described, watched=[cwd, run.base / "tmp"],
                            disk_budget=max_file_mb * 1024 * 1024)
