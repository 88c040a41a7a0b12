"""The ``code`` exercise handler: hand out the starter and the task; check with the tests in this process.

The learner's code never runs in this process. ``check`` loads the exercise's
test file here (the instructor's, trusted) and runs each ``test_*`` function;
every call into the learner's module goes to a sandboxed worker process that
holds only the learner's file, and comes back as plain data (see
:mod:`learnbackend.coding.runner`). One ConditionResult per test, with the
assertion's message; partial credit is the share of tests passed.

Hidden tests (``hidden_tests:`` in the lesson) are never written to a workspace
and run only with ``check(..., include_hidden=True)``, which an instructor's
regrade uses.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from learnbackend.coding.model import CodeExercise
from learnbackend.coding.runner import RunOutcome, run_tests
from learnbackend.coding.testfile import TestCase, load_tests
from learnbackend.course.handlers import copy_starter
from learnbackend.course.results import ConditionResult, ExerciseResult, from_conditions
from learnbackend.errors import ContentError
from learnbackend.workspace.safefiles import UnsafeFile, read_bytes

if TYPE_CHECKING:
    from learnbackend.course.catalog import LoadedLesson

TASK_FILE = "TASK.md"


def task_text(entry: LoadedLesson, exercise: CodeExercise) -> str:
    """The learner's task: the exercise's prompt and where to work (written to TASK.md, shown by next/watch)."""
    return "\n".join([
        f"# {entry.lesson.title} › {exercise.title}", "", exercise.prompt.strip(), "",
        f"_Complete `{exercise.file}` in this directory, then run `learnbackend check --only "
        f"{entry.lesson.id}/{exercise.id}`._", "", "Hint: `learnbackend hint`", "",
    ])


def exercise_tests(entry: LoadedLesson, exercise: CodeExercise, *, include_hidden: bool) -> list[TestCase]:
    """The exercise's test cases (the hidden ones after the others when ``include_hidden``)."""
    tests = load_tests(entry.directory / exercise.tests, label=exercise.tests)
    if include_hidden and exercise.hidden_tests is not None:
        tests += load_tests(entry.directory / exercise.hidden_tests, hidden=True, label=exercise.hidden_tests)
    return tests


def run_source(entry: LoadedLesson, exercise: CodeExercise, source: bytes, *, timeout: float,
               include_hidden: bool = False) -> tuple[list[TestCase], RunOutcome]:
    """Run the exercise's tests against ``source``; raises ContentError when the tests cannot load."""
    tests = exercise_tests(entry, exercise, include_hidden=include_hidden)
    return tests, run_tests(tests, source, exercise.file, budget_s=min(timeout, exercise.timeout_s))


def result_of(key: str, exercise: CodeExercise, tests: list[TestCase], run: RunOutcome, *,
              module: str = "") -> ExerciseResult:
    """The exercise result for a finished (or stopped) run."""
    duration = round(run.duration_s, 3)
    if run.timed_out:
        return ExerciseResult(key, "error", f"The tests did not finish: timeout: your code was still running after "
                              f"{run.budget_s:g} s, stopped.", module=module,
                              duration_s=duration, details={"stderr": run.stderr_tail[-2000:]})
    first_failing = next((i for i, o in enumerate(run.outcomes) if not o.passed), -1)
    conditions = [ConditionResult(o.case.condition_id, o.passed, o.case.description, "passes",
                                  "passes" if o.passed else o.message, exercise.hints()[0] if i == first_failing else "")
                  for i, o in enumerate(run.outcomes)]
    result = from_conditions(key, conditions, module=module, duration_s=duration,
                             passed_message=f"all {len(conditions)} tests pass")
    if run.import_error is not None:
        result.message = f"None of the {len(tests)} tests can run: {run.import_error}"
    elif not result.passed:
        failing = [c for c in conditions if not c.passed]
        result.message = f"{len(failing)} of {len(conditions)} tests fail; first: {failing[0].description}: " \
                         f"{failing[0].actual}"
    return result


class CodeHandler:
    """Materialise and check ``code`` exercises."""

    def materialize(self, entry: LoadedLesson, exercise: CodeExercise, dest: Path) -> list[Path]:
        """Copy the starter file (with its TODOs) and write the task (TASK.md); never the tests or solution."""
        files = copy_starter(entry, exercise.starter, exercise.file, dest)
        task = dest / TASK_FILE
        task.write_text(task_text(entry, exercise), encoding="utf-8")
        return [*files, task]

    def check(self, entry: LoadedLesson, exercise: CodeExercise, workdir: Path, *, timeout: float = 60.0,
              include_hidden: bool = False) -> ExerciseResult:
        """Run the exercise's tests (and its hidden tests when ``include_hidden``) against the learner's file.

        Never raises for a failed exercise; a missing or refused file is an ``error``.
        """
        started = time.perf_counter()
        key = f"{entry.lesson.id}/{exercise.id}"
        module = entry.lesson.module
        try:
            # A regular file inside the workspace, never followed through a link, size-capped.
            source = read_bytes(workdir, exercise.file)
        except UnsafeFile as exc:
            return ExerciseResult(key, "error", exc.message + (f" ({exc.fix})" if exc.fix else ""), module=module,
                                  duration_s=time.perf_counter() - started)
        except OSError:
            return ExerciseResult(key, "error", f"{exercise.file} is missing from this exercise's directory; restore "
                                  f"it or run `learnbackend reset {key}`.", module=module,
                                  duration_s=time.perf_counter() - started)
        try:
            tests, run = run_source(entry, exercise, source, timeout=timeout, include_hidden=include_hidden)
        except ContentError as exc:
            return ExerciseResult(key, "error", f"The exercise's tests cannot run: {exc.message}", module=module,
                                  duration_s=time.perf_counter() - started)
        return result_of(key, exercise, tests, run, module=module)


HANDLER = CodeHandler()
