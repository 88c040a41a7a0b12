"""Benchmark of `learnbackend assignment regrade` on a class: 60 learner repositories, 20 exercises.

Run: python bench/bench_regrade.py [--learners 60] [--jobs N] [--keep DIR]

The assignment mixes every kind but containers (they need a Docker engine): roadmap
questions of four kinds, git levels (replayed in fresh sandboxes) and code exercises (pytest
in the sandbox). Each learner is a real git repository made from the assignment: a third
solve everything, a third solve about half, a third hand in the starter with wrong answers;
the class list names a few more who never submitted. Generating the class is not timed; the
regrade runs as a real subprocess (start-up included) over all repositories, every core.
Target: 60 learners in at most 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "workspace")]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def pick_exercises() -> list[str]:
    """20 exercises: 12 roadmap questions (all four kinds), 4 git levels, 4 code exercises."""
    from learnbackend.workspace.catalogcache import cached_catalog

    catalog = cached_catalog([])
    by_kind: dict[str, list[str]] = {}
    for entry in catalog.lessons:
        for exercise in entry.lesson.exercises:
            by_kind.setdefault(exercise.kind, []).append(f"{entry.lesson.id}/{exercise.id}")
    chosen = [*by_kind["single"][:3], *by_kind["multiple"][:3], *by_kind["order"][:3], *by_kind["text"][:3],
              *by_kind["git-level"][:4], *by_kind["code"][:4]]
    assert len(chosen) == 20, chosen
    return chosen


def make_class(base: Path, learners: int) -> tuple[Path, list[Path], Path]:
    from wsolving import Solver  # the tests' answer writer

    assignment = base / "class-bench.yaml"
    lines = ["format_version: 1", "name: class-bench", "title: Class benchmark", "pass_mark: 60", "exercises:"]
    lines += [f"  - id: {exercise}\n    points: 5" for exercise in pick_exercises()]
    assignment.write_text("\n".join(lines) + "\n")
    starter = base / "starter"
    subprocess.run([sys.executable, "-m", "learnbackend", "init", str(starter), "--assignment", str(assignment)],
                   check=True, capture_output=True)
    rng = random.Random(7)
    env = {**os.environ, "GIT_AUTHOR_NAME": "Learner", "GIT_AUTHOR_EMAIL": "l@example.invalid", "GIT_COMMITTER_NAME": "Learner",
           "GIT_COMMITTER_EMAIL": "l@example.invalid", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    repos = []
    for number in range(learners):
        root = base / "class" / f"learner-{number:03d}"
        shutil.copytree(starter, root)
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True, env=env)
        subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
        subprocess.run(["git", "commit", "-q", "-m", "starter"], cwd=root, check=True, env=env)
        solver = Solver(root)
        ids = [str(i) for i in range(1, 21)]
        if number % 3 == 0:
            solver.solve()
        elif number % 3 == 1:
            right = set(rng.sample(ids, 10))
            solver.solve(*sorted(right))
            solver.botch(*[i for i in ids if i not in right])
        else:
            solver.botch(*[i for i in ids if solver.manifest.exercise(i).kind not in ("code", "git-level")])
        subprocess.run(["git", "commit", "-qam", "answers"], cwd=root, check=True, env=env)
        repos.append(root)
    roster = base / "class.csv"
    roster.write_text("student\n" + "".join(f"{r.name}\n" for r in repos) + "".join(f"absent-{i}\n" for i in range(5)))
    return assignment, repos, roster


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=None, help="learners graded at once (default: every core)")
    parser.add_argument("--no-reuse", action="store_true", help="check identical answers again (the worst case: every answer distinct)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the class and the gradebook in DIR")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-regrade-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        assignment, repos, roster = make_class(base, args.learners)
        print(f"class of {len(repos)} repositories generated in {time.perf_counter() - started:.1f} s (not timed)")
        out = base / "gradebook"
        command = [sys.executable, "-m", "learnbackend", "assignment", "regrade", str(assignment), *map(str, repos),
                   "--roster", str(roster), "--output", str(out)]
        if args.jobs:
            command += ["--jobs", str(args.jobs)]
        if args.no_reuse:
            command += ["--no-reuse"]
        load_before = os.getloadavg()
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        load_after = os.getloadavg()
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:])
            return 1
        book = json.loads((out / "gradebook.json").read_text())
        statuses: dict[str, int] = {}
        for row in book["rows"]:
            for cell in row["cells"].values():
                statuses[cell["status"]] = statuses.get(cell["status"], 0) + 1
        passed = sum(r["passed"] for r in book["rows"])
        print(f"regrade: {len(book['rows'])} learners x {len(book['exercises'])} exercises, {len(book['missing'])} missing, "
              f"{passed} passed; results {dict(sorted(statuses.items()))}")
        print(f"identical answers checked once: {'no' if args.no_reuse else 'yes'}")
        print(f"wall time: {wall:.1f} s ({wall / max(1, len(repos)):.2f} s per learner); target <= 60 s for 60 learners on 2 cores")
        print(f"machine: nproc {os.cpu_count()}, {cpu_model()}, Python {platform.python_version()}, {platform.system()} {platform.release()}")
        print(f"load average before {load_before[0]:.2f} / after {load_after[0]:.2f} (1 min; the machine may be shared)")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
