"""Starting one sandboxed run: choose its isolation, prepare what it owns, fork it, and clean it all up.

How a run is isolated depends on what the checker may do (:func:`isolation.candidate_modes`):
as root, namespaces and a dedicated uid; as another user, a user namespace. Which one
works here is probed once per process (:func:`isolation_status`). When none does, the
run is refused with :class:`EnvironmentMissing` (exit 3), unless the instructor opted out
with ``LEARNBACKEND_SANDBOX_ALLOW_UNISOLATED=1`` (``check --allow-unisolated``): then the
program runs with limits only (mode ``none``; see docs/threat-model.md).
"""

from __future__ import annotations

import itertools
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from learnbackend.errors import EnvironmentMissing
from learnbackend.liveness import process_alive
from learnbackend.sandbox import fsview, isolation, ownership
from learnbackend.sandbox.cgroup import PidsCgroup

#: Set to 1 to run learner code without isolation where none can be made (the instructor's explicit choice).
ALLOW_UNISOLATED_ENV = "LEARNBACKEND_SANDBOX_ALLOW_UNISOLATED"
#: Marks the private directory of a run: ``learnbackend-sandbox-<checker pid>-...``.
TMP_PREFIX = "learnbackend-sandbox-"
#: The range of dedicated uids (one per run) used when the checker is root.
SANDBOX_UID_BASE, SANDBOX_UID_COUNT = 610_000, 300_000
#: Processes of a run that are the sandbox's own (the relay and init), on top of the program's.
OWN_PROCESSES = 2
_uid_counter = itertools.count()
_reaped = False


@dataclass(frozen=True)
class Isolation:
    """Whether learner code can be isolated here, how, and if not, why."""

    available: bool
    mode: str
    reason: str = ""


def unisolated_allowed() -> bool:
    return os.environ.get(ALLOW_UNISOLATED_ENV, "").strip().lower() not in ("", "0", "no", "false")


def _reap_temp_dirs() -> None:
    """Remove the private directories of runs whose checker was killed (once per process)."""
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
    """(cgroup, RLIMIT_NPROC value, dedicated uid) for the process cap and the program's user."""
    group = PidsCgroup.create(max_procs + OWN_PROCESSES) if strategy in (None, "cgroup") else None
    if os.geteuid() == 0 and isolation.uids_mapped(SANDBOX_UID_BASE, SANDBOX_UID_COUNT):
        uid = SANDBOX_UID_BASE + (os.getpid() * 64 + next(_uid_counter)) % SANDBOX_UID_COUNT
        return group, max_procs + OWN_PROCESSES, uid
    return group, isolation.count_processes_of(os.geteuid()) + max_procs + OWN_PROCESSES, None


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


def _program_paths(program: str, env: dict[str, str]) -> list[Path]:
    """Where ``argv[0]`` is on the host, and the interpreter its ``#!`` line names, so the view shows them
    (nothing for a program inside the run directory)."""
    found = shutil.which(program, path=env.get("PATH")) if "/" not in program else program
    if found is None or not os.path.isabs(found):
        return []
    paths = [Path(found)]
    try:
        with open(found, "rb") as script:
            first = script.readline(256)
    except OSError:
        return paths
    if first.startswith(b"#!"):
        interpreter = first[2:].split()[:1]
        if interpreter and interpreter[0].startswith(b"/"):
            paths.append(Path(os.fsdecode(interpreter[0])))
    return paths


def _unreachable_parent(cwd: Path) -> Path | None:
    """The first parent of ``cwd`` that a uid of no group may not traverse (no view makes it reachable in mode none)."""
    for parent in reversed(Path(os.path.realpath(cwd)).parents):
        try:
            if not os.stat(parent).st_mode & 0o001:
                return parent
        except OSError:
            return parent
    return None


def _read_status(fd: int, timeout: float, *, first_only: bool) -> bytes:
    """Read the status pipe: its first byte (``first_only``), or everything until it closes."""
    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 1 if first_only and not data else 4096)
        if not chunk:
            break
        data += chunk
        if first_only and data[:1] in (b"R", b"r"):
            break
        if len(data) > 8192:
            break
    return data


