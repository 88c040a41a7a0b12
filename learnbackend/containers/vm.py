"""A real virtual machine with QEMU: find the pieces, boot a tiny guest, measure it.

Every launch has a hard timeout and is killed by PID. Each boot gets its own
work directory inside this user's private state directory (:mod:`state`), named
after the lab process that owns it (PID and start time); it holds the initramfs
and a record of the QEMU process (PID and start time). QEMU gets the
parent-death signal, so it dies with its owner even after a SIGKILL; the next
command (or ``containers clean``) then removes the work directories of runs
that are gone, and kills a QEMU only if it is exactly the process recorded
(same PID, same start time, our own initramfs path as its argument).
QEMU gets no network card (``-nodefaults``). KVM is used only when a real
``kvm_intel``/``kvm_amd`` module is loaded and a probe boot succeeds in time;
otherwise software emulation (TCG), and the result says which.
"""

from __future__ import annotations

import itertools
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from learnbackend.containers import initramfs
from learnbackend.containers.procs import die_with_parent
from learnbackend.containers.signals import cleanup_on_signals
from learnbackend.containers.state import state_dir
from learnbackend.liveness import identity, identity_alive, same_process, start_time

VM_DIR_ENV = "LEARNBACKEND_VM_DIR"
KERNEL_ENV = "LEARNBACKEND_VM_KERNEL"
DEFAULT_VM_DIR = Path("/var/cache/learnbackend/vm")
WORKDIR_PREFIX = "vm-"
QEMU_RECORD = "qemu"
INITRD = "initrd.cpio"
INSTALL_HINT = ("Run `sudo bash .ci/setup-qemu.sh` from the learnbackend checkout, or: "
                "`sudo apt-get install --no-install-recommends qemu-system-x86 busybox-static` and put a kernel "
                f"(Debian's linux-image-*-cloud-amd64 vmlinuz) at {DEFAULT_VM_DIR}/vmlinuz or in ${KERNEL_ENV}.")


@dataclass(frozen=True)
class VmSetup:
    """The pieces a boot needs; ``missing`` says why a boot is impossible."""

    qemu: Path | None
    kernel: Path | None
    busybox: Path | None
    missing: str = ""

    @property
    def ready(self) -> bool:
        return not self.missing


@dataclass
class BootResult:
    """One boot of the guest, as measured from the host."""

    ok: bool
    accel: str
    first_output_s: float | None = None
    total_s: float = 0.0
    peak_rss_kib: int | None = None
    facts: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    guest_uptimes: dict[str, float] = field(default_factory=dict)
    #: Per container started inside the guest (1, 2, ...): guest uptimes at "start", "output", "end".
    containers: dict[int, dict[str, float]] = field(default_factory=dict)
    error: str = ""


def find_busybox() -> Path | None:
    """A static busybox (Debian's busybox-static installs /bin/busybox)."""
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.exists(candidate):
            return Path(candidate)
    found = shutil.which("busybox")
    return Path(found) if found else None


def find_kernel() -> Path | None:
    """The guest kernel: $LEARNBACKEND_VM_KERNEL, $LEARNBACKEND_VM_DIR/vmlinuz, the cache, or a readable /boot one."""
    explicit = os.environ.get(KERNEL_ENV)
    if explicit:
        return Path(explicit) if os.path.isfile(explicit) else None
    candidates = [Path(os.environ.get(VM_DIR_ENV, DEFAULT_VM_DIR)) / "vmlinuz", DEFAULT_VM_DIR / "vmlinuz"]
    candidates += sorted(Path("/boot").glob("vmlinuz-*"), reverse=True)
    return next((c for c in candidates if c.is_file() and os.access(c, os.R_OK)), None)


def setup() -> VmSetup:
    """Look for QEMU, a kernel and busybox; never raises."""
    qemu = shutil.which("qemu-system-x86_64")
    kernel = find_kernel()
    busybox = find_busybox()
    missing = []
    if not qemu:
        missing.append("qemu-system-x86_64 is not installed")
    if kernel is None:
        missing.append("no guest kernel found")
    if busybox is None:
        missing.append("no static busybox (/bin/busybox)")
    return VmSetup(Path(qemu) if qemu else None, kernel, busybox, "; ".join(missing))


_KVM_CACHE: dict[str, tuple[bool, str]] = {}


def kvm_modules() -> list[str]:
    """The hardware KVM modules loaded on this host (empty for a nested/paravirtual backend)."""
    return [m for m in ("kvm_intel", "kvm_amd") if os.path.isdir(f"/sys/module/{m}")]


