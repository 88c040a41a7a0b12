"""The guided demos: isolation, memory limit + OOM, pids limit vs a fork storm, CPU quota, start density.

Each demo runs real containers and returns a :class:`DemoResult` (a table of
what was observed plus the numbers the explanation quotes). The words (title,
prediction question, conclusion) are content: ``lessons/containers/demos/demos.yaml``.
"""

from __future__ import annotations

import math
import os
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

NAMES = ("isolation", "memory", "pids", "cpu", "density", "boundary")
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
                    # Measured in the guest by its /init, like every other row.
                    "pid of this shell": f.get("pid", "—"), "root filesystem": f.get("rootfs", "—"),
                    "capabilities (CapEff)": f.get("capeff", "—")}
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


CPU_WORK_US = 1_000_000  # the loop burns this much CPU time (1 s), read from the cgroup's own accounting

#: Burn CPU_WORK_US of CPU time, measured by the container's cgroup (cpuacct.usage on cgroup v1,
#: usage_usec in cpu.stat on v2), and report wall-clock start/end (the guest-free /proc/uptime, 10 ms
#: resolution: 1 % of a 1 s run), CPU usage start/end in µs, and the kernel's throttling counters.
CPU_BURN = f"""
s=/sys/fs/cgroup/cpu.stat; a=/sys/fs/cgroup/cpuacct/cpuacct.usage
[ -f $a ] || a=/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage
u() {{ if [ -f $a ]; then read n < $a; echo $((n / 1000)); else grep usage_usec $s | cut -d' ' -f2; fi; }}
[ -f $s ] || s=/sys/fs/cgroup/cpu/cpu.stat
t0=$(cut -d' ' -f1 /proc/uptime); u0=$(u); u1=$u0
while [ $((u1 - u0)) -lt {CPU_WORK_US} ]; do i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; u1=$(u); done
t1=$(cut -d' ' -f1 /proc/uptime)
echo CPU $t0 $t1 $u0 $u1 $(grep nr_throttled $s | cut -d' ' -f2) $(grep nr_periods $s | cut -d' ' -f2)
"""


def busy_host_note() -> str | None:
    """A warning when the host is busy (1-minute load average above its CPU count), else None."""
    load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    if load <= cpus:
        return None
    return (f"Note: this host is busy (load average {load:.1f} on {cpus} CPUs): other work competes for the CPU, "
            "so the run without a quota may get less than a whole CPU and the ratio comes out smaller.")


def cpu(client: Any, image: str) -> DemoResult:
    """The same amount of CPU work (1 s, counted by the cgroup) without a quota and with a 25% CFS quota."""
    rows, figures, notes = [], {}, []
    for cpus, key in ((None, "full"), (0.25, "quarter")):
        outcome = runner.run(client, image, RunSpec(["sh", "-c", CPU_BURN], mem_limit=64 * MIB, pids_limit=16,
                                                    cpus=cpus, timeout=90), kind="demo")
        line = next((x for x in outcome.output.splitlines() if x.startswith("CPU ")), "")
        try:
            t0, t1, u0, u1, throttled, periods = line.split()[1:7]
            wall, used = float(t1) - float(t0), (int(u1) - int(u0)) / 1e6
            share = used / wall if wall > 0 else float("nan")
        except ValueError:
            wall, used, share, throttled, periods = float("nan"), float("nan"), float("nan"), "?", "?"
            notes.append(f"The {key} run reported no figures: {outcome.error or outcome.output.strip()[-120:]}")
        figures[f"seconds_{key}"], figures[f"cpu_seconds_{key}"], figures[f"share_{key}"] = wall, used, share
        rows.append([f"{cpus:g} CPU" if cpus else "no quota", f"{used:.2f} s", f"{wall:.2f} s", f"{share:.0%}",
                     f"{throttled} of {periods}"])
    # Same work both times: the slowdown is the ratio of the CPU shares the cgroup accounting shows.
    full, quarter = figures["share_full"], figures["share_quarter"]
    figures["slowdown"] = full / quarter if quarter and not math.isnan(quarter) else float("nan")
    notes.append(f"CPU time and share come from the container's own cgroup accounting; the quota made the same "
                 f"work take {figures['slowdown']:.2f}× as long.")
    busy = busy_host_note()
    if busy:
        notes.append(busy)
    figures["load_average"] = round(os.getloadavg()[0], 2)
    return DemoResult("cpu", ["CPU quota", "CPU time used (cgroup)", "wall time", "share of one CPU",
                              "throttled periods"], rows, figures, notes)


def density(client: Any, image: str, count: int = 8, *, with_vm: bool = True) -> DemoResult:
    """Start ``count`` containers one after another; time and memory of each; then remove them all.

    With ``with_vm``, one VM is booted too, and a chart compares how many of each fit per GiB of host
    memory and how many start per second, from the figures just measured.
    """
    containers, rows, starts, memories = [], [], [], []
    spec = RunSpec(["sleep", "120"], mem_limit=32 * MIB, pids_limit=8)
    try:
        for index in range(1, count + 1):
            started = time.perf_counter()
            container = runner.create(client, spec.create_kwargs(image, "demo"))
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
    figures: dict[str, Any] = {"count": count, "median_start_ms": statistics.median(starts),
                               "median_memory_mib": statistics.median(memories) / 1024,
                               "total_memory_mib": sum(memories) / 1024}
    notes = _density_chart(figures, with_vm)
    return DemoResult("density", ["container", "create + start", "memory (cgroup + shim)"], rows, figures, notes)


