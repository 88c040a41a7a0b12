"""The ``code`` exercise handler: copy the starter into the workspace; check it with pytest in a sandbox.

The learner's code never runs in this process: ``check`` copies the learner's
file and the exercise's tests into a fresh directory and runs pytest there in a
subprocess (the course sandbox: timeout, memory and process limits, no network).
A small conftest reports every test's outcome as JSON on stdout, which becomes
one ConditionResult per test, with the assertion message.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learnbackend.counter.content import CodeExercise
from learnbackend.course.handlers import copy_starter
from learnbackend.course.results import ConditionResult, ExerciseResult, from_conditions
from learnbackend.workspace.safefiles import read_bytes

if TYPE_CHECKING:
    from learnbackend.course.catalog import LoadedLesson

MODULE = "counter"
MARKER = "@@LEARNBACKEND-RESULTS@@"
REPORTER = '''
import json

_results = []


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        message = ""
        if report.outcome != "passed":
            crash = getattr(report.longrepr, "reprcrash", None)
            message = crash.message if crash is not None else str(report.longrepr)[-2000:]
        _results.append({"id": report.nodeid.split("::")[-1], "outcome": report.outcome, "message": message})


def pytest_sessionfinish(session, exitstatus):
    print("\\n%s" + json.dumps(_results))
''' % MARKER


def run_isolated(argv: list[str], cwd: Path, timeout: float) -> tuple[int | None, str, str, str | None]:
    """Run learner-facing code out of process: (exit code, stdout, stderr, why it was killed)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
           "LANG": "C.UTF-8"}
    from learnbackend.sandbox.runner import run_sandboxed

    result = run_sandboxed(argv, cwd=cwd, timeout=timeout, env=env, memory_mb=1024)
    return result.exit_code, result.stdout, result.stderr, result.killed_reason


class CodeHandler:
    """Materialise and check ``code`` exercises."""

    def materialize(self, entry: LoadedLesson, exercise: CodeExercise, dest: Path) -> list[Path]:
        """Copy the starter file (with its TODOs) into the workspace."""
        return copy_starter(entry, exercise.starter, exercise.file, dest)

    def check(self, entry: LoadedLesson, exercise: CodeExercise, workdir: Path, *,
              timeout: float = 60.0) -> ExerciseResult:
        """Run the exercise's tests against the learner's file; never raises for a failed exercise."""
        started = time.perf_counter()
        learner = workdir / exercise.file
        if not learner.is_file():
            return ExerciseResult(exercise.id, "error", f"{exercise.file} is not in {workdir}; "
                                  "run `learnbackend init` again or restore the file.", module=MODULE)
        run_dir = Path(tempfile.mkdtemp(prefix="learnbackend-counter-check-"))
        try:
            # The learner's file as bytes: a regular file, never a link (to a secret), size-capped.
            (run_dir / exercise.file).write_bytes(read_bytes(workdir, exercise.file))
            test_name = "test_" + exercise.id.replace("-", "_") + ".py"
            shutil.copyfile(entry.directory / exercise.tests, run_dir / test_name)
            (run_dir / "conftest.py").write_text(REPORTER)
            for path in [run_dir, *run_dir.iterdir()]:
                path.chmod(0o755 if path.is_dir() else 0o644)  # readable by the sandbox's own uid
            argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                    "--rootdir", str(run_dir), test_name]
            code, stdout, stderr, killed = run_isolated(argv, run_dir, min(timeout, exercise.timeout_s))
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        duration = time.perf_counter() - started
        if killed:
            return ExerciseResult(exercise.id, "error", f"The tests did not finish: {killed}.", module=MODULE,
                                  duration_s=duration, details={"stderr": stderr[-2000:]})
        results = _parse(stdout)
        if results is None or not results:
            tail = (stdout + stderr).strip().splitlines()[-12:]
            return ExerciseResult(exercise.id, "error", "The tests could not run against your file (exit code "
                                  f"{code}): " + " | ".join(tail)[-600:], module=MODULE, duration_s=duration)
        first_failing = next((i for i, r in enumerate(results) if r["outcome"] != "passed"), -1)
        conditions = [ConditionResult(r["id"], r["outcome"] == "passed", r["id"].removeprefix("test_").replace("_", " "),
                                      "passes", "passes" if r["outcome"] == "passed" else _short(r["message"] or r["outcome"]),
                                      exercise.hints()[0] if i == first_failing else "")
                      for i, r in enumerate(results)]
        result = from_conditions(exercise.id, conditions, module=MODULE, duration_s=duration,
                                 passed_message=f"all {len(conditions)} tests pass")
        if not result.passed:
            failing = [c for c in conditions if not c.passed]
            result.message = f"{len(failing)} of {len(conditions)} tests fail; first: {failing[0].description}: " \
                             f"{failing[0].actual}"
        return result


def _short(message: str) -> str:
    """The assertion's own text and its comparison, without pytest's '+ where' introspection lines."""
    lines = [line for line in message.splitlines() if line.strip() and not line.lstrip().startswith("+")]
    return " / ".join(lines[:2])[:400]


def _parse(stdout: str) -> list[dict[str, Any]] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                return json.loads(line[len(MARKER):])  # type: ignore[no-any-return]
            except ValueError:
                return None
    return None


HANDLER = CodeHandler()
