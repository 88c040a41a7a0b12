"""What this machine offers the lab: engine, cgroups, QEMU/KVM, and "are we already in a VM?".

Every check returns data (:class:`Check`); a missing piece carries how to get it.
Virtualization is decided from several signals, never from one file: the CPU's
``hypervisor`` flag, ``systemd-detect-virt --vm``, DMI strings, and the
engine's own report (Docker Desktop and linuxkit kernels run inside a VM).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from learnbackend.containers import engine, vm
from learnbackend.containers.initramfs import find_runc

_DMI_VM = ("qemu", "kvm", "vmware", "virtualbox", "innotek", "xen", "microsoft corporation", "amazon ec2",
           "google compute engine", "bochs", "parallels", "openstack", "firecracker")


@dataclass(frozen=True)
class Check:
    """One thing the lab looked at."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Virtualization:
    """Whether this machine (or the engine's machine) is itself virtual, with the evidence."""

    host_is_vm: bool = False
    engine_in_vm: bool = False
    in_container: bool = False
    signals: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace").strip()
    except OSError:
        return ""


def cgroup_version() -> str:
    """``v2`` (unified), ``v1`` or ``unknown`` for this machine."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return "v2"
    if os.path.isdir("/sys/fs/cgroup/memory") or os.path.isdir("/sys/fs/cgroup/pids"):
        return "v1"
    return "unknown"


def detect_virtualization(info: dict[str, Any] | None = None) -> Virtualization:
    """Cross-check several signals; ``info`` is the engine's ``client.info()`` when one answers."""
    found = Virtualization()
    if any(line.startswith("flags") and " hypervisor" in line for line in _read("/proc/cpuinfo").splitlines()):
        found.host_is_vm = True
        found.signals.append("the CPU reports the 'hypervisor' flag (/proc/cpuinfo)")
    if shutil.which("systemd-detect-virt"):
        try:
            done = subprocess.run(["systemd-detect-virt", "--vm"], capture_output=True, text=True, timeout=5, check=False)
            if done.returncode == 0 and done.stdout.strip() not in ("", "none"):
                found.host_is_vm = True
                found.signals.append(f"systemd-detect-virt --vm says {done.stdout.strip()!r}")
        except (OSError, subprocess.TimeoutExpired):
            pass
    for name in ("sys_vendor", "product_name", "bios_vendor"):
        value = _read(f"/sys/class/dmi/id/{name}")
        if value and any(marker in value.lower() for marker in _DMI_VM):
            found.host_is_vm = True
            found.signals.append(f"DMI {name} is {value!r}")
    hypervisor_type = _read("/sys/hypervisor/type")
    if hypervisor_type:
        found.host_is_vm = True
        found.signals.append(f"/sys/hypervisor/type is {hypervisor_type!r}")
    # Container signals are cross-checked: a stray /.dockerenv alone proves nothing.
    container_signals = []
    if os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"):
        container_signals.append("a container marker file (/.dockerenv or /run/.containerenv)")
    cgroup = _read("/proc/1/cgroup")
    if any(word in cgroup for word in ("docker", "kubepods", "containerd", "libpod")):
        container_signals.append("PID 1's cgroup names a container runtime")
    root = next((line.split() for line in _read("/proc/mounts").splitlines() if line.split()[1:2] == ["/"]), [])
    if root and root[2] == "overlay":
        container_signals.append("the root filesystem is an overlay")
    if len(container_signals) >= 2:
        found.in_container = True
        found.signals.extend(container_signals)
    if info:
        os_name = str(info.get("OperatingSystem", ""))
        kernel = str(info.get("KernelVersion", ""))
        if "Docker Desktop" in os_name or "linuxkit" in kernel.lower() or "microsoft" in kernel.lower():
            found.engine_in_vm = True
            found.signals.append(f"the engine runs in a VM ({os_name}, kernel {kernel})")
    return found


def engine_checks() -> tuple[list[Check], dict[str, Any] | None]:
    """The Docker engine: reachable? version, rootless, Docker Desktop, cgroups as the engine sees them."""
    client, why = engine.try_connect()
    if client is None:
        return [Check("docker engine", False, why, engine.INSTALL_FIX)], None
    try:
        version = client.version()
        info = client.info()
    finally:
        client.close()
    security = " ".join(map(str, info.get("SecurityOptions") or []))
    mode = "rootless" if "rootless" in security else "rootful (the daemon runs as root)"
    desktop = " · Docker Desktop" if "Docker Desktop" in str(info.get("OperatingSystem", "")) else ""
    checks = [
        Check("docker engine", True, f"Docker {version.get('Version', '?')} (API {version.get('ApiVersion', '?')}), "
                                     f"{mode}{desktop}, storage {info.get('Driver', '?')}"),
        Check("engine cgroups", True, f"cgroup {info.get('CgroupVersion', '?')} with the "
                                      f"{info.get('CgroupDriver', '?')} driver"),
    ]
    limits = [name for name, key in (("memory", "MemoryLimit"), ("pids", "PidsLimit"), ("cpu quota", "CpuCfsQuota"))
              if not info.get(key, True)]
    if limits:
        checks.append(Check("cgroup limits", False, f"the engine cannot enforce: {', '.join(limits)}",
                            "Enable those cgroup controllers in the kernel (cgroup_enable=memory on some boards)."))
    return checks, info


def vm_checks(*, probe_kvm: bool = True) -> list[Check]:
    """QEMU, the guest kernel, busybox, KVM (decided by a probe boot when it could work), runc for the guest."""
    setup = vm.setup()
    checks = []
    if setup.qemu:
        checks.append(Check("qemu", True, str(setup.qemu)))
    else:
        checks.append(Check("qemu", False, "qemu-system-x86_64 is not installed",
                            "sudo apt-get install --no-install-recommends qemu-system-x86"))
    checks.append(Check("guest kernel", True, str(setup.kernel)) if setup.kernel else
                  Check("guest kernel", False, "no kernel for the guest", vm.INSTALL_HINT))
    checks.append(Check("busybox", True, f"{setup.busybox} (image and guest content)") if setup.busybox else
                  Check("busybox", False, "no static busybox", "sudo apt-get install busybox-static"))
    if probe_kvm:
        usable, why = vm.kvm_decision(setup)
        checks.append(Check("kvm", usable, why if usable else f"software emulation (TCG) will be used: {why}"))
    runc = find_runc()
    checks.append(Check("runc (container in the VM)", runc is not None,
                        str(runc) if runc else "not found: the guest will isolate with unshare + chroot instead",
                        "" if runc else "sudo apt-get install runc"))
    unshare = shutil.which("unshare")
    checks.append(Check("unshare (namespaces without an engine)", unshare is not None, unshare or "not installed",
                        "" if unshare else "sudo apt-get install util-linux"))
    return checks


def doctor() -> dict[str, Any]:
    """Everything ``containers doctor`` reports, as data."""
    checks, info = engine_checks()
    checks.append(Check("cgroups (this machine)", cgroup_version() != "unknown", f"cgroup {cgroup_version()}"))
    checks.extend(vm_checks())
    return {"checks": checks, "virtualization": detect_virtualization(info),
            "kernel": os.uname().release, "cpus": os.cpu_count()}
