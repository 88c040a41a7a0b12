"""Launch-to-first-output and memory of each deployment model, measured on this machine.

Each ``measure_*`` function returns a :class:`ModelFigures`; what cannot run
here is ``available=False`` with the reason, never a made-up number.
``on_step`` lets the caller advance a progress bar (engines do not print).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from learnbackend.containers import engine, initramfs, vm
from learnbackend.liveness import parent_pid

Step = Callable[[str], None]


@dataclass
class ModelFigures:
    """The figures of one deployment model."""

    key: str
    label: str
    available: bool = True
    reason: str = ""
    note: str = ""
    launch_ms: list[float] = field(default_factory=list)
    memory_kib: list[float] = field(default_factory=list)
    memory_what: str = ""
    #: Further measured series (ms) of this model: the guest's own boot timeline, containers in the VM.
    series: dict[str, list[float]] = field(default_factory=dict)

    def stat(self, values: list[float]) -> dict[str, float] | None:
        if not values:
            return None
        return {"min": min(values), "median": statistics.median(values), "max": max(values)}

    @property
    def launch(self) -> dict[str, float] | None:
        return self.stat(self.launch_ms)

    @property
    def memory(self) -> float | None:
        return statistics.median(self.memory_kib) if self.memory_kib else None

    def unavailable(self, reason: str) -> ModelFigures:
        self.available, self.reason = False, reason
        self.launch_ms.clear()
        self.memory_kib.clear()
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "available": self.available, "reason": self.reason,
                "note": self.note, "launch_ms": self.launch, "launch_ms_runs": [round(v, 3) for v in self.launch_ms],
                "memory_kib": self.memory, "memory_what": self.memory_what,
                "series_ms": {k: [round(v, 1) for v in vs] for k, vs in self.series.items()}}


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in os.listdir(f"/proc/{current}/task"):
                todo.extend(int(c) for c in Path(f"/proc/{current}/task/{task}/children").read_text().split())
        except (OSError, ValueError):
            continue
    return total


def _first_byte(argv: list[str], timeout: float = 10.0) -> tuple[float, int, int, str]:
    """(seconds to the first byte of stdout, resident KiB while alive, exit status, stderr) for one process.

    The process prints, then waits for its stdin to close, so that its memory can be read while it lives.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stderr is not None and proc.stdin is not None
        first = proc.stdout.read(1)
        elapsed = time.perf_counter() - started
        rss = _tree_rss_kib(proc.pid) if first else 0
        proc.stdin.close()
        proc.stdout.read()
        err = proc.stderr.read().decode(errors="replace").strip()
        proc.wait(timeout)
        if not first:
            return elapsed, rss, proc.returncode or 1, err or "no output"
        return elapsed, rss, proc.returncode, err
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait(timeout)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


BARE_SCRIPT = ["sh", "-c", "echo ready; read _; exit 0"]


def measure_bare(runs: int, on_step: Step) -> ModelFigures:
    """A bare process: a busybox shell (or /bin/sh), fork+exec to its first byte."""
    busybox = vm.find_busybox()
    argv = [str(busybox), *BARE_SCRIPT] if busybox else ["/bin/sh", *BARE_SCRIPT[1:]]
    figures = ModelFigures("bare", "bare process", note=f"{argv[0]} {argv[1]}", memory_what="RSS")
    return _measure_process(figures, argv, runs, on_step, "bare process",
                            lambda status, err: f"{argv[0]} failed: {err}")


def _measure_process(figures: ModelFigures, argv: list[str], runs: int, on_step: Step, step: str,
                     why: Callable[[int, str], str]) -> ModelFigures:
    """Launch ``argv`` ``runs`` times (after one warm-up launch, not counted): time to its first byte and its
    RSS; unavailable on the first failure."""
    _first_byte(argv)  # warm-up: the binary and its libraries into the page cache
    for _ in range(runs):
        seconds, rss, status, err = _first_byte(argv)
        if status != 0:
            return figures.unavailable(why(status, err))
        figures.launch_ms.append(seconds * 1000)
        figures.memory_kib.append(rss)
        on_step(step)
    return figures