class Run:
    """What one sandboxed run owns: its processes, cgroup, uid, private directory and the lent run directory."""

    def __init__(self, *, mode: str, cwd: Path, base: Path, group: PidsCgroup | None, uid: int | None) -> None:
        self.mode, self.cwd, self.base, self.group, self.uid = mode, cwd, base, group, uid
        self.proc: subprocess.Popen[bytes] | None = None
        self.owners: ownership.Owners | None = None
        self.status_fd: int | None = None
        self.lifeline_r: int | None = None
        self.lifeline_w: int | None = None
        self.network_isolated = False
        self.max_procs = 1 << 30
        self._procs_seen = 0
        self._pid_ns: str | None = None
        self._removed = False

    def stop(self) -> None:
        """Kill every process of the run: init (and so its PID namespace), its cgroup, its uid."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.group is not None:
            self.group.kill_all()
        # With namespaces, init's end is the end of every process of the run (the kernel waits for them
        # before init's parent sees it exit); without, the dedicated uid is swept.
        if self.uid is not None and self.mode == "none" and isolation.count_processes_of(self.uid):
            _kill_uid(self.uid)

    def returncode(self) -> int:
        """The program's exit status, as subprocess gives it (-N: killed by signal N); call after the relay exited."""
        assert self.proc is not None
        code = self.proc.wait()
        if self.mode == "none" or self.status_fd is None:
            return code
        found = re.search(rb"X(\d+)\n", _read_status(self.status_fd, 2.0, first_only=False))
        return os.waitstatus_to_exitcode(int(found.group(1))) if found else -signal.SIGKILL

    def procs_hit(self) -> bool:
        if self.group is not None and self.group.limit_hit():
            return True
        return self._procs_seen >= self.max_procs

    def sample_processes(self) -> None:
        """Without a cgroup (its ``pids.events`` says when a fork was refused), count the processes of the run's
        PID namespace: a run at its process cap was stopped by RLIMIT_NPROC."""
        if self.group is not None or self.mode == "none" or self.proc is None:
            return
        try:
            if self._pid_ns is None:
                self._pid_ns = os.readlink(f"/proc/{self.proc.pid}/ns/pid_for_children")
            count = 0
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    try:
                        count += os.readlink(f"/proc/{entry.name}/ns/pid") == self._pid_ns
                    except OSError:
                        continue
        except OSError:
            return
        self._procs_seen = max(self._procs_seen, count)

    def remove(self) -> None:
        if self._removed:
            return
        self._removed = True
        for fd in (self.status_fd, self.lifeline_r, self.lifeline_w):
            if fd is not None:
                os.close(fd)
        if self.group is not None:
            self.group.remove()
        if self.owners is not None:
            ownership.give_back(self.cwd, self.owners)
        shutil.rmtree(self.base, ignore_errors=True)


def launch(argv: list[str], *, cwd: Path, timeout: float, memory_mb: int, max_procs: int, max_file_mb: int,
           env: dict[str, str] | None, network: bool, readable: list[Path] | None,
           process_strategy: str | None = None, mode: str | None = None) -> tuple[Run, isolation.Limits]:
    """Start ``argv`` sandboxed; the Run is returned with its process running (pipes: stdin, stdout, stderr)."""
    if not cwd.is_dir():
        raise FileNotFoundError(f"sandbox working directory {cwd} does not exist")
    _reap_temp_dirs()
    if mode is None:
        mode = resolve_mode()
    base = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
    tmp, root = base / "tmp", base / "root"
    tmp.mkdir(mode=0o700)
    root.mkdir(mode=0o755)
    group, nproc, uid = _plan_processes(max_procs, process_strategy)
    blocked = _unreachable_parent(cwd) if mode == "none" and uid is not None else None
    if blocked is not None:
        if group is not None:
            group.remove()
        shutil.rmtree(base, ignore_errors=True)
        raise EnvironmentMissing(
            f"Without isolation, learner code runs as an unprivileged user here, which cannot reach {cwd} "
            f"({blocked} is closed to other users).",
            fix=f"Make the directories above it traversable (chmod o+x {blocked}), or run where the sandbox can "
                "isolate learner code.")
    run = Run(mode=mode, cwd=cwd, base=base, group=group, uid=uid)
    run.max_procs = max_procs
    limits = isolation.Limits(memory_mb=memory_mb, max_file_mb=max_file_mb,
                              cpu_seconds=max(1, math.ceil(timeout) + 1), nproc=nproc)
    status_r, status_w = os.pipe()
    run.status_fd = status_r
    run.lifeline_r, run.lifeline_w = os.pipe()
    try:
        full_env = _base_env(tmp, env)
        view = None
        if mode != "none":
            view = fsview.plan(root=root, cwd=cwd, private_tmp=tmp, tmp_mb=max_file_mb,
                               readable=[*_program_paths(argv[0], full_env), *(readable or [])])
        if uid is not None:
            os.chown(tmp, uid, uid)
            run.owners = ownership.lend(cwd, uid)
        setup = isolation.ChildSetup(
            mode=mode, limits=limits, cgroup_procs=group.join_path() if group else None,
            private_network=not network, run_as=uid, view=view, status_fd=status_w,
            lifeline_fd=run.lifeline_r, host_uid=os.geteuid(), host_gid=os.getegid(),
            lent=(str(cwd), run.owners) if run.owners is not None else None,
        )
        try:
            # preexec_fn is the only way to enter namespaces, a cgroup and limits between fork and exec;
            # ChildSetup only makes system calls with modules imported beforehand (safe in a threaded parent).
            run.proc = subprocess.Popen(
                argv, cwd=cwd, env=full_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True, preexec_fn=setup, close_fds=True,
                bufsize=0,
            )
        finally:
            os.close(status_w)
            os.close(run.lifeline_r)  # the relay holds it; the checker keeps only the write end, until the end
            run.lifeline_r = None
        first = _read_status(status_r, 30.0, first_only=True)
        if first[:1] not in (b"R", b"r"):
            why = first[1:].decode(errors="replace").strip() if first[:1] == b"E" else "its setup process ended"
            raise EnvironmentMissing(f"The sandbox for learner code could not be set up here: {why}.",
                                     fix=_FIX)
        run.network_isolated = not network and first[:1] == b"R"
    except BaseException as exc:
        run.stop()
        if run.proc is not None:
            run.proc.wait()
            for pipe in (run.proc.stdin, run.proc.stdout, run.proc.stderr):
                if pipe is not None:
                    pipe.close()
        run.remove()
        if uid is not None and isinstance(exc, PermissionError):
            raise EnvironmentMissing(
                f"The sandbox runs learner code as an unprivileged user here, and that user may not run {argv[0]}.",
                fix="Make the program readable and executable by every user, or pass its directory as readable.",
            ) from None
        raise
    return run, limits


