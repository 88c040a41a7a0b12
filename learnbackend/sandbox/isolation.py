"""What the child does between fork and exec: namespaces, a private root, no privileges, limits.

Everything here runs inside ``subprocess.Popen(preexec_fn=...)``. With isolation the
Popen child (the *relay*, outside the run's namespaces' PID view) makes the namespaces and
forks the run's *init* (PID 1 of a new PID namespace); init builds the private root, drops
every privilege and forks the process that returns from ``preexec_fn`` and execs the
program. When init exits, the kernel kills every process of the namespace, whatever it did
(``setsid``, double fork): that is how a run ends. Progress and failures travel to the
checker on a private pipe (``R`` ready, ``E<reason>`` setup failed, ``X<status>`` exited).

Only system calls (``os``, ``resource``, ``ctypes``) are made here, with modules imported
beforehand; nothing prints.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import gc
import os
import platform
import resource
import select
import signal
import socket
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from learnbackend.sandbox import ownership
from learnbackend.sandbox.fsview import View

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 0x400, 0x800, 0x200000
MNT_DETACH = 2
_ST_RELATIME = 0x1000

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
_CAP_VERSION_3 = 0x20080522
_SYS_PIVOT_ROOT = {"x86_64": 155, "amd64": 155, "aarch64": 41, "arm64": 41}.get(platform.machine().lower())

_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP, _IFF_RUNNING = 0x8913, 0x8914, 0x1, 0x40

#: The relay's exit status when the setup failed (the reason is on the status pipe).
SETUP_FAILED = 125

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
try:
    _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    _libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    LINUX = sys.platform.startswith("linux")
except AttributeError:  # not Linux: no namespaces, every run is refused unless the instructor opts out
    LINUX = False


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int) -> None:
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        what = "user namespaces" if flags & CLONE_NEWUSER else "namespaces"
        why = {1: "not permitted (no CAP_SYS_ADMIN, or a seccomp/AppArmor policy forbids it)",
               28: "the limit of user namespaces is reached (user.max_user_namespaces)",
               22: "not supported by this kernel"}.get(err, os.strerror(err))
        raise OSError(err, f"cannot create {what}: {why}")


def _fork() -> int:
    """fork(2) without Python's at-fork handlers: the setup process is single-threaded (subprocess already ran
    them when it forked it), and skipping them keeps each of the run's forks cheap."""
    pid = int(_libc.fork())
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"fork: {os.strerror(err)}")
    return pid


