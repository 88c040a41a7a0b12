"""Containers lab benchmark: the lab's own overhead against raw Docker SDK calls, and `compare` on this machine.

Run: python bench/bench_containers.py [--runs N] [--vm-runs M]

1. Overhead: the lab's `runner.run` (labels, limits, wait, logs, OOM check, removal) against the raw SDK
   create → start → wait → remove of the same container, interleaved in the same run (target ≤ 1.1×).
2. The figures of `learnbackend containers compare` (bare process, namespaces, container, VM, container in VM).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def raw_sdk(client, image: str) -> float:
    started = time.perf_counter()
    container = client.containers.create(image, ["true"], network_mode="none")
    try:
        container.start()
        container.wait(timeout=30)
    finally:
        container.remove(force=True)
    return time.perf_counter() - started


def lab_run(client, image: str) -> float:
    from learnbackend.containers import runner

    started = time.perf_counter()
    outcome = runner.run(client, image, runner.RunSpec(["true"]))
    assert outcome.exit_code == 0, outcome
    return time.perf_counter() - started


def overhead(runs: int) -> None:
    from learnbackend.containers import runner

    with runner.session() as (client, image):
        raw_sdk(client, image), lab_run(client, image)  # warm-up
        raw, lab = [], []
        for _ in range(runs):
            raw.append(raw_sdk(client, image))
            lab.append(lab_run(client, image))
    raw_median, lab_median = statistics.median(raw), statistics.median(lab)
    print(f"overhead ({runs} interleaved runs each, create → start → wait → remove of `true`):")
    print(f"  raw SDK     median {raw_median * 1000:7.1f} ms  (min {min(raw) * 1000:.1f}, max {max(raw) * 1000:.1f})")
    print(f"  lab runner  median {lab_median * 1000:7.1f} ms  (min {min(lab) * 1000:.1f}, max {max(lab) * 1000:.1f})")
    ratio = lab_median / raw_median
    print(f"  ratio lab / raw = {ratio:.3f}×  (target ≤ 1.1×: {'met' if ratio <= 1.1 else 'NOT met'})")


def figures(runs: int, vm_runs: int) -> None:
    from learnbackend.containers import measure

    result = measure.compare(runs, vm_runs)
    print(f"\ncompare ({runs} runs, {vm_runs} VM boots); KVM: {result.kvm_reason}")
    for model in result.models:
        if not model.available:
            print(f"  {model.label:<24} not available: {model.reason}")
            continue
        launch = model.launch or {}
        memory = f"{model.memory / 1024:.1f} MiB" if model.memory else "—"
        print(f"  {model.label:<24} {launch['min']:9.1f} / {launch['median']:9.1f} / {launch['max']:9.1f} ms"
              f"  {memory:>10}  ({model.note}; memory = {model.memory_what})")
    pay_once = result.pay_once()
    if pay_once:
        print("  pay once: " + ", ".join(f"{k} {v:.0f}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in pay_once.items()))
    print(f"  load average {result.load[0]:.1f} → {result.load[1]:.1f} on {result.load[2]} CPUs"
          + (" (busy: figures inflated)" if result.busy else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--vm-runs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.node()} · {platform.system()} {platform.release()} · {os.cpu_count()} CPUs · "
          f"Python {platform.python_version()} · load average {os.getloadavg()[0]:.1f}")
    overhead(args.runs)
    figures(min(args.runs, 10), args.vm_runs)


if __name__ == "__main__":
    main()
