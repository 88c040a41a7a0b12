"""Results of checking exercises: what every module's checker returns.

A checker never prints and never raises for a failed exercise: it returns an
:class:`ExerciseResult` whose ``status`` says passed, failed, error (the check
itself could not run: bad workspace file, timeout) or skipped, with one
:class:`ConditionResult` per condition checked (expected vs actual).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "error", "skipped"]


@dataclass
class ConditionResult:
    """One checked condition of an exercise."""

    id: str
    passed: bool
    description: str = ""
    expected: Any = None
    actual: Any = None
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ExerciseResult:
    """The outcome of checking one exercise."""

    id: str
    status: Status
    message: str
    conditions: list[ConditionResult] = field(default_factory=list)
    duration_s: float = 0.0
    module: str = ""
    #: Set when an environment the check needs is missing (exit code 3 for the run).
    missing_environment: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def score(self) -> float:
        """Fraction of conditions passed (partial credit); 1.0 when passed without conditions."""
        if self.status == "passed":
            return 1.0
        if not self.conditions or self.status in ("error", "skipped"):
            return 0.0
        return sum(c.passed for c in self.conditions) / len(self.conditions)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"] = self.score
        data["failed_conditions"] = [c.to_dict() for c in self.conditions if not c.passed]
        return data


def from_conditions(exercise_id: str, conditions: list[ConditionResult], *, module: str = "",
                    passed_message: str = "all conditions met", duration_s: float = 0.0) -> ExerciseResult:
    """Passed when every condition passed; otherwise failed, naming the first failing one."""
    failing = [c for c in conditions if not c.passed]
    if not failing:
        return ExerciseResult(exercise_id, "passed", passed_message, conditions, duration_s, module)
    first = failing[0]
    message = f"{first.description or first.id}: expected {first.expected!r}, got {first.actual!r}"
    if len(failing) > 1:
        message += f" (and {len(failing) - 1} more condition(s) failed)"
    return ExerciseResult(exercise_id, "failed", message, conditions, duration_s, module)
