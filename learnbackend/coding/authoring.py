"""Authoring checks for code exercises, run by ``lessons validate``: the tests prove what they claim.

For every ``code`` exercise, its reference solution must pass every test (the
hidden ones too) and its untouched starter must earn 0 points (fail every test,
hidden ones too). Both run exactly as a learner's file would: in sandboxed
workers, with the tests in this process. Problems are ``file:line`` messages
naming the exercise and the tests concerned.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from learnbackend.coding.handler import run_source
from learnbackend.coding.model import CodeExercise
from learnbackend.course.yamlsource import Loc, SourceProblem, YamlSource, load_yaml
from learnbackend.errors import ContentError
from learnbackend.workspace.safefiles import UnsafeFile, read_bytes

if TYPE_CHECKING:
    from learnbackend.course.catalog import LoadedLesson

_SHOWN = 3


@dataclass(frozen=True)
class _Job:
    entry: LoadedLesson
    index: int
    exercise: CodeExercise
    role: str  # "solution" or "starter"


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _run(job: _Job) -> tuple[Loc, str, str] | None:
    """(location, message, fix) of the job's problem, or None when it behaves."""
    exercise, role = job.exercise, job.role
    loc: Loc = ("exercises", job.index, role)
    label = f"exercises[{job.index}] ({exercise.id})"
    relative = exercise.solution if role == "solution" else exercise.starter
    try:
        source = read_bytes(job.entry.directory, relative)
        tests, run = run_source(job.entry, exercise, source, timeout=exercise.timeout_s, include_hidden=True)
    except OSError as exc:
        return loc, f"{label}: the {role} cannot be read: {exc.strerror or exc}", f"make {relative} a regular file"
    except UnsafeFile as exc:
        return loc, f"{label}: the {role} cannot be read: {exc.message}", exc.fix or f"make {relative} a regular file"
    except ContentError as exc:
        return ("exercises", job.index, "tests"), f"{label}: {exc.message}", exc.fix or "fix the test file"
    if run.timed_out:
        return loc, (f"{label}: the tests did not finish against the {role} within timeout_s={exercise.timeout_s:g} s"), \
            "make the tests faster, or raise timeout_s"
    if role == "solution":
        failing = [o for o in run.outcomes if not o.passed]
        if run.import_error is not None:
            return loc, f"{label}: the reference solution does not import: {run.import_error}", f"fix {relative}"
        if failing:
            first = failing[0]
            return loc, (f"{label}: the reference solution fails {len(failing)} of {len(tests)} test(s) "
                         f"({_names([o.case.condition_id for o in failing])}); first: {first.case.condition_id}: "
                         f"{first.message}"), f"fix {relative} or the tests: the solution must pass every test"
        return None
    passing = [o for o in run.outcomes if o.passed]
    if passing:
        return loc, (f"{label}: the untouched starter passes {len(passing)} of {len(tests)} test(s) "
                     f"({_names([o.case.condition_id for o in passing])}), so it earns points for nothing"), \
            (f"make {relative} fail every test: raise NotImplementedError (or return a wrong value) "
             "wherever the learner has work to do")
    return None


def code_exercise_problems(lessons: list[LoadedLesson], *, workers: int | None = None) -> list[SourceProblem]:
    """Run every code exercise's reference solution and starter; the problems found, in file order."""
    jobs = [_Job(entry, index, exercise, role)
            for entry in lessons
            for index, exercise in enumerate(entry.lesson.exercises) if isinstance(exercise, CodeExercise)
            for role in ("solution", "starter")]
    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 2)) as pool:
        found = list(pool.map(_run, jobs))
    problems: list[SourceProblem] = []
    sources: dict[Path, YamlSource] = {}
    for job, problem in zip(jobs, found, strict=True):
        if problem is None:
            continue
        loc, message, fix = problem
        if job.entry.path not in sources:
            sources[job.entry.path] = load_yaml(job.entry.path)
        problems.append(SourceProblem(job.entry.path, sources[job.entry.path].line_of(loc), message, fix=fix))
    return problems
