"""The interactive picker of ``assignment create``: lessons, then exercises, then the settings.

Built on the :class:`~learnbackend.ui.prompts.Prompter` interface, so tests script it
and, without a terminal, it refuses clearly instead of hanging.
"""

from __future__ import annotations

from datetime import date

from learnbackend.assignment.create import AssignmentDraft
from learnbackend.course.catalog import Catalog
from learnbackend.errors import UsageError
from learnbackend.ui.prompts import Prompter


def _number(raw: str, what: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{what} must be a number, not {raw!r}.") from None
    if not low <= value <= high:
        raise UsageError(f"{what} must be between {low:g} and {high:g}.")
    return value


def pick(prompter: Prompter, catalog: Catalog, draft: AssignmentDraft) -> AssignmentDraft:
    """Fill what ``draft`` lacks by asking: the exercises first, then name, title, pass mark, due date."""
    if not draft.exercises and not draft.lessons:
        lessons = [e for e in catalog.lessons if e.lesson.exercises]
        labels = [f"{e.lesson.id}: {e.lesson.title} ({len(e.lesson.exercises)} exercises)" for e in lessons]
        chosen = prompter.checkbox("Which lessons?", labels)
        if not chosen:
            raise UsageError("No lesson was picked.", fix="Pick at least one lesson with the space bar.")
        for index in chosen:
            entry = lessons[index]
            ids = entry.exercise_ids()
            whole = f"all {len(ids)} exercises"
            pick_some = prompter.select(f"{entry.lesson.id}: which exercises?", [whole, "let me choose"], default=0)
            if pick_some == 0:
                draft.lessons.append(entry.lesson.id)
                continue
            exercises = prompter.checkbox(f"Exercises of {entry.lesson.id}", ids)
            draft.exercises.extend(ids[i] for i in exercises)
        if not draft.exercises and not draft.lessons:
            raise UsageError("No exercise was picked.", fix="Pick at least one exercise.")
    if not draft.name:
        draft.name = prompter.text("A short name (lowercase, dashes), e.g. week-1:").strip()
    if not draft.title:
        draft.title = prompter.text("A title for learners:").strip()
    if draft.pass_mark < 0:
        draft.pass_mark = _number(prompter.text("Pass mark in percent (0-100):").strip() or "50", "The pass mark", 0, 100)
    if draft.due is None and prompter.confirm("Set a due date?", default=False):
        raw = prompter.text("Due date (YYYY-MM-DD, end of day UTC; empty for none):").strip()
        try:
            draft.due = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise UsageError(f"{raw!r} is not a date like 2026-12-01.", fix="Write the date as YYYY-MM-DD, or pass --due.") from None
    return draft
