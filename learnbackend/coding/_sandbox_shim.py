"""TEMPORARY: ``start_sandboxed`` until learnbackend.sandbox.runner provides it (branch ``sandbox``).

Same interface as the announced API: a sandboxed process with binary ``stdin``/``stdout``
pipes, ``finish(timeout) -> SandboxResult``, ``kill()``, and a context manager. Built from
the runner's own pieces (limits, cgroup or uid, private network). Removed once it lands.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from learnbackend.sandbox import isolation
from learnbackend.sandbox.runner import (
    OUTPUT_LIMIT,
    TMP_PREFIX,
    SandboxResult,
    _base_env,
    _Capture,
    _plan_processes,
    _reap_temp_dirs,
    _reason,
    _stop,
)


class SandboxedProcess:
    """A running sandboxed program the caller talks to through ``stdin``/``stdout``."""

    def __init__(self, argv: list[str], *, cwd: Path, timeout: float, memory_mb: int, max_procs: int,
                 max_file_mb: int, env: dict[str, str] | None, network: bool) -> None:
        _reap_temp_dirs()
        self._tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
        self._group, nproc, self._uid = _plan_processes(max_procs, None)
        if self._uid is not None:
            os.chown(self._tmp, self._uid, self._uid)
        self.network_isolated = not network and isolation.network_isolation_available()
        self._setup = isolation.ChildSetup(
            memory_mb=memory_mb, max_file_mb=max_file_mb, cpu_seconds=max(1, math.ceil(timeout) + 1), nproc=nproc,
            cgroup_procs=self._group.join_path() if self._group else None, private_network=self.network_isolated,
            run_as=self._uid)
        self._limits = {"procs": max_procs, "disk": max_file_mb, "cpu": self._setup.cpu_seconds, "memory": memory_mb}
        self._timeout = timeout
        self._started = time.monotonic()
        self._timed_out = False
        self._result: SandboxResult | None = None
        try:
            self._proc = subprocess.Popen(
                argv, cwd=cwd, env=_base_env(self._tmp, env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True, preexec_fn=self._setup, close_fds=True,
            )
        except BaseException:
            self._cleanup()
            raise
        self.stdin: IO[bytes] = self._proc.stdin  # type: ignore[assignment]
        self.stdout: IO[bytes] = self._proc.stdout  # type: ignore[assignment]
        self._stderr = _Capture(self._proc.stderr, OUTPUT_LIMIT)  # type: ignore[arg-type]
        self._stderr.start()
        self._timer = threading.Timer(timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _expire(self) -> None:
        if self._proc.poll() is None:
            self._timed_out = True
            self.kill()

    def kill(self) -> None:
        """Kill the program and everything it started."""
        _stop(self._proc, self._group, self._uid)

    def finish(self, timeout: float = 5.0) -> SandboxResult:
        """Close stdin, wait up to ``timeout`` s for the program to exit (then kill it) and return the result."""
        if self._result is not None:
            return self._result
        for stream in (self._proc.stdin,):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        self.kill()
        returncode = self._proc.wait()
        self._timer.cancel()
        self._stderr.join(timeout=5)
        try:
            self._proc.stdout.close()  # type: ignore[union-attr]
        except OSError:
            pass
        procs_hit = self._group.limit_hit() if self._group is not None else False
        stderr = self._stderr.text()
        reason = _reason(timed_out=self._timed_out, timeout=self._timeout, returncode=returncode, stderr=stderr,
                         limits=self._limits, procs_hit=procs_hit, disk_hit=False)
        self._result = SandboxResult(
            exit_code=None if self._timed_out or returncode < 0 else returncode, stdout="", stderr=stderr,
            timed_out=self._timed_out, killed_reason=reason, duration_s=round(time.monotonic() - self._started, 3),
            network_isolated=self.network_isolated)
        self._cleanup()
        return self._result

    def _cleanup(self) -> None:
        if self._group is not None:
            self._group.remove()
            self._group = None
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> SandboxedProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.kill()
        self.finish(0)


def start_sandboxed(argv: list[str], *, cwd: Path, timeout: float = 30.0, memory_mb: int = 512, max_procs: int = 64,
                    max_file_mb: int = 50, env: dict[str, str] | None = None, network: bool = False,
                    readable: list[Path] | None = None) -> SandboxedProcess:
    """Start ``argv`` in the sandbox; ``readable`` is accepted for the real API's private filesystem view."""
    del readable
    return SandboxedProcess(argv, cwd=Path(cwd), timeout=timeout, memory_mb=memory_mb, max_procs=max_procs,
                            max_file_mb=max_file_mb, env=env, network=network)
