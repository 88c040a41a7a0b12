"""The ``container-spec`` exercise handler: write the spec to complete, then check it for real.

``check`` validates the learner's spec (a bad spec is an ``error`` with the
reason), runs every trial of the exercise against the real engine with the
lab's safety rules, and compares what happened with what was expected.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learnbackend.containers.content import ContainerSpecExercise, Expectation, Trial
from learnbackend.containers.runner import RunOutcome
from learnbackend.course.handlers import copy_starter
from learnbackend.course.results import ConditionResult, ExerciseResult, from_conditions
from learnbackend.errors import EnvironmentMissing

if TYPE_CHECKING:
    from learnbackend.course.catalog import LoadedLesson

MODULE = "containers"


def evaluate(trial: Trial, outcome: RunOutcome, prefix: str) -> list[ConditionResult]:
    """One condition per field of the trial's expectation."""
    expect: Expectation = trial.expect
    name = f"{prefix}: {trial.name}"
    conditions: list[ConditionResult] = []

    def add(key: str, passed: bool, what: str, expected: Any, actual: Any) -> None:
        conditions.append(ConditionResult(f"{prefix}.{key}", passed, f"{name}: {what}", expected, actual, trial.hint))

    if outcome.error or outcome.timed_out:
        actual = outcome.error or f"still running after {outcome.duration_s:.0f} s (killed)"
        add("ran", False, "the container ran to the end", "finished", actual)
        return conditions
    if expect.exit_code is not None:
        add("exit_code", outcome.exit_code == expect.exit_code, "exit code", expect.exit_code, outcome.exit_code)
    if expect.exit_code_not is not None:
        add("exit_code_not", outcome.exit_code != expect.exit_code_not, "exit code differs",
            f"not {expect.exit_code_not}", outcome.exit_code)
    if expect.oom_killed is not None:
        add("oom_killed", outcome.oom_killed == expect.oom_killed, "OOM-killed", expect.oom_killed, outcome.oom_killed)
    tail = outcome.output.strip()[-200:]
    if expect.output_contains is not None:
        add("output_contains", expect.output_contains in outcome.output, "output contains",
            expect.output_contains, tail)
    if expect.output_lacks is not None:
        add("output_lacks", expect.output_lacks not in outcome.output, "output does not contain",
            f"no {expect.output_lacks!r}", tail)
    if expect.lines_starting:
        count = sum(line.startswith(expect.lines_starting) for line in outcome.output.splitlines())
        if expect.at_most is not None:
            add("at_most", count <= expect.at_most, f"lines starting {expect.lines_starting!r}",
                f"at most {expect.at_most}", count)
        if expect.at_least is not None:
            add("at_least", count >= expect.at_least, f"lines starting {expect.lines_starting!r}",
                f"at least {expect.at_least}", count)
    return conditions


class ContainerSpecHandler:
    """The handler registered for ``container-spec`` exercises."""

    def materialize(self, entry: LoadedLesson, exercise: ContainerSpecExercise, dest: Path) -> list[Path]:
        """Copy the spec to complete (with its TODOs) into the workspace."""
        return copy_starter(entry, exercise.starter, exercise.file, dest)

    def check(self, entry: LoadedLesson | None, exercise: ContainerSpecExercise, workdir: Path, *,
              timeout: float = 120.0) -> ExerciseResult:
        """Run the learner's spec for real; never raises for a failed exercise."""
        from learnbackend.containers import spec as specs

        started = time.perf_counter()
        try:
            data = specs.load(workdir / exercise.file)
            specs.validate(data, required=exercise.required)
            plans = [specs.validate({**data, **trial.override}) for trial in exercise.trials]
        except specs.SpecError as exc:
            message = f"{exercise.file}: {exc.message}" + (f" ({exc.fix})" if exc.fix else "")
            return ExerciseResult(exercise.id, "error", message, module=MODULE,
                                  duration_s=time.perf_counter() - started)
        try:
            outcomes = self._run_all(plans, started, timeout)
        except EnvironmentMissing as exc:
            return ExerciseResult(exercise.id, "error", f"{exc.message} {exc.fix or ''}".strip(), module=MODULE,
                                  missing_environment=True, duration_s=time.perf_counter() - started)
        conditions: list[ConditionResult] = []
        for index, (trial, outcome) in enumerate(zip(exercise.trials, outcomes, strict=True), start=1):
            conditions.extend(evaluate(trial, outcome, f"run{index}"))
        result = from_conditions(exercise.id, conditions, module=MODULE, duration_s=time.perf_counter() - started,
                                 passed_message=f"all {len(outcomes)} run(s) behaved as the goal asks")
        result.details = {"runs": [{"name": t.name, **o.to_dict()} for t, o in zip(exercise.trials, outcomes, strict=True)]}
        return result

    @staticmethod
    def _run_all(plans: list[Any], started: float, timeout: float) -> list[RunOutcome]:
        from dataclasses import replace

        from learnbackend.containers import runner

        outcomes = []
        with runner.session() as (client, image):
            for plan in plans:
                left = max(1.0, timeout - (time.perf_counter() - started))
                outcomes.append(runner.run(client, image, replace(plan, timeout=min(plan.timeout, left)),
                                           kind="exercise"))
        return outcomes


HANDLER = ContainerSpecHandler()