def _density_chart(figures: dict[str, Any], with_vm: bool) -> list[str]:
    """Containers vs VMs per GiB and per second, from this run's containers and one VM boot (linear bars)."""
    if not with_vm:
        return []
    setup = vm.setup()
    if not setup.ready:
        return [f"No VM to compare with: {setup.missing}"]
    use_kvm, _ = vm.kvm_decision(setup)
    booted = vm.boot(setup, initramfs.plain_guest(), accel="kvm" if use_kvm else "tcg", timeout=90)
    if not booted.ok or not booted.peak_rss_kib or booted.first_output_s is None:
        return [f"No VM to compare with: {booted.error or 'no figures'}"]
    vm_mib, vm_s = booted.peak_rss_kib / 1024, booted.first_output_s
    per_gib = {"containers": 1024 / figures["median_memory_mib"] if figures["median_memory_mib"] else 0.0,
               "VMs": 1024 / vm_mib}
    per_s = {"containers": 1000 / figures["median_start_ms"], "VMs": 1 / vm_s}
    figures.update({"vm_memory_mib": vm_mib, "vm_boot_s": vm_s, "containers_per_gib": per_gib["containers"],
                    "vms_per_gib": per_gib["VMs"]})
    accel = "KVM" if use_kvm else "TCG"
    lines = [f"Density, from these containers and one VM boot just now ({accel}: {vm_mib:.0f} MiB, {vm_s:.2f} s):"]
    for title, values, unit in (("fit in 1 GiB of host memory", per_gib, ""),
                                ("started per second, one after another", per_s, "/s")):
        lines.append(f"  {title} (linear scale)")
        high = max(values.values()) or 1.0
        for label, value in values.items():
            bar = "█" * max(1, round(value / high * 40)) if value else ""
            lines.append(f"    {label:<11} {bar} {value:.1f}{unit}")
    return lines


#: What root inside a lab container tries; each line: ATTEMPT what|allowed or ATTEMPT what|refused: the error.
#: Harmless even if allowed: nothing is written outside the container, the device node is only read from.
BOUNDARY = r"""
grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '[:blank:]' | sed 's/^/STATUS /'
echo "STATUS uid:$(id -u)"
try() { what=$1; shift; if out=$("$@" 2>&1); then echo "ATTEMPT $what|allowed";   else echo "ATTEMPT $what|refused: $(echo "$out" | tail -n1)"; fi; }
try "mount a filesystem (needs CAP_SYS_ADMIN)" mount -t tmpfs none /mnt
try "rename the machine (hostname: CAP_SYS_ADMIN)" hostname intruder
try "raise its hard limit of open files (CAP_SYS_RESOURCE)" sh -c 'ulimit -Hn $(( $(ulimit -Hn) + 1 ))'
try "write a kernel setting (/proc/sys is read-only)" sh -c 'cat /proc/sys/kernel/panic > /proc/sys/kernel/panic'
try "read a host disk via a device node (device cgroup)" sh -c 'mknod /tmp/disk b 8 0 && head -c 1 /tmp/disk'
try "make a new user namespace (seccomp filter)" unshare --user true
"""


def boundary(client: Any, image: str) -> DemoResult:
    """Root inside a container (as the lab runs it) tries what root on the host could do."""
    outcome = runner.run(client, image, RunSpec(["sh", "-c", BOUNDARY], mem_limit=64 * MIB, pids_limit=32),
                         kind="demo")
    lines = outcome.output.splitlines()
    status = dict(line[7:].split(":", 1) for line in lines if line.startswith("STATUS ") and ":" in line)
    rows = [line[8:].split("|", 1) for line in lines if line.startswith("ATTEMPT ") and "|" in line]
    refused = sum(result.startswith("refused") for _, result in rows)
    notes = [(f"uid inside: {status.get('uid', '?')} · effective capabilities {status.get('CapEff', '?')} "
              f"(root on the host: 000001ffffffffff or more) · NoNewPrivs {status.get('NoNewPrivs', '?')} · "
              f"Seccomp {status.get('Seccomp', '?')} (2 = a filter on system calls)")]
    figures = {"attempts": len(rows), "refused": refused, "allowed": len(rows) - refused, "uid": status.get("uid"),
               "cap_eff": status.get("CapEff"), "no_new_privs": status.get("NoNewPrivs"),
               "seccomp": status.get("Seccomp")}
    return DemoResult("boundary", ["root in the container tries to", "result"], [list(r) for r in rows], figures,
                      notes)


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
            return density(client, image, count, with_vm=with_vm)
        return {"memory": memory, "pids": pids, "cpu": cpu, "boundary": boundary}[name](client, image)


def require_engine(name: str) -> None:
    """Fail early (exit 3, before any question) when a demo needs an engine that is absent."""
    if name in NAMES and name != "isolation":
        engine.connect(timeout=5).close()
