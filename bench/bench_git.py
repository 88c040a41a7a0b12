"""Git sandbox benchmark: the time to build a level and to check one, for every level.

Targets (issue 3): build ≤ 0.5 s, check ≤ 0.1 s. "Build" is the whole scenario from an
empty directory (bare remote, working repository, teammate clone, setup commits and
pushes); "check" is the goal's conditions evaluated through GitPython on the built level
(the learner's `learnbackend git check` minus Python start-up). Also timed: a CI replay
(fresh sandbox + reference solution + check + clean-up). Each is run N times per level;
we print min / median / max.

    python bench/bench_git.py [--runs 5] [--level KEY]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BUILD_TARGET, CHECK_TARGET = 0.5, 0.1


def _figures(samples: list[float]) -> str:
    return f"{min(samples) * 1000:7.1f} {statistics.median(samples) * 1000:7.1f} {max(samples) * 1000:7.1f}"


def main() -> int:
    from learnbackend.course.catalog import load_lessons
    from learnbackend.gitsandbox.conditions import evaluate
    from learnbackend.gitsandbox.handler import replay_and_check
    from learnbackend.gitsandbox.levels import all_levels
    from learnbackend.gitsandbox.sandbox import build, remove

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per level (default 5)")
    parser.add_argument("--level", help="only this level (a key suffix, e.g. resolve-conflict)")
    args = parser.parse_args()

    lessons = Path(__file__).resolve().parent.parent / "lessons"
    levels = [r for r in all_levels(load_lessons([lessons])) if not args.level or r.key.endswith(args.level)]
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}, {git_version}")
    print(f"{len(levels)} levels x {args.runs} runs; times in ms (min median max)\n")
    print(f"{'level':36} {'build':>23} {'check':>23} {'CI replay':>23}")
    builds: list[float] = []
    checks: list[float] = []
    replays: list[float] = []
    workdir = Path(tempfile.mkdtemp(prefix="learnbackend-bench-git-"))
    try:
        for ref in levels:
            b, c, r = [], [], []
            for run in range(args.runs):
                root = workdir / f"{ref.level.id}-{run}"
                started = time.perf_counter()
                sandbox = build(ref.level, root, ref.key)
                b.append(time.perf_counter() - started)
                started = time.perf_counter()
                evaluate(ref.level, sandbox)
                c.append(time.perf_counter() - started)
                started = time.perf_counter()
                result = replay_and_check(ref.key, ref.level, "\n".join(ref.level.solution))
                r.append(time.perf_counter() - started)
                assert result.passed, (ref.key, result.message)
                remove(root)
            print(f"{ref.key:36} {_figures(b):>23} {_figures(c):>23} {_figures(r):>23}")
            builds += b
            checks += c
            replays += r
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{'all levels':36} {_figures(builds):>23} {_figures(checks):>23} {_figures(replays):>23}")
    def verdict(samples: list[float], target: float) -> str:
        ordered = sorted(samples)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        met = "met" if statistics.median(samples) <= target else "NOT met"
        return f"median {statistics.median(samples) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms → {met}"

    print(f"build (target ≤ {BUILD_TARGET * 1000:.0f} ms): {verdict(builds, BUILD_TARGET)}")
    print(f"check (target ≤ {CHECK_TARGET * 1000:.0f} ms): {verdict(checks, CHECK_TARGET)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