_FIX = ("Run `learnbackend check` as root, or where user namespaces are allowed (a container needs "
        "--security-opt seccomp=unconfined or CAP_SYS_ADMIN; Ubuntu 24.04: sysctl "
        "kernel.apparmor_restrict_unprivileged_userns=0). Or accept running learner code without isolation "
        f"(trusted submissions only): `check --allow-unisolated` or {ALLOW_UNISOLATED_ENV}=1. See docs/threat-model.md.")


def resolve_mode() -> str:
    """The isolation mode for the next run; raises EnvironmentMissing when none works and no opt-out was given."""
    status = isolation_status()
    if status.available:
        return status.mode
    if unisolated_allowed():
        return "none"
    raise EnvironmentMissing(f"Learner code cannot be isolated here ({status.reason}), so it is not run.", fix=_FIX)


@lru_cache(maxsize=1)
def isolation_status() -> Isolation:
    """Whether namespaces, a private root and dropped privileges can be made here, and how (probed once per
    process: the first mode of :func:`isolation.candidate_modes` that runs a program)."""
    modes = isolation.candidate_modes((SANDBOX_UID_BASE, SANDBOX_UID_COUNT))
    if not modes:
        return Isolation(False, "none", f"its namespaces are a Linux feature, and this is {sys.platform}")
    failures: list[Isolation] = []
    for mode in modes:
        status = probe(mode)
        if status.available:
            return status
        failures.append(status)
    return failures[0]


def probe(mode: str) -> Isolation:
    """Run a trivial program in ``mode``: can this machine make that isolation?"""
    probe_dir = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-probe-"))
    argv = ["/bin/true"] if os.path.exists("/bin/true") else [sys.executable, "-S", "-c", ""]
    try:
        run, _ = launch(argv, cwd=probe_dir, timeout=20, memory_mb=64, max_procs=8, max_file_mb=1, env=None,
                        network=False, readable=None, mode=mode)
        try:
            code = run.returncode()
        finally:
            run.stop()
            assert run.proc is not None
            for pipe in (run.proc.stdin, run.proc.stdout, run.proc.stderr):
                if pipe is not None:
                    pipe.close()
            run.remove()
    except EnvironmentMissing as exc:
        return Isolation(False, mode, exc.message.removeprefix("The sandbox for learner code could not be set up here: ")
                         .rstrip("."))
    except (OSError, subprocess.SubprocessError) as exc:
        return Isolation(False, mode, str(exc))
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)
    if code != 0:
        return Isolation(False, mode, f"a test program exited with status {code} inside the sandbox")
    return Isolation(True, mode)
