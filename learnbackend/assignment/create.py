"""``assignment create``: write a valid assignment file from a selection of exercises."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from learnbackend.errors import UsageError

HEADER = """\
# A learnbackend assignment (format: docs/instructors.md).
# Check it with `learnbackend assignment validate {name}`;
# learners start with `learnbackend init DIR --assignment {name}`.
"""


@dataclass
class AssignmentDraft:
    """What the instructor chose (by flags or in the picker)."""

    name: str
    title: str
    pass_mark: float
    exercises: list[str] = field(default_factory=list)
    lessons: list[str] = field(default_factory=list)
    points: float = 1.0
    due: date | str | None = None
    lesson_dirs: list[Path] = field(default_factory=list)
    description: str = ""


def _due(value: date | str) -> date | datetime:
    """A date (a day: due at its end) or a date-time, from the picker or ``--due``."""
    if isinstance(value, date):
        return value
    text = value.strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"The due date {value!r} is not a date (2026-12-01) or an ISO date-time (2026-12-01T18:00:00+01:00).",
                         fix="Pass --due YYYY-MM-DD or an ISO 8601 date-time.") from None


def to_data(draft: AssignmentDraft, output: Path) -> dict[str, Any]:
    """The YAML document for ``draft`` (lesson dirs made relative to the file when possible)."""
    if not draft.exercises and not draft.lessons:
        raise UsageError("An assignment needs at least one exercise.", fix="Pass --exercise ID or --lesson ID (repeatable).")
    data: dict[str, Any] = {"format_version": 1, "name": draft.name, "title": draft.title}
    if draft.description:
        data["description"] = draft.description
    data["pass_mark"] = draft.pass_mark
    if draft.due:
        data["due"] = _due(draft.due)
    if draft.lesson_dirs:
        base = output.resolve().parent
        dirs = []
        for d in draft.lesson_dirs:
            resolved = d.resolve()
            try:
                dirs.append(str(resolved.relative_to(base)))
            except ValueError:
                dirs.append(str(resolved))
        data["lessons"] = dirs
    entries: list[dict[str, Any]] = [{"lesson": lesson, "points": draft.points} for lesson in draft.lessons]
    entries += [{"id": exercise, "points": draft.points} for exercise in draft.exercises]
    data["exercises"] = entries
    return data


def write_assignment(draft: AssignmentDraft, output: Path, *, extra_lesson_dirs: list[Path] = (), force: bool = False) -> Any:  # type: ignore[assignment]
    """Write the assignment file and validate it; returns the LoadedAssignment. A bad one is removed again."""
    from learnbackend.assignment.load import load_assignment

    if output.exists() and not force:
        raise UsageError(f"{output} already exists.", fix="Choose another file name, or pass --force to overwrite it.")
    text = HEADER.format(name=output.name) + yaml.safe_dump(to_data(draft, output), sort_keys=False, allow_unicode=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    try:
        return load_assignment(output, extra_lesson_dirs=list(extra_lesson_dirs))
    except BaseException:
        output.unlink(missing_ok=True)
        raise