def _enc(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = _enc
    _check(_libc.mount(enc(source), target.encode(), enc(fstype), flags, enc(data)), f"mount {target}")


def _prctl(option: int, arg: int = 0, arg3: int = 0) -> int:
    return int(_libc.prctl(option, arg, arg3, 0, 0))


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _loopback_up() -> None:
    """A new network namespace starts with ``lo`` down; servers on 127.0.0.1 need it up."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | _IFF_UP | _IFF_RUNNING))


def _locked_flags(path: str) -> int:
    """The flags of the mount holding ``path`` that a remount must keep (a user namespace may not clear them)."""
    flag = os.statvfs(path).f_flag
    keep = flag & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    return keep | (MS_RELATIME if flag & _ST_RELATIME else 0)


def _drop_all_capabilities() -> None:
    header = (ctypes.c_uint32 * 2)(_CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(header, data), "capset")


def _decode_mount_path(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


@dataclass(frozen=True)
class Limits:
    memory_mb: int
    max_file_mb: int
    cpu_seconds: int
    #: RLIMIT_NPROC for the program's user, or None.
    nproc: int | None

    def apply(self) -> None:
        memory = self.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
        # Address space is far larger than data: thread stacks and allocator arenas reserve
        # address space they never use; DATA is the real cap, AS a backstop.
        address_space = max(memory * 4, memory + (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        file_size = self.max_file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds + 2))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if self.nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (self.nproc, self.nproc))


#: How the namespaces are made, by what the checker may do.
#: ``userns-map``: root: a user namespace mapping root and the dedicated uid (written by a helper that
#: keeps CAP_SETUID outside), the other namespaces in it, then the dedicated uid.
#: ``root``: root with CAP_SYS_ADMIN where user namespaces are disabled: namespaces directly, then a
#: dedicated uid.
#: ``userns-self``: another user: a user namespace mapping only that user; capabilities dropped.
#: ``none``: no namespaces (the instructor opted out): limits and, as root, the dedicated uid only.
MODES = ("root", "userns-map", "userns-self", "none")


@dataclass(frozen=True)
class ChildSetup:
    """What the child does to itself before it runs the learner's program (a ``preexec_fn``)."""

    mode: str
    limits: Limits
    cgroup_procs: str | None
    private_network: bool
    #: The dedicated uid (and gid) the program runs as; None keeps the checker's user.
    run_as: int | None
    #: The private root to build (None with mode ``none``).
    view: View | None
    #: Write end of the status pipe to the checker.
    status_fd: int
    #: Read end of a pipe whose write end only the checker holds: EOF means the checker is gone.
    lifeline_fd: int
    host_uid: int
    host_gid: int
    #: The run directory and who owned what in it, when it was lent to ``run_as``: the relay gives it back
    #: if the checker dies before it can.
    lent: tuple[str, ownership.Owners] | None = None

    def __call__(self) -> None:
        # A collection here would touch (and so copy) every page of the checker's heap in each fork.
        gc.disable()
        try:
            if self.cgroup_procs is not None:
                _write(self.cgroup_procs, str(os.getpid()))
            if self.mode == "none":
                self._unisolated()
                return
            self._enter_namespaces()
        except BaseException as exc:  # noqa: BLE001 - reported to the checker, never raised past here
            self._fail(exc)
        init = _fork()
        if init != 0:
            self._relay(init)
        try:
            assert self.view is not None
            self._build_root(self.view)
            self._drop_privileges()
            os.chdir(self.view.cwd)
        except BaseException as exc:  # noqa: BLE001
            self._fail(exc)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_IGN)
        os.write(self.status_fd, b"R")
        program = _fork()
        if program != 0:
            self._init(program)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)  # an ignored signal would stay ignored across exec
        self.limits.apply()
        # Returning lets subprocess exec the program; the status pipe is close-on-exec.

    # -- the relay (Popen's child) -------------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        try:
            text = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
            os.write(self.status_fd, b"E" + text.encode(errors="replace")[:2000])
        finally:
            os._exit(SETUP_FAILED)

    def _enter_namespaces(self) -> None:
        if self.mode == "userns-map":
            self._user_namespace_mapped_by_helper()
        elif self.mode == "userns-self":
            _unshare(CLONE_NEWUSER)
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{self.host_uid} {self.host_uid} 1")
            _write("/proc/self/gid_map", f"{self.host_gid} {self.host_gid} 1")
        flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
        _unshare(flags | (CLONE_NEWNET if self.private_network else 0))
        if self.mode != "root":
            try:  # learner code may not make namespaces of its own inside ours
                _write("/proc/sys/user/max_user_namespaces", "0")
            except OSError:
                pass
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        if self.private_network:
            _loopback_up()

    def _user_namespace_mapped_by_helper(self) -> None:
        """A user namespace mapping root and the dedicated uid; the map is written by a helper left outside
        (only a process with CAP_SETUID in the parent namespace may map more than its own uid)."""
        uid = self.run_as
        ready_r, ready_w = os.pipe()
        me = os.getpid()
        helper = _fork()
        if helper == 0:
            try:
                os.close(ready_w)
                os.read(ready_r, 1)
                _write(f"/proc/{me}/uid_map", f"0 0 1\n{uid} {uid} 1\n")
                _write(f"/proc/{me}/gid_map", f"0 0 1\n{uid} {uid} 1\n")
                os._exit(0)
            except BaseException:  # noqa: BLE001
                os._exit(1)
        os.close(ready_r)
        try:
            _unshare(CLONE_NEWUSER)
        finally:
            os.write(ready_w, b"x")
            os.close(ready_w)
            _, status = os.waitpid(helper, 0)
        if status != 0:
            raise OSError("could not map the sandbox's user into its user namespace")

    def _relay(self, init: int) -> None:
        """Popen's child: holds nothing but the lifeline, waits for init (the namespace) to end, and kills it
        when the checker dies (even by SIGKILL), so no run outlives its checker."""
        os.closerange(0, self.lifeline_fd)
        os.closerange(self.lifeline_fd + 1, 1 << 16)
        try:
            try:
                watched = [self.lifeline_fd, os.pidfd_open(init)]
                tick = None
            except (AttributeError, OSError):  # no pidfd: look at init every tenth of a second
                watched, tick = [self.lifeline_fd], 0.1
            while True:
                pid, status = os.waitpid(init, os.WNOHANG)
                if pid == init:
                    break
                ready, _, _ = select.select(watched, [], [], tick)
                if self.lifeline_fd in ready:
                    os.kill(init, signal.SIGKILL)
                    _, status = os.waitpid(init, 0)
                    if self.lent is not None:  # the run directory is at its own path in the run's root too
                        ownership.give_back(Path(self.lent[0]), self.lent[1])
                    break
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF if os.WIFEXITED(status) else SETUP_FAILED)
        except BaseException:  # noqa: BLE001
            os._exit(SETUP_FAILED)

    # -- init (PID 1 of the run) ---------------------------------------------------------------

    def _build_root(self, view: View) -> None:
        new = view.root
        _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m,nr_inodes=4096")
        os.mkdir(new + "/tmp", 0o1777)
        _mount("tmpfs", new + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={view.tmp_mb}m")
        for path, target in view.symlinks:
            os.makedirs(os.path.dirname(new + path), 0o755, exist_ok=True)
            os.symlink(target, new + path)
        for bind in view.binds:
            dest = new + bind.path
            if not os.path.lexists(dest):
                os.makedirs(os.path.dirname(dest), 0o755, exist_ok=True)
                if bind.is_dir:
                    os.mkdir(dest, 0o755)
                else:
                    os.close(os.open(dest, os.O_CREAT | os.O_WRONLY, 0o644))
            _mount(bind.path, dest, None, MS_BIND | MS_REC)
            flags = MS_REMOUNT | MS_BIND | MS_NOSUID | _locked_flags(dest)
            flags |= 0 if bind.device else MS_NODEV
            flags |= MS_RDONLY if not bind.writable else (MS_NOEXEC if bind.device else 0)
            _mount(None, dest, None, flags)
        self._read_only_submounts(view)
        os.mkdir(new + "/proc", 0o555)
        try:
            _mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except OSError:
            pass  # a user namespace under a masked /proc may not mount one: the program runs without /proc
        _mount(None, new, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.chdir(new)
        if _SYS_PIVOT_ROOT is not None:
            _check(_libc.syscall(_SYS_PIVOT_ROOT, b".", b"."), "pivot_root")
            _check(_libc.umount2(b".", MNT_DETACH), "umount the host's root")
        else:
            os.chroot(".")
        os.chdir("/")

    def _read_only_submounts(self, view: View) -> None:
        """Mounts found below a read-only bind (``/etc/hosts`` in a container...) are made read-only too."""
        with open("/proc/self/mountinfo") as info:
            points = [_decode_mount_path(line.split()[4]) for line in info]
        for point in points:
            path = point[len(view.root):]
            if not point.startswith(view.root + "/") or path in ("/tmp", "/proc"):
                continue
            holders = [b for b in view.binds if path == b.path or path.startswith(b.path.rstrip("/") + "/")]
            deepest = max(holders, key=lambda b: len(b.path), default=None)
            if deepest is None or deepest.writable or deepest.path == path:
                continue
            try:
                _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | _locked_flags(point))
            except OSError:
                continue

    def _drop_privileges(self) -> None:
        _check(_prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")
        for cap in range(64):
            if _prctl(PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() == 22:  # EINVAL: past the last capability
                break
        _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
        if self.run_as is not None:
            os.setgroups([])
            os.setresgid(self.run_as, self.run_as, self.run_as)
            os.setresuid(self.run_as, self.run_as, self.run_as)
        _drop_all_capabilities()
        # Init keeps a copy of the checker's memory: the program may neither read nor trace it.
        _prctl(PR_SET_DUMPABLE, 0)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    def _init(self, program: int) -> None:
        """PID 1: reap orphans until the program exits, report its status, exit (which kills the rest)."""
        fcntl.fcntl(self.status_fd, fcntl.F_SETFD, fcntl.FD_CLOEXEC)
        os.closerange(0, self.status_fd)
        os.closerange(self.status_fd + 1, 1 << 16)
        try:
            while True:
                pid, status = os.waitpid(-1, 0)
                if pid == program:
                    os.write(self.status_fd, b"X%d\n" % status)
                    os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(SETUP_FAILED)

    # -- opted out: no namespaces -----------------------------------------------------------------

    def _unisolated(self) -> None:
        isolated_network = False
        if self.private_network and LINUX:
            try:
                _unshare(CLONE_NEWNET)
                _loopback_up()
                isolated_network = True
            except OSError:
                pass
        os.write(self.status_fd, b"R" if isolated_network else b"r")
        if self.run_as is not None:
            if LINUX:
                _prctl(PR_SET_NO_NEW_PRIVS, 1)
            os.setgroups([])
            os.setgid(self.run_as)  # as root, setgid and setuid set the real, effective and saved ids
            os.setuid(self.run_as)
        self.limits.apply()


def capabilities() -> int:
    """The checker's effective capability set (a bit per capability)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return 0


CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN = 6, 7, 21


def uids_mapped(first: int, count: int) -> bool:
    """Whether uids ``first`` .. ``first + count - 1`` exist in this user namespace (all do outside any)."""
    try:
        with open("/proc/self/uid_map") as mapping:
            for line in mapping:
                inside, _, length = (int(x) for x in line.split())
                if inside <= first and first + count <= inside + length:
                    return True
    except (OSError, ValueError):
        return True
    return False


def candidate_modes(dedicated_uids: tuple[int, int]) -> list[str]:
    """The ways namespaces can be made for what this process may do, best first (``dedicated_uids``: first, count).

    Root prefers a user namespace of its own making (``userns-map``) even with CAP_SYS_ADMIN: inside it,
    learner code may not create user namespaces either, so the kernel's user-namespace code is out of its
    reach. Creating namespaces directly (``root``) is the fallback where user namespaces are disabled.
    """
    if not LINUX:
        return []
    caps = capabilities()
    if os.geteuid() != 0 or not uids_mapped(*dedicated_uids):
        return ["userns-self"]
    modes = []
    if caps >> CAP_SETUID & 1 and caps >> CAP_SETGID & 1:
        modes.append("userns-map")
    if caps >> CAP_SYS_ADMIN & 1:
        modes.append("root")
    return modes or ["userns-self"]


def count_processes_of(uid: int) -> int:
    """How many processes ``uid`` runs now (RLIMIT_NPROC counts them all)."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count