def kvm_decision(vm: VmSetup, *, probe_timeout: float = 8.0) -> tuple[bool, str]:
    """Whether KVM really works here, and why (or why not). A probe boot decides; cached per process."""
    if "kvm" in _KVM_CACHE:
        return _KVM_CACHE["kvm"]
    if not os.path.exists("/dev/kvm"):
        verdict = (False, "no /dev/kvm: the CPU's virtualization is not available to this machine")
    elif not os.access("/dev/kvm", os.R_OK | os.W_OK):
        verdict = (False, "no permission on /dev/kvm (add yourself to the kvm group)")
    elif not kvm_modules():
        verdict = (False, ("/dev/kvm exists but neither kvm_intel nor kvm_amd is loaded "
                           "(a nested or paravirtual backend that cannot boot a stock kernel reliably)"))
    elif not vm.ready:
        verdict = (False, vm.missing)
    else:
        probe = boot(vm, initramfs.plain_guest(), accel="kvm", timeout=probe_timeout)
        verdict = (True, "a probe boot with KVM succeeded") if probe.ok else (
            False, f"a probe boot with KVM failed: {probe.error}")
    _KVM_CACHE["kvm"] = verdict
    return verdict


def _command(vm: VmSetup, initrd: Path, accel: str, memory_mb: int) -> list[str]:
    return [
        str(vm.qemu), "-accel", accel, "-M", "pc", "-m", f"{memory_mb}M", "-smp", "1",
        "-nographic", "-nodefaults", "-no-user-config", "-serial", "mon:stdio", "-no-reboot",
        "-kernel", str(vm.kernel), "-initrd", str(initrd),
        "-append", "console=ttyS0 quiet panic=-1",
    ]


def _write_record(workdir: Path, pid: int) -> None:
    """The QEMU process of this boot: its PID and start time (a reused PID will not match)."""
    started = start_time(pid)
    tmp = workdir / f".{QEMU_RECORD}.tmp"
    tmp.write_text(f"{pid}.{started}\n" if started is not None else f"{pid}\n")
    tmp.replace(workdir / QEMU_RECORD)


def boot(vm: VmSetup, plan: initramfs.GuestPlan, *, accel: str = "tcg", memory_mb: int = 128,
         timeout: float = 30.0, first_marker: str = "BOOTED") -> BootResult:
    """Boot the guest once; ``first_output_s`` is launch → the guest line carrying ``first_marker``."""
    if not vm.ready:
        return BootResult(False, accel, error=vm.missing)
    assert vm.busybox is not None
    reap_leftovers()
    with cleanup_on_signals():
        # Named after its owner (PID.START): a later reaper knows whether that owner still runs.
        workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{identity()}-", dir=state_dir()))
        proc = None
        result = BootResult(False, accel)
        started = time.perf_counter()
        try:
            initrd = workdir / INITRD
            initrd.write_bytes(initramfs.build(plan, vm.busybox))
            started = time.perf_counter()
            proc = subprocess.Popen(_command(vm, initrd, accel, memory_mb), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=die_with_parent())  # only prctl in the child; no threads run here
            _write_record(workdir, proc.pid)
            _read_console(proc, result, started, timeout, first_marker)
        finally:
            if proc is not None:
                _reap(proc, result)
                if proc.stdout:
                    proc.stdout.close()
            result.total_s = time.perf_counter() - started
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def _reap(proc: subprocess.Popen[bytes], result: BootResult) -> None:
    """Wait for QEMU (killing it by PID if it is still running) and record its peak memory."""
    try:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == 0:
            # Give a guest that powered off a moment to exit on its own, then kill.
            for _ in range(20):
                time.sleep(0.05)
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
            else:
                os.kill(proc.pid, signal.SIGKILL)  # killed by PID, never by name
                pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        result.peak_rss_kib = usage.ru_maxrss
    except ChildProcessError:
        proc.wait()


def _read_console(proc: subprocess.Popen[bytes], result: BootResult, started: float, timeout: float,
                  first_marker: str) -> None:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    pending = b""
    deadline = started + timeout
    try:
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                result.error = f"no answer from the guest within {timeout:.0f} s (killed)"
                return
            if not selector.select(timeout=min(remaining, 0.5)):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                if not result.ok:
                    tail = " | ".join(result.lines[-3:]) or "no output"
                    result.error = result.error or f"QEMU exited before the guest finished ({tail})"
                return
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                _take_line(raw.decode(errors="replace").strip("\r "), result, started, first_marker)
            if result.ok:
                return
    finally:
        selector.close()


