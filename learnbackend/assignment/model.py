"""The assignment file: which exercises, their points (with partial credit), a pass mark, a due date.

An assignment is YAML written by an instructor, validated like lesson files (every
problem with file, line and fix). ``learnbackend assignment validate`` is its linter;
``learnbackend init DIR --assignment FILE`` turns it into a learner workspace.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from pydantic import Field, field_validator, model_validator

from learnbackend.course.models import ContentModel, Slug, Text

FORMAT_VERSION = 1


class AssignmentExercise(ContentModel):
    """One entry of ``exercises``: an exercise (``id``) or every exercise of a lesson (``lesson``)."""

    id: str | None = Field(default=None, description="A global exercise id, '<lesson id>/<exercise id>'.")
    lesson: str | None = Field(default=None, description="A lesson id: all its exercises, each worth `points`.")
    points: float = Field(default=1.0, ge=0, le=1000, description="Points for solving the exercise fully.")
    partial: bool = Field(
        default=True,
        description="Partial credit: a failed exercise earns `points` times the weighted share of its conditions that passed.",
    )
    conditions: dict[str, float] = Field(
        default_factory=dict,
        description="Weights of named conditions for partial credit (unnamed conditions weigh 1).",
    )

    @model_validator(mode="after")
    def _one_target(self) -> AssignmentExercise:
        if (self.id is None) == (self.lesson is None):
            raise ValueError("give exactly one of `id` (one exercise) or `lesson` (all its exercises)")
        if self.id is not None and "/" not in self.id:
            raise ValueError(f"id {self.id!r} must be '<lesson id>/<exercise id>'")
        if self.lesson is not None and self.conditions:
            raise ValueError("`conditions` weights apply to one exercise: use `id`, not `lesson`")
        return self

    @field_validator("conditions")
    @classmethod
    def _weights_positive(cls, weights: dict[str, float]) -> dict[str, float]:
        bad = [name for name, weight in weights.items() if weight < 0]
        if bad:
            raise ValueError(f"condition weights must be 0 or more (see {', '.join(bad)})")
        return weights


class LatePolicy(ContentModel):
    """What a late submission costs. Lateness is judged by the submission's last commit."""

    grace_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60, description="Minutes after the due moment that still count as on time.")
    penalty_per_day: float = Field(default=0.0, ge=0, le=100,
                                   description="Percent of the earned points taken per started day late (after the grace period).")
    max_days: int | None = Field(default=None, ge=0, le=365,
                                 description="Submissions more than this many days late earn 0 points (none: no limit).")


class Assignment(ContentModel):
    """An assignment file."""

    format_version: Literal[1] = Field(description="The assignment format version; this release reads 1.")
    name: Slug = Field(description="A short identifier, recorded in every check report (e.g. 'week-1').")
    title: Text = Field(description="Shown to learners in the workspace README and in the roster.")
    description: str = Field(default="", description="Instructions for the learners, in Markdown.")
    pass_mark: float = Field(ge=0, le=100, description="Percent of the maximum points needed to pass.")
    due: datetime | date | None = Field(
        default=None,
        description="Due date: an ISO date (end of that day, UTC) or date-time (UTC unless it has an offset).",
    )
    late: LatePolicy = Field(default_factory=LatePolicy, description="Grace period and penalty for late submissions.")
    extensions: dict[str, int] = Field(
        default_factory=dict, description="Extra days per learner (their name as in the class list), e.g. `{ada: 2}`."
    )
    lessons: list[str] = Field(
        default_factory=list, description="Your own lesson directories, relative to this file."
    )
    exercises: list[AssignmentExercise] = Field(min_length=1, description="The exercises, in the order learners do them.")

    @field_validator("due", mode="before")
    @classmethod
    def _plain_date_is_a_date(cls, value: object) -> object:
        """'2026-12-01' (quoted) is a day, not midnight: the day's end is the deadline."""
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                return value
        return value

    def due_utc(self) -> datetime | None:
        """The due moment as an aware UTC datetime (a plain date means the end of that day, UTC)."""
        if self.due is None:
            return None
        due = self.due if isinstance(self.due, datetime) else datetime.combine(self.due, time(23, 59, 59))
        if due.tzinfo is None:
            due = due.replace(tzinfo=timezone.utc)
        return due.astimezone(timezone.utc)

    @model_validator(mode="after")
    def _late_rules_need_a_due_date(self) -> Assignment:
        if self.due is None and (self.extensions or self.late != LatePolicy()):
            raise ValueError("`late` and `extensions` need a `due` date to count from")
        return self

    @field_validator("extensions")
    @classmethod
    def _extensions_sane(cls, extensions: dict[str, int]) -> dict[str, int]:
        bad = [name for name, days in extensions.items() if not 0 <= days <= 365 or not name.strip()]
        if bad:
            raise ValueError(f"extensions are 0 to 365 days for a named learner (see {', '.join(repr(b) for b in bad)})")
        return extensions

    def lateness(self, student: str, submitted: datetime | None) -> tuple[bool | None, int, float]:
        """(late?, started days late, factor on the points) for ``student``'s submission at ``submitted``.

        ``None`` when there is no due date or no submission time. The learner's extension moves
        the due moment; the grace period is on time; each started day after the due moment
        costs ``penalty_per_day`` percent; past ``max_days`` the factor is 0.
        """
        due = self.due_utc()
        if due is None or submitted is None:
            return None, 0, 1.0
        due += timedelta(days=self.extensions.get(student, 0))
        if submitted <= due + timedelta(minutes=self.late.grace_minutes):
            return False, 0, 1.0
        days = max(1, math.ceil((submitted - due) / timedelta(days=1)))
        if self.late.max_days is not None and days > self.late.max_days:
            return True, days, 0.0
        return True, days, max(0.0, 1 - self.late.penalty_per_day * days / 100)


AssignmentKind = Literal["assignment"]
