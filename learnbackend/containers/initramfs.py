"""Initramfs archives for the lab's virtual machine, written in pure Python.

The kernel unpacks a "newc" cpio archive into its first root filesystem and
runs ``/init``. Writing the archive ourselves needs no root and no ``cpio``
binary: device nodes (``/dev/console``) are just headers in the archive.
Two guests are built: a plain one (busybox + an ``/init`` that prints facts and
powers off) and one that also carries ``runc`` (with its shared libraries) and
an OCI bundle, to start a container inside the VM.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

#: Printed by the guest's /init; the host watches its serial console for these.
MARK = "LBVM"

#: The applets the guest scripts use (linked to /bin/busybox in the archive).
APPLETS = (
    "sh", "mount", "umount", "cat", "echo", "poweroff", "uname", "nproc", "grep", "cut", "mkdir",
    "hostname", "ls", "ps", "wc", "head", "sleep", "unshare", "chroot", "tr", "sed", "awk", "id",
)


class CpioWriter:
    """Accumulates entries of a newc cpio archive in memory."""

    def __init__(self) -> None:
        self._buf = io.BytesIO()
        self._ino = 1000
        self._dirs: set[str] = set()

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        self._ino += 1
        encoded = name.encode() + b"\0"
        fields = (self._ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(encoded), 0)
        header = b"070701" + b"".join(b"%08X" % value for value in fields)
        self._buf.write(header + encoded)
        self._pad()
        self._buf.write(data)
        self._pad()

    def _pad(self) -> None:
        self._buf.write(b"\0" * (-self._buf.tell() % 4))

    def directory(self, name: str) -> None:
        """A directory, and its parents if not yet written."""
        parts = name.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            path = "/".join(parts[:i])
            if path and path not in self._dirs:
                self._dirs.add(path)
                self._entry(path, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._parent(name)
        self._entry(name.strip("/"), stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._parent(name)
        self._entry(name.strip("/"), stat.S_IFLNK | 0o777, target.encode())

    def char_device(self, name: str, major: int, minor: int, mode: int = 0o600) -> None:
        self._parent(name)
        self._entry(name.strip("/"), stat.S_IFCHR | mode, rdev=(major, minor))

    def _parent(self, name: str) -> None:
        parent = os.path.dirname(name.strip("/"))
        if parent:
            self.directory(parent)

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        self._buf.write(b"\0" * (-self._buf.tell() % 512))
        return self._buf.getvalue()


@dataclass(frozen=True)
class GuestPlan:
    """What a guest will do: the init script and the host files it needs."""

    kind: str  # "plain", "runc" or "unshare"
    init: str
    files: dict[str, Path] = field(default_factory=dict)


def _base(writer: CpioWriter, busybox: Path, init: str) -> None:
    for directory in ("bin", "sbin", "proc", "sys", "dev", "tmp", "run", "etc", "root"):
        writer.directory(directory)
    writer.char_device("dev/console", 5, 1)
    writer.char_device("dev/null", 1, 3, 0o666)
    writer.file("bin/busybox", busybox.read_bytes(), 0o755)
    for applet in APPLETS:
        writer.symlink(f"bin/{applet}", "busybox")
    writer.file("etc/hostname", b"lab-vm\n")
    writer.file("init", init.encode(), 0o755)


FACTS = f"""
echo "{MARK} FACT kernel $(uname -r)"
echo "{MARK} FACT mem_kib $(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2)"
echo "{MARK} FACT cpus $(nproc)"
echo "{MARK} FACT hostname $(hostname)"
echo "{MARK} FACT processes $(ls -d /proc/[0-9]* | wc -l)"
echo "{MARK} FACT net $(ls /sys/class/net | tr '\\n' ' ')"
echo "{MARK} FACT pid $$"
echo "{MARK} FACT rootfs $(grep -m1 ' / ' /proc/mounts | cut -d' ' -f3)"
echo "{MARK} FACT capeff $(grep CapEff /proc/self/status | cut -f2)"
"""

_PROLOGUE = f"""#!/bin/busybox sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /run
hostname lab-vm
echo "{MARK} BOOTED $(cut -d' ' -f1 /proc/uptime)"
"""

_EPILOGUE = f"""
echo "{MARK} DONE $(cut -d' ' -f1 /proc/uptime)"
poweroff -f
"""


def plain_guest() -> GuestPlan:
    """A guest that reports its kernel, memory and CPUs, then powers off."""
    return GuestPlan("plain", _PROLOGUE + FACTS + _EPILOGUE)


def _oci_config(args: list[str]) -> dict[str, object]:
    """A minimal OCI runtime spec (what ``runc spec`` writes, trimmed): no network, read-only root."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False, "user": {"uid": 0, "gid": 0}, "args": args, "cwd": "/",
            "env": ["PATH=/bin"], "noNewPrivileges": True,
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted", "ambient")},
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "lab-ctr-in-vm",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}], "pids": {"limit": 64},
                          "memory": {"limit": 32 * 1024 * 1024}},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
        },
    }


