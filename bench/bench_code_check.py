"""Benchmark of one code exercise's check: tests in the checker, learner code in sandboxed workers.

Run: python bench/bench_code_check.py [--runs N] [--exercise ID]

1. ``CodeHandler.check`` of one bundled exercise (default idempotent-add, 6 tests) with the
   reference solution and with the untouched starter: median and spread of N runs; then the
   same run with a new worker process per test instead of a fresh module per test.
2. One worker: start until its module is imported (``ready``), and the round trip of one call.
3. The bundled lessons' authoring check (every solution and starter), as `lessons validate` runs it.

Before this design (pytest run inside the sandbox, results printed by a conftest) the same
check can be timed from an older tree, e.g. ``git archive 1161fa7 | tar -x -C /tmp/old`` and
``PYTHONPATH=/tmp/old python bench/bench_code_check.py --only-check`` from /tmp/old's copy.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _fmt(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--exercise", default="idempotent-add")
    parser.add_argument("--only-check", action="store_true", help="only part 1 (works with older trees too)")
    args = parser.parse_args()

    from learnbackend.course.catalog import load_catalog
    from learnbackend.course.handlers import handler_for

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}")
    catalog = load_catalog([])
    entry, exercise = next((e, x) for e in catalog.lessons for x in e.lesson.exercises if x.id == args.exercise)
    handler = handler_for("code")
    for role in ("solution", "starter"):
        times = []
        for _ in range(args.runs):
            work = Path(tempfile.mkdtemp(prefix="bench-code-"))
            try:
                shutil.copyfile(entry.directory / getattr(exercise, role), work / exercise.file)
                started = time.perf_counter()
                result = handler.check(entry, exercise, work, timeout=60)
                times.append(time.perf_counter() - started)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        print(f"check {exercise.id} ({role}: {result.status}, {len(result.conditions)} tests): {_fmt(times)}")
    if args.only_check:
        return

    from learnbackend.coding.handler import exercise_tests
    from learnbackend.coding.runner import run_tests

    tests = exercise_tests(entry, exercise, include_hidden=False)
    source = (entry.directory / exercise.solution).read_bytes()
    for fresh in (False, True):
        times = []
        for _ in range(args.runs):
            run = run_tests(tests, source, exercise.file, budget_s=60, fresh_process=fresh)
            assert all(o.passed for o in run.outcomes)
            times.append(run.duration_s)
        label = "a new worker process per test" if fresh else "one worker, a fresh module per test"
        print(f"tests of {exercise.id} (solution), {label}: {_fmt(times)}")

    from learnbackend.coding.remote import learner, using
    from learnbackend.coding.session import WorkerSession

    starts, calls = [], []
    for _ in range(args.runs):
        work = Path(tempfile.mkdtemp(prefix="bench-code-"))
        try:
            shutil.copyfile(entry.directory / exercise.solution, work / exercise.file)
            started = time.perf_counter()
            session = WorkerSession(work, exercise.file, deadline=time.monotonic() + 30)
            try:
                assert session.ready().get("ready") is True
                starts.append(time.perf_counter() - started)
                with using(session):
                    counter = learner.IdempotentCounter() if exercise.id == "idempotent-add" else None
                    if counter is not None:
                        counter.add("warm", 1, "t")
                        t0 = time.perf_counter()
                        for i in range(200):
                            counter.add("views", 1, f"t{i}")
                        calls.append((time.perf_counter() - t0) / 200)
            finally:
                session.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(f"one worker, start to module imported: {_fmt(starts)}")
    if calls:
        print(f"one call round trip: median {statistics.median(calls) * 1e6:.0f} µs")

    from learnbackend.coding.authoring import code_exercise_problems

    started = time.perf_counter()
    problems = code_exercise_problems(catalog.lessons)
    print(f"authoring check of every bundled code exercise (solution + starter): {time.perf_counter() - started:.2f} s, "
          f"{len(problems)} problem(s)")


if __name__ == "__main__":
    main()
