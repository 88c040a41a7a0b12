"""Benchmark of `learnbackend check` on a full workspace, and of the sandbox runner's overhead.

Run: python bench/bench_check.py [--runs N]

1. A workspace with every exercise of the course except container exercises (they need a
   Docker engine and are measured by bench_containers.py), solved with the reference
   answers (roadmap questions) and reference solutions (git levels, code); `learnbackend check`
   timed as a real subprocess, start-up included (target: under 10 s).
2. The same workspace unsolved (every exercise fails: the other common case).
3. Per kind: the summed check time of its exercises, from the JSON report.
4. The sandbox: `run_sandboxed` of `python -c pass` against a plain `subprocess.run`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "workspace")]


def make_workspace(base: Path, *, solved: bool) -> tuple[Path, int]:
    from wsolving import Solver  # the tests' answer writer

    from learnbackend.workspace.catalogcache import cached_catalog
    from learnbackend.workspace.create import (
        Selection,
        create_workspace,
        select_from_catalog,
    )

    catalog = cached_catalog([])
    full = select_from_catalog(catalog)
    items = [item for item in full.items if item[2].module != "containers"]
    root = base / ("solved" if solved else "unsolved")
    create_workspace(root, Selection(items, full.scoring, []), pack_version=catalog.pack_version)
    if solved:
        solver = Solver(root)
        solvable = [e.id for e in solver.manifest.exercises if e.kind in ("single", "multiple", "order", "text", "git-level", "code")]
        solver.solve(*solvable)
    return root, len(items)


def time_check(root: Path, runs: int, env: dict[str, str]) -> tuple[list[float], dict]:
    times, report = [], {}
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "learnbackend", "check", str(root), "--format", "json"],
                              capture_output=True, text=True, env=env, check=False)
        times.append(time.perf_counter() - started)
        report = json.loads(done.stdout)
    return times, report


def sandbox_overhead(runs: int) -> tuple[float, float, bool]:
    from learnbackend.sandbox import run_sandboxed

    cwd = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    plain, boxed = [], []
    isolated = False
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], cwd=cwd, check=True)
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = run_sandboxed([sys.executable, "-c", "pass"], cwd=cwd)
        boxed.append(time.perf_counter() - started)
        assert result.ok, result
        isolated = result.network_isolated
    return statistics.median(plain), statistics.median(boxed), isolated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        base = Path(tmp)
        env = {**os.environ, "LEARNBACKEND_HOME": str(base / "home")}
        os.environ["LEARNBACKEND_HOME"] = env["LEARNBACKEND_HOME"]
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")
        for solved in (True, False):
            root, count = make_workspace(base, solved=solved)
            times, report = time_check(root, args.runs, env)
            s = report["summary"]
            label = "solved  " if solved else "unsolved"
            print(f"check, {label} workspace of {count} exercises ({s['passed']} passed, {s['failed']} failed, {s['error']} error): "
                  f"min {min(times):.2f} s, median {statistics.median(times):.2f} s over {args.runs} runs (target < 10 s)")
            if solved:
                per_kind: dict[str, list[float]] = defaultdict(list)
                for r in report["results"]:
                    per_kind[r["kind"]].append(r["duration_s"])
                for kind, durations in sorted(per_kind.items()):
                    print(f"    {kind:<12} {len(durations):4d} exercises, {sum(durations):6.2f} s in all, {max(durations) * 1000:7.1f} ms the slowest")
                code = sum(per_kind.get("code", []))
                if code:
                    print(f"    without the code exercises (each runs its tests against sandboxed workers): about {statistics.median(times) - code:.2f} s")
        plain, boxed, isolated = sandbox_overhead(20)
        print(f"sandbox: python -c pass  plain {plain * 1000:.1f} ms, sandboxed {boxed * 1000:.1f} ms "
              f"(median of 20; network isolated: {isolated})")


if __name__ == "__main__":
    main()
