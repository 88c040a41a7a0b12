"""The guided demos: isolation, memory limit + OOM, pids limit vs a fork storm, CPU quota, start density.

Each demo runs real containers and returns a :class:`DemoResult` (a table of
what was observed plus the numbers the explanation quotes). The words (title,
prediction question, conclusion) are content: ``lessons/containers/demos/demos.yaml``.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from learnbackend.containers import engine, initramfs, runner, vm
from learnbackend.containers.content import DemoFile, DemoText
from learnbackend.containers.measure import container_memory_kib
from learnbackend.containers.runner import RunSpec
from learnbackend.errors import ContentError, NotFoundError

NAMES = ("isolation", "memory", "pids", "cpu", "density")
MIB = 1024 * 1024

FACTS_SCRIPT = r"""
echo "hostname=$(hostname)"
echo "pid of this shell=$$"
echo "processes visible=$(ls -d /proc/[0-9]* | wc -l)"
echo "network devices=$(ip -o link show 2>/dev/null | cut -d: -f2 | tr -d ' ' | cut -d@ -f1 | tr '\n' ' ')"
echo "root filesystem=$(grep -m1 ' / ' /proc/mounts | cut -d' ' -f3)"
echo "capabilities (CapEff)=$(grep CapEff /proc/self/status | cut -f2)"
echo "kernel=$(uname -r)"
echo "memory the kernel reports (MemTotal)=$(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2,3)"
echo "cpus=$(nproc)"
l=$(cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null | head -n1)
case "$l" in ""|max|9223372036854*) l=none;; *) l="$((l / 1048576)) MiB";; esac
echo "cgroup memory limit=$l"
q=$(cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us 2>/dev/null)")
set -- $q
case "$1" in ""|max|-1) q=none;; *) q="$(($1 * 100 / $2))% of one CPU";; esac
echo "cgroup CPU quota=$q"
"""


@dataclass
class DemoResult:
    """What a demo observed: a table, and the figures its conclusion quotes."""

    name: str
    columns: list[str]
    rows: list[list[str]]
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"demo": self.name, "columns": self.columns, "rows": self.rows, "figures": self.figures,
                "notes": self.notes}


def load_texts() -> DemoFile:
    """The demo texts, validated; a broken file is a :class:`ContentError`."""
    from pydantic import ValidationError

    from learnbackend.course.catalog import bundled_lessons_dir
    from learnbackend.course.yamlsource import yaml_data

    path = bundled_lessons_dir() / "containers" / "demos" / "demos.yaml"
    fix = "Restore the file from the learnbackend distribution."
    try:
        return DemoFile.model_validate(yaml_data(path, fix=fix))
    except ValidationError as exc:
        raise ContentError(f"{path}: {exc}", fix="Restore the file from the learnbackend distribution.") from None


def text_of(name: str) -> DemoText:
    """The words of one demo; an unknown name is a usage problem."""
    for demo in load_texts().demos:
        if demo.id == name:
            return demo
    raise NotFoundError(f"There is no demo {name!r}.", fix=f"Pick one of: {', '.join(NAMES)}.")


def _parse_facts(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def _host_facts(argv_prefix: list[str]) -> dict[str, str]:
    busybox = vm.find_busybox()
    if busybox is None:
        return {}
    done = subprocess.run([*argv_prefix, str(busybox), "sh", "-c", FACTS_SCRIPT], capture_output=True, text=True,
                          timeout=20, check=False, stdin=subprocess.DEVNULL)
    return _parse_facts(done.stdout) if done.returncode == 0 else {}


def isolation(client: Any | None, image: str | None, *, with_vm: bool = True) -> DemoResult:
    """The same script as a bare process, in namespaces (unshare), in a container and (facts) in a VM."""
    columns: dict[str, dict[str, str]] = {"bare process": _host_facts([])}
    notes = []
    unshare = shutil.which("unshare")
    if unshare:
        columns["namespaces (unshare)"] = _host_facts(
            [unshare, "--user", "--map-root-user", "--pid", "--net", "--uts", "--mount-proc", "--fork"])
    if client is not None and image is not None:
        outcome = runner.run(client, image, RunSpec(["sh", "-c", FACTS_SCRIPT], mem_limit=64 * MIB, pids_limit=20,
                                                    cpus=0.5, hostname="lab-container"), kind="demo")
        columns["container"] = _parse_facts(outcome.output)
    else:
        notes.append("No Docker engine: the container column is missing; namespaces via unshare show the same idea.")
    if with_vm:
        setup = vm.setup()
        if setup.ready:
            use_kvm, _ = vm.kvm_decision(setup)
            booted = vm.boot(setup, initramfs.plain_guest(), accel="kvm" if use_kvm else "tcg", timeout=60)
            if booted.ok:
                f = booted.facts
                columns[f"VM ({'KVM' if use_kvm else 'TCG'})"] = {
                    "hostname": f.get("hostname", ""), "processes visible": f.get("processes", ""),
                    "network devices": f.get("net", ""), "kernel": f.get("kernel", ""),
                    "memory the kernel reports (MemTotal)": f"{f.get('mem_kib', '')} kB", "cpus": f.get("cpus", ""),
                    "pid of this shell": "1 (its /init)", "root filesystem": "rootfs (initramfs)"}
            else:
                notes.append(f"VM not available: {booted.error}")
        else:
            notes.append(f"VM not available: {setup.missing}")
    columns = {k: v for k, v in columns.items() if v}
    keys = [line.split("=", 1)[0].split('"')[-1] for line in FACTS_SCRIPT.strip().splitlines() if "=" in line
            and line.startswith("echo")]
    rows = [[key, *(facts.get(key, "—") for facts in columns.values())] for key in keys]
    container = columns.get("container", {})
    figures = {"host_kernel": columns["bare process"].get("kernel"), "container_kernel": container.get("kernel"),
               "container_processes": container.get("processes visible"),
               "host_processes": columns["bare process"].get("processes visible")}
    return DemoResult("isolation", ["what", *columns], rows, figures, notes)


def memory(client: Any, image: str) -> DemoResult:
    """Write 60 MiB into memory (/dev/shm) under a 32 MiB and a 128 MiB limit."""
    rows, figures = [], {}
    for limit in (32, 128):
        outcome = runner.run(client, image, RunSpec(["dd", "if=/dev/zero", "of=/dev/shm/fill", "bs=1M", "count=60"],
                                                    mem_limit=limit * MIB, pids_limit=16), kind="demo")
        rows.append([f"{limit} MiB", str(outcome.exit_code), "yes" if outcome.oom_killed else "no",
                     outcome.output.strip().splitlines()[-1] if outcome.output.strip() else "(no output)"])
        figures[f"exit_{limit}"], figures[f"oom_{limit}"] = outcome.exit_code, outcome.oom_killed
    return DemoResult("memory", ["memory limit", "exit code", "OOM-killed", "last output"], rows, figures)


STORM = "i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); echo started $i; done; echo all 40 started"


def pids(client: Any, image: str) -> DemoResult:
    """A shell starting 40 background processes under pids limits of 10 and 20."""
    rows, figures = [], {}
    for limit in (10, 20):
        outcome = runner.run(client, image, RunSpec(["sh", "-c", STORM], mem_limit=64 * MIB, pids_limit=limit),
                             kind="demo")
        started = sum(line.startswith("started ") for line in outcome.output.splitlines())
        last = next((line for line in reversed(outcome.output.splitlines()) if "fork" in line), "")
        rows.append([str(limit), str(started), str(outcome.exit_code), last or outcome.output.strip()[-60:]])
        figures[f"started_{limit}"] = started
    return DemoResult("pids", ["pids limit", "processes started", "exit code", "what the shell said"], rows, figures)


LOOP = ("a=$(cut -d' ' -f1 /proc/uptime); i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done; "
        "b=$(cut -d' ' -f1 /proc/uptime); s=/sys/fs/cgroup/cpu.stat; [ -f $s ] || s=/sys/fs/cgroup/cpu/cpu.stat; "
        "echo $a $b $(grep nr_throttled $s | cut -d' ' -f2)")


def cpu(client: Any, image: str) -> DemoResult:
    """The same busy loop without a quota and with a 25% CFS quota."""
    rows, figures = [], {}
    for cpus, key in ((None, "seconds_full"), (0.25, "seconds_quarter")):
        outcome = runner.run(client, image, RunSpec(["sh", "-c", LOOP], mem_limit=64 * MIB, pids_limit=16, cpus=cpus,
                                                    timeout=60), kind="demo")
        try:
            start, end, throttled = outcome.output.split()[-3:]
            seconds = float(end) - float(start)
        except ValueError:
            seconds, throttled = float("nan"), "?"
        figures[key] = seconds
        rows.append([f"{cpus:g} CPU" if cpus else "no quota", f"{seconds:.2f} s", throttled])
    slowdown = figures["seconds_quarter"] / figures["seconds_full"] if figures["seconds_full"] else float("nan")
    figures["slowdown"] = slowdown
    return DemoResult("cpu", ["CPU quota", "loop time", "throttled periods"], rows, figures,
                      [f"The quota made the loop {slowdown:.1f}× slower."])


def density(client: Any, image: str, count: int = 8) -> DemoResult:
    """Start ``count`` containers one after another; time and memory of each; then remove them all."""
    containers, rows, starts, memories = [], [], [], []
    spec = RunSpec(["sleep", "120"], mem_limit=32 * MIB, pids_limit=8)
    try:
        for index in range(1, count + 1):
            started = time.perf_counter()
            container = client.containers.create(**spec.create_kwargs(image, "demo"))
            containers.append(container)
            container.start()
            elapsed = (time.perf_counter() - started) * 1000
            container.reload()
            mem, _ = container_memory_kib(client, container)
            starts.append(elapsed)
            memories.append(mem or 0.0)
            rows.append([str(index), f"{elapsed:.0f} ms", f"{(mem or 0) / 1024:.1f} MiB" if mem else "—"])
    finally:
        for container in containers:
            engine.remove_container(container)
    figures = {"count": count, "median_start_ms": statistics.median(starts),
               "median_memory_mib": statistics.median(memories) / 1024, "total_memory_mib": sum(memories) / 1024}
    return DemoResult("density", ["container", "create + start", "memory (cgroup + shim)"], rows, figures)


def run(name: str, *, with_vm: bool = True, count: int = 8) -> DemoResult:
    """Run one demo by name; isolation works without an engine, the others need one."""
    if name not in NAMES:
        raise NotFoundError(f"There is no demo {name!r}.", fix=f"Pick one of: {', '.join(NAMES)}.")
    if name == "isolation":
        client, _ = engine.try_connect()
        if client is None:
            return isolation(None, None, with_vm=with_vm)
        client.close()
        with runner.session() as (client, image):
            return isolation(client, image, with_vm=with_vm)
    with runner.session() as (client, image):
        if name == "density":
            return density(client, image, count)
        return {"memory": memory, "pids": pids, "cpu": cpu}[name](client, image)


def require_engine(name: str) -> None:
    """Fail early (exit 3, before any question) when a demo needs an engine that is absent."""
    if name in NAMES and name != "isolation":
        engine.connect(timeout=5).close()