def shared_libraries(binary: Path) -> list[Path]:
    """The shared libraries ``ldd`` lists for a binary (empty for a static one)."""
    try:
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    libs = []
    for line in out.splitlines():
        parts = line.split()
        for part in parts:
            if part.startswith("/") and Path(part).exists():
                libs.append(Path(part))
    return libs


def find_runc() -> Path | None:
    """The host's runc binary, if any (Debian's docker.io depends on it)."""
    found = shutil.which("runc") or next((p for p in ("/usr/sbin/runc", "/usr/bin/runc") if os.path.exists(p)), None)
    return Path(found) if found else None


#: The container's one line: its hostname, its PID, and the guest's uptime when it printed (the same
#: clock as the host side of the guest's /init: uptime is not namespaced).
CONTAINER_ARGS = ["/bin/busybox", "sh", "-c",
                  f"echo {MARK} CTR hostname=$(/bin/busybox hostname) pid=$$ up=$(/bin/busybox cut -d' ' -f1 /proc/uptime)"]


def container_guest(runc: Path | None, count: int = 1) -> GuestPlan:
    """A guest that starts ``count`` containers one after another: with runc when the host has it, else
    unshare + chroot. Each is framed by ``CSTART i UPTIME`` and ``CEND i UPTIME`` lines (guest clock)."""
    if runc is not None:
        start = "(cd /bundle && runc --root /run/runc run --no-pivot lab$i </dev/null 2>&1)"
        why, files = "runc failed", {"bin/runc": runc, **{str(lib).lstrip("/"): lib for lib in shared_libraries(runc)}}
    else:
        # busybox unshare: new PID, mount, UTS, IPC and network namespaces, then chroot into the bundle.
        start = "unshare --pid --fork --mount --uts --ipc --net /bin/sh /ctr.sh </dev/null 2>&1"
        why, files = "unshare failed", {}
    loop = f"""mount -t cgroup2 none /sys/fs/cgroup
i=1
while [ $i -le {count} ]; do
  echo "{MARK} CSTART $i $(cut -d' ' -f1 /proc/uptime)"
  {start} || echo '{MARK} ERROR {why}'
  echo "{MARK} CEND $i $(cut -d' ' -f1 /proc/uptime)"
  i=$((i+1))
done
"""
    return GuestPlan("runc" if runc is not None else "unshare", _PROLOGUE + loop + _EPILOGUE, files)


_UNSHARE_CHILD = """hostname lab-ctr-in-vm
mount -t proc proc /bundle/rootfs/proc
exec chroot /bundle/rootfs /bin/busybox sh /ctr-cmd.sh
"""


def build(plan: GuestPlan, busybox: Path) -> bytes:
    """The initramfs archive for ``plan``."""
    writer = CpioWriter()
    _base(writer, busybox, plan.init)
    for name, source in plan.files.items():
        writer.file(name, source.read_bytes(), 0o755)
    if plan.kind in ("runc", "unshare"):
        writer.directory("sys/fs/cgroup")
        writer.directory("bundle/rootfs/proc")
        writer.directory("bundle/rootfs/dev")
        writer.directory("bundle/rootfs/sys")
        writer.file("bundle/rootfs/bin/busybox", busybox.read_bytes(), 0o755)
        writer.symlink("bundle/rootfs/bin/sh", "busybox")
        writer.file("bundle/config.json", json.dumps(_oci_config(CONTAINER_ARGS)).encode())
        writer.file("ctr.sh", _UNSHARE_CHILD.encode(), 0o755)
        writer.file("bundle/rootfs/ctr-cmd.sh", CONTAINER_ARGS[3].encode(), 0o755)
    return writer.finish()
