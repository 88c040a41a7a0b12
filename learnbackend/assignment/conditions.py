"""The condition ids each exercise can report, so that an assignment's ``conditions`` weights are checked.

A weight for a condition that never appears in a result would be silently ignored
(a typo changes the grading without a word); ``assignment validate`` refuses it.
The ids mirror what each kind's handler puts in its :class:`ConditionResult` s.
"""

from __future__ import annotations

import ast
from typing import Any

from learnbackend.course.catalog import LoadedLesson

#: Reported by ``check`` itself for any exercise (its directory is missing or a link).
COMMON = frozenset({"workdir"})
QUESTION_KINDS = ("single", "multiple", "order", "text")
#: The fields of a container trial's expectation, each a condition ``run<N>.<field>``.
_EXPECTATIONS = ("exit_code", "exit_code_not", "oom_killed", "output_contains", "output_lacks", "at_most", "at_least")


def condition_ids(entry: LoadedLesson, exercise: Any) -> set[str] | None:
    """Every condition id the exercise's checker can report, or None when the kind is not known here."""
    kind = getattr(exercise, "kind", None)
    if kind in QUESTION_KINDS:
        return {*COMMON, "answered", "answer-readable", "correct"}
    if kind == "git-level":
        return {*COMMON, *(f"{n}-{cond.check}" for n, cond in enumerate(exercise.done_when, 1))}
    if kind == "container-spec":
        ids = set(COMMON)
        for n, trial in enumerate(exercise.trials, 1):
            ids.add(f"run{n}.ran")
            ids.update(f"run{n}.{key}" for key in _EXPECTATIONS if getattr(trial.expect, key, None) is not None)
        return ids
    if kind == "code":
        tests = _test_names(entry, exercise.tests)
        return None if tests is None else {*COMMON, "within-limits", *tests}
    return None


def _test_names(entry: LoadedLesson, relative: str) -> set[str] | None:
    """The test functions of an exercise's pytest file (instructor content, size-capped), or None if unreadable."""
    from learnbackend.course.yamlsource import read_source

    text, _ = read_source(entry.directory / relative, max_bytes=1024 * 1024)
    if text is None:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")}
