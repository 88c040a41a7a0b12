"""Benchmark of the code sandbox's per-run overhead, in each isolation mode this machine can make.

Run: python bench/bench_sandbox.py [--runs N]

For every mode of ``learnbackend.sandbox.isolation.candidate_modes`` that works here (as root:
``userns-map`` and ``root``; as another user: ``userns-self``), the median wall time of
``run_sandboxed([python, "-c", "pass"])`` against a plain ``subprocess.run`` of the same
command, interleaved so that the machine's load weighs on both alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]


def main() -> None:
    from learnbackend.sandbox import isolation
    from learnbackend.sandbox.launch import SANDBOX_UID_BASE, SANDBOX_UID_COUNT, probe
    from learnbackend.sandbox.runner import _run

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    cwd = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    argv = [sys.executable, "-c", "pass"]
    print(f"{platform.node()}: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, uid {os.geteuid()}, "
          f"python {platform.python_version()}")
    for mode in isolation.candidate_modes((SANDBOX_UID_BASE, SANDBOX_UID_COUNT)):
        status = probe(mode)
        if not status.available:
            print(f"{mode}: not available here ({status.reason})")
            continue
        plain: list[float] = []
        boxed: list[float] = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run(argv, cwd=cwd, check=True)
            plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            result = _run(argv, cwd=cwd, timeout=30, memory_mb=512, max_procs=64, max_file_mb=50, env=None,
                          network=False, mode=mode)
            boxed.append(time.perf_counter() - started)
            assert result.ok, result
        p, b = statistics.median(plain) * 1000, statistics.median(boxed) * 1000
        print(f"{mode}: python -c pass, median of {args.runs}: plain {p:.1f} ms, sandboxed {b:.1f} ms, "
              f"overhead {b - p:.1f} ms")


if __name__ == "__main__":
    main()
