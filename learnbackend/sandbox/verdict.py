"""Turning a sandboxed run into an exercise verdict, for handlers that run learner code.

A handler calls :func:`~learnbackend.sandbox.runner.run_sandboxed`, then
:func:`limits_condition` (did the program stay within the limits?) and, if it did not,
:func:`limit_result` gives the failed :class:`ExerciseResult` with a clear message.
"""

from __future__ import annotations

from learnbackend.course.results import ConditionResult, ExerciseResult
from learnbackend.sandbox.runner import SandboxResult

LIMITS_HINT = ("Your program is stopped when it runs too long, uses too much memory, starts too many processes, "
               "writes too much, or reaches for the network (only 127.0.0.1 works).")


def limits_condition(result: SandboxResult) -> ConditionResult:
    """The condition "the program stayed within the sandbox limits"."""
    return ConditionResult(
        "within-limits", result.killed_reason is None, "the program stays within the sandbox's limits",
        expected="no limit reached", actual=result.killed_reason or "no limit reached", hint=LIMITS_HINT,
    )


def limit_result(exercise_id: str, result: SandboxResult, *, module: str = "") -> ExerciseResult | None:
    """A failed result naming the limit that stopped the program, or None when none did."""
    if result.killed_reason is None:
        return None
    tail = result.stderr.strip().splitlines()[-1:] if result.stderr.strip() else []
    message = f"Stopped by the sandbox: {result.killed_reason}."
    if tail:
        message += f" Last error line: {tail[0][:200]}"
    return ExerciseResult(exercise_id, "failed", message, [limits_condition(result)], result.duration_s, module,
                          details={"stdout": result.stdout[-2000:], "stderr": result.stderr[-2000:],
                                   "network_isolated": result.network_isolated, "isolated": result.isolated})