def measure_namespaces(runs: int, on_step: Step) -> ModelFigures:
    """Namespaces without an engine: ``unshare`` a user, PID, network, UTS and mount namespace."""
    figures = ModelFigures("namespaces", "process in namespaces", note="unshare, no engine, no cgroup limits",
                           memory_what="RSS (unshare + shell)")
    unshare, busybox = shutil.which("unshare"), vm.find_busybox()
    if not unshare or not busybox:
        return figures.unavailable("unshare (util-linux) or busybox is not installed")
    argv = [unshare, "--user", "--map-root-user", "--pid", "--net", "--uts", "--mount-proc", "--fork",
            str(busybox), *BARE_SCRIPT]
    return _measure_process(figures, argv, runs, on_step, "namespaces",
                            lambda status, err: f"unshare refused: {err or 'exit ' + str(status)}")


def container_memory_kib(client: Any, container: Any) -> tuple[float | None, str]:
    """The container's cgroup memory (without page cache) plus its containerd-shim's PSS where visible."""
    stats = container.stats(stream=False, one_shot=True)
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    if usage is None:
        return None, ""
    inner = memory.get("stats") or {}
    usage -= inner.get("total_inactive_file", inner.get("inactive_file", 0))
    total, what = usage / 1024, "cgroup memory"
    pid = (container.attrs.get("State") or {}).get("Pid")
    try:
        ppid = parent_pid(pid) if pid else None
        if ppid is None:
            raise OSError("the container's process is gone")
        for line in Path(f"/proc/{ppid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += float(line.split()[1])
                what = "cgroup memory + containerd-shim PSS"
    except (OSError, ValueError, IndexError):
        pass  # an engine in another machine (Docker Desktop): only the cgroup figure
    return total, what


def time_container(client: Any, image: str, *, measure_memory: bool) -> tuple[float, float | None, str]:
    """Create + start one container → its first byte of output; optionally its memory. Always removed."""
    from learnbackend.containers.runner import RunSpec, create

    spec = RunSpec(["sh", "-c", "echo ready; exec sleep 30"], mem_limit=64 * 1024 * 1024, pids_limit=16)
    started = time.perf_counter()
    container = create(client, spec.create_kwargs(image, "compare"))
    try:
        # Attached before the start, so the first byte is seen as soon as it is written.
        stream = container.attach(stdout=True, stderr=True, stream=True, logs=True)
        container.start()
        next(iter(stream), None)
        elapsed = time.perf_counter() - started
        if not measure_memory:
            return elapsed, None, ""
        container.reload()
        memory, what = container_memory_kib(client, container)
        return elapsed, memory, what
    finally:
        engine.remove_container(container)


def measure_container(runs: int, on_step: Step) -> ModelFigures:
    """A container through the SDK: create + start → first output, and its memory."""
    from learnbackend.containers import runner

    figures = ModelFigures("container", "container", note="Docker SDK, network none, limits set")
    client, why = engine.try_connect()
    if client is None:
        return figures.unavailable(why)
    client.close()
    with runner.session() as (client, image):
        time_container(client, image, measure_memory=False)  # warm-up, not counted
        for _ in range(runs):
            seconds, memory, what = time_container(client, image, measure_memory=True)
            figures.launch_ms.append(seconds * 1000)
            if memory is not None:
                figures.memory_kib.append(memory)
                figures.memory_what = what
            on_step("container")
    return figures


#: Containers started one after another inside each booted container-in-VM guest ("pay the boot once").
PAY_ONCE_CONTAINERS = 3


def measure_vm(runs: int, on_step: Step, *, inner_container: bool) -> ModelFigures:
    """A QEMU guest to its first output line; with ``inner_container``, to the first output of a container in it.

    Besides the host's stopwatch, the guest's own clock (/proc/uptime) gives a boot timeline: when the
    kernel handed over to /init, and, in the container guest, how long each of the
    :data:`PAY_ONCE_CONTAINERS` containers took from its start to its first output.
    """
    setup = vm.setup()
    if inner_container:
        runc = initramfs.find_runc()
        plan, marker = initramfs.container_guest(runc, PAY_ONCE_CONTAINERS), "CTR"
        figures = ModelFigures("container-in-vm", "container in a VM", memory_what="QEMU peak RSS",
                               note="runc inside the guest" if runc else
                               "namespaces + chroot inside the guest (no runc on this host)")
    else:
        plan, marker = initramfs.plain_guest(), "BOOTED"
        figures = ModelFigures("vm", "virtual machine", memory_what="QEMU peak RSS", note="busybox guest, 128 MiB")
    if not setup.ready:
        return figures.unavailable(setup.missing)
    use_kvm, _ = vm.kvm_decision(setup)
    accel = "kvm" if use_kvm else "tcg"
    figures.note = f"QEMU {'KVM' if use_kvm else 'TCG software emulation'}, {figures.note}"
    for _ in range(runs):
        result = vm.boot(setup, plan, accel=accel, first_marker=marker, timeout=90 if accel == "tcg" else 20)
        if not result.ok or result.first_output_s is None:
            return figures.unavailable(f"the guest did not finish: {result.error}")
        figures.launch_ms.append(result.first_output_s * 1000)
        if "BOOTED" in result.guest_uptimes:
            figures.series.setdefault("guest_kernel_to_init", []).append(result.guest_uptimes["BOOTED"] * 1000)
        for index, span in sorted(result.containers.items()):
            if "start" in span and "output" in span:
                key = "in_vm_first_container" if index == 1 else "in_vm_next_containers"
                figures.series.setdefault(key, []).append((span["output"] - span["start"]) * 1000)
        if result.peak_rss_kib:
            figures.memory_kib.append(result.peak_rss_kib)
        on_step(figures.label)
    return figures


@dataclass
class Comparison:
    """Every model's figures, and the facts that frame them."""

    models: list[ModelFigures]
    runs: int
    vm_runs: int
    kvm_reason: str
    virtualization: Any
    #: (1-minute load average at the start, at the end, CPUs): a busy host inflates every figure.
    load: tuple[float, float, int] = (0.0, 0.0, 1)

    @property
    def busy(self) -> bool:
        return max(self.load[0], self.load[1]) > self.load[2]

    def model(self, key: str) -> ModelFigures | None:
        return next((m for m in self.models if m.key == key and m.available), None)

    def pay_once(self) -> dict[str, Any] | None:
        """K containers in one booted VM vs one container on the host: the "pay the boot once" claim, measured."""
        inner, host = self.model("container-in-vm"), self.model("container")
        if inner is None or not inner.series.get("in_vm_first_container"):
            return None
        later = inner.series.get("in_vm_next_containers", [])
        return {
            "containers_per_boot": PAY_ONCE_CONTAINERS,
            "boot_to_first_container_ms": statistics.median(inner.launch_ms),
            "in_vm_first_container_ms": statistics.median(inner.series["in_vm_first_container"]),
            "in_vm_next_containers_ms": statistics.median(later) if later else None,
            "host_container_ms": host.launch["median"] if host and host.launch else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {"runs": self.runs, "vm_runs": self.vm_runs, "kvm": self.kvm_reason,
                "virtualization": self.virtualization.to_dict(), "models": [m.to_dict() for m in self.models],
                "pay_once": self.pay_once(), "load_average": {"start": self.load[0], "end": self.load[1]},
                "cpus": self.load[2], "host_busy": self.busy}


def total_steps(runs: int, vm_runs: int) -> int:
    """How many steps :func:`compare` reports (for a progress bar)."""
    return 3 * runs + 2 * vm_runs


def compare(runs: int = 10, vm_runs: int = 3, on_step: Step = lambda _: None) -> Comparison:
    """Measure every model; a model that cannot run here is reported as not available, with the reason."""
    from learnbackend.containers.hostinfo import detect_virtualization

    load_before = os.getloadavg()[0]
    models = [measure_bare(runs, on_step), measure_namespaces(runs, on_step), measure_container(runs, on_step)]
    models.append(measure_vm(vm_runs, on_step, inner_container=False) if vm_runs else
                  ModelFigures("vm", "virtual machine").unavailable("skipped (--vm-runs 0)"))
    models.append(measure_vm(vm_runs, on_step, inner_container=True) if vm_runs else
                  ModelFigures("container-in-vm", "container in a VM").unavailable("skipped (--vm-runs 0)"))
    _, kvm_reason = vm.kvm_decision(vm.setup()) if vm.setup().ready else (False, "no VM")
    client, _ = engine.try_connect()
    info = None
    if client is not None:
        try:
            info = client.info()
        except Exception:  # noqa: BLE001 - the engine went away after measuring: only the framing is lost
            info = None
        finally:
            client.close()
    load = (round(load_before, 2), round(os.getloadavg()[0], 2), os.cpu_count() or 1)
    return Comparison(models, runs, vm_runs, kvm_reason, detect_virtualization(info), load)
