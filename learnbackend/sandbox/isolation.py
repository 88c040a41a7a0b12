"""Low-level isolation steps run in the child between fork and exec: no network, limits, a cgroup.

Everything here runs inside ``subprocess.Popen(preexec_fn=...)``, so it only makes
system calls (through ctypes and ``resource``) and never imports or prints.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import resource
import socket
import struct
import subprocess
from dataclasses import dataclass
from functools import lru_cache

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFF_RUNNING = 0x40

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _unshare(flags: int) -> None:
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


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


def enter_private_network() -> None:
    """Move the calling process into a new network namespace with only loopback.

    As root a plain ``unshare(CLONE_NEWNET)`` works; as another user a user namespace
    (mapping the user to root inside it) is created first, like ``unshare -rn``.
    """
    if os.geteuid() == 0:
        _unshare(CLONE_NEWNET)
    else:
        uid, gid = os.geteuid(), os.getegid()
        _unshare(CLONE_NEWUSER | CLONE_NEWNET)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")
    _loopback_up()


@lru_cache(maxsize=1)
def network_isolation_available() -> bool:
    """Whether a private network namespace can be made here (probed once per process)."""
    try:
        done = subprocess.run(["/bin/true"], preexec_fn=enter_private_network, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@dataclass(frozen=True)
class ChildSetup:
    """What the child does to itself before it runs the learner's program."""

    memory_mb: int
    max_file_mb: int
    cpu_seconds: int
    nproc: int | None
    cgroup_procs: str | None
    private_network: bool
    run_as: int | None

    def __call__(self) -> None:
        if self.cgroup_procs is not None:
            _write(self.cgroup_procs, str(os.getpid()))
        if self.private_network:
            enter_private_network()
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
        if self.run_as is not None:
            os.setgroups([])
            os.setgid(self.run_as)
            os.setuid(self.run_as)
        if self.nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (self.nproc, self.nproc))


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