def _take_line(line: str, result: BootResult, started: float, first_marker: str) -> None:
    result.lines.append(line)
    # The firmware's terminal escapes may precede the guest's first line on the same row.
    at = line.find(initramfs.MARK + " ")
    if at < 0:
        return
    line = line[at:]
    parts = line.split(maxsplit=3)
    tag = parts[1] if len(parts) > 1 else ""
    if tag == first_marker and result.first_output_s is None:
        result.first_output_s = time.perf_counter() - started
    if tag in ("BOOTED", "DONE") and len(parts) > 2:
        try:
            result.guest_uptimes[tag] = float(parts[2])
        except ValueError:
            pass
    if tag in ("CSTART", "CEND") and len(parts) > 3:
        try:
            span = result.containers.setdefault(int(parts[2]), {})
            span["start" if tag == "CSTART" else "end"] = float(parts[3])
            result.guest_uptimes.setdefault(tag, float(parts[3]))
        except ValueError:
            pass
    if tag == "FACT" and len(parts) > 2:
        result.facts[parts[2]] = parts[3] if len(parts) > 3 else ""
    elif tag == "CTR":
        result.facts["container"] = " ".join(parts[2:])
        up = line.rsplit("up=", 1)[-1].split()[0] if "up=" in line else ""
        if result.containers and up.replace(".", "", 1).isdigit():
            result.containers[max(result.containers)]["output"] = float(up)
    elif tag == "ERROR":
        result.error = " ".join(parts[2:])
    elif tag == "DONE":
        result.ok = result.first_output_s is not None and not result.error


@dataclass
class VmReap:
    """What :func:`reap_leftovers` removed."""

    killed: list[int] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    freed_bytes: int = 0


def _is_our_qemu(pid: int, started: int | None, workdir: Path) -> bool:
    """True only for the very QEMU a boot recorded: same PID and start time, and our initramfs as its argument."""
    if started is None or not same_process(pid, started):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    initrd = str(workdir / INITRD).encode()
    return (os.path.basename(argv[0]).startswith(b"qemu-system")
            and any(a == b"-initrd" and b == initrd for a, b in itertools.pairwise(argv)))


def _dir_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def reap_leftovers() -> VmReap:
    """Remove what boots of lab processes that are gone left behind, in this user's state directory only.

    A work directory is ours by construction (it is inside our 0700 state directory); its owner is the
    ``PID.START`` in its name. While that owner runs, it is left alone. Otherwise the QEMU it recorded is
    killed only if it is exactly that process, and the work directory itself is deleted: never a path
    read from a record.
    """
    reaped = VmReap()
    try:
        base = state_dir()
    except Exception:  # noqa: BLE001 - a refused state dir holds nothing of ours to reap
        return reaped
    for workdir in sorted(base.glob(f"{WORKDIR_PREFIX}*")):
        if workdir.is_symlink() or not workdir.is_dir():
            continue
        owner = workdir.name[len(WORKDIR_PREFIX):].rsplit("-", 1)[0]
        if owner == identity() or identity_alive(owner):
            continue  # its owner still runs and cleans up itself
        try:
            pid_text, _, start_text = (workdir / QEMU_RECORD).read_text().strip().partition(".")
            pid, started = int(pid_text), int(start_text) if start_text else None
        except (OSError, ValueError):
            pid, started = 0, None
        if pid and _is_our_qemu(pid, started, workdir):
            try:
                os.kill(pid, signal.SIGKILL)  # by PID, after proving it is the process we started
                reaped.killed.append(pid)
            except ProcessLookupError:
                pass
        reaped.freed_bytes += _dir_size(workdir)
        shutil.rmtree(workdir, ignore_errors=True)
        reaped.dirs.append(str(workdir))
    _reap_legacy(reaped)
    return reaped


def _cmdlines_mention(path: str) -> bool:
    needle = path.encode()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if needle in Path(entry.path, "cmdline").read_bytes():
                    return True
            except OSError:
                continue
    return False


def _reap_legacy(reaped: VmReap) -> None:
    """Work dirs of older versions (``$TMPDIR/learnbackend-vm-XXXXXXXX`` holding only an initramfs).

    Only directories owned by this user, holding nothing but ``initrd.cpio``, that no running
    process names on its command line.
    """
    for workdir in Path(tempfile.gettempdir()).glob("learnbackend-vm-????????"):
        try:
            info = os.lstat(workdir)
            if not workdir.is_dir() or workdir.is_symlink() or info.st_uid != os.geteuid():
                continue
            if set(os.listdir(workdir)) - {INITRD} or _cmdlines_mention(str(workdir)):
                continue
        except OSError:
            continue
        reaped.freed_bytes += _dir_size(workdir)
        shutil.rmtree(workdir, ignore_errors=True)
        reaped.dirs.append(str(workdir))
