"""``learnbackend init``: turn a selection of exercises (or an assignment) into a learner workspace."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from learnbackend.course.catalog import Catalog, LoadedLesson
from learnbackend.course.handlers import handler_for
from learnbackend.errors import NotFoundError, UsageError
from learnbackend.workspace.manifest import (
    MANIFEST_NAME,
    Manifest,
    Scoring,
    WorkspaceExercise,
    save_manifest,
)

README_NAME = "README.md"


@dataclass(frozen=True)
class Selection:
    """What goes into a workspace: exercises with their scoring, and where they come from."""

    items: list[tuple[LoadedLesson, Any, WorkspaceExercise]]
    scoring: Scoring
    lesson_dirs: list[Path]
    description: str = ""


@dataclass(frozen=True)
class CreatedWorkspace:
    """The result of ``init``: where the workspace is and what it holds."""

    root: Path
    manifest: Manifest
    files: list[Path]


def _item(entry: LoadedLesson, exercise: Any, *, points: float = 1.0, partial: bool = True,
          conditions: dict[str, float] | None = None) -> tuple[LoadedLesson, Any, WorkspaceExercise]:
    spec = WorkspaceExercise(id=f"{entry.lesson.id}/{exercise.id}", path="", kind=exercise.kind, module=entry.lesson.module,
                             points=points, partial=partial, conditions=dict(conditions or {}))
    return entry, exercise, spec


def select_from_catalog(catalog: Catalog, *, module: str | None = None, lessons: list[str] | None = None) -> Selection:
    """Every exercise of the catalog, of one module, or of the named lessons (1 point each, pass mark 100 %)."""
    entries = catalog.lessons
    if lessons:
        entries = [catalog.lesson(lesson_id) for lesson_id in lessons]
    if module:
        entries = [e for e in entries if e.lesson.module == module]
    items = [_item(entry, exercise) for entry in entries for exercise in entry.lesson.exercises]
    if not items:
        what = f"module {module!r}" if module else "the selected lessons" if lessons else "the course"
        raise NotFoundError(f"There are no exercises in {what}.", fix="Run `learnbackend lessons list` to see what exists.")
    return Selection(items, Scoring(), [])


def select_from_assignment(loaded: Any) -> Selection:
    """The exercises of a validated assignment (:class:`LoadedAssignment`), with its scoring."""
    assignment = loaded.assignment
    items = [_item(t.entry, t.exercise, points=t.points, partial=t.partial, conditions=t.conditions) for t in loaded.tasks]
    scoring = Scoring(assignment=assignment.name, title=assignment.title, pass_mark=assignment.pass_mark, due=assignment.due_utc())
    return Selection(items, scoring, list(loaded.lesson_dirs), assignment.description)


def portable_dir(directory: Path, root: Path) -> str:
    """``directory`` relative to the workspace ``root`` (POSIX separators), so a repository can move or be cloned."""
    return Path(os.path.relpath(directory.resolve(), root)).as_posix()


def create_workspace(dest: Path, selection: Selection, *, pack_version: str, student: str = "") -> CreatedWorkspace:
    """Create the workspace at ``dest`` (new or empty): manifest, README, one directory per exercise.

    Each exercise's handler writes its starting files. If anything fails, nothing is left behind.
    """
    dest = dest.resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(f"{dest} already exists and is not empty.", fix="Choose a new directory name, or empty this one.")
    for _, exercise, _ in selection.items:
        handler_for(exercise.kind)  # unknown kinds fail before anything is written
    existed = dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        files: list[Path] = []
        specs: list[WorkspaceExercise] = []
        width = max(2, len(str(len(selection.items))))
        for number, (entry, exercise, spec) in enumerate(selection.items, start=1):
            relative = f"exercises/{number:0{width}d}-{exercise.id}"
            target = dest / relative
            target.mkdir(parents=True)
            files.extend(handler_for(exercise.kind).materialize(entry, exercise, target))
            specs.append(spec.model_copy(update={"path": relative}))
        manifest = Manifest(
            workspace_id=uuid.uuid4().hex, created=datetime.now(timezone.utc).replace(microsecond=0),
            pack_version=pack_version, student=student, lesson_dirs=[portable_dir(p, dest) for p in selection.lesson_dirs],
            scoring=selection.scoring, exercises=specs,
        )
        files.append(save_manifest(dest, manifest))
        readme = dest / README_NAME
        readme.write_text(readme_text(manifest, selection), encoding="utf-8")
        files.append(readme)
    except BaseException:
        if existed:
            for child in dest.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        else:
            shutil.rmtree(dest, ignore_errors=True)
        raise
    return CreatedWorkspace(dest, manifest, files)


def readme_text(manifest: Manifest, selection: Selection) -> str:
    """The learner's README: what to do, how to check, the exercises in order."""
    scoring = manifest.scoring
    title = scoring.title or "learnbackend workspace"
    lines = [f"# {title}", ""]
    if selection.description.strip():
        lines += [selection.description.strip(), ""]
    max_points = sum(e.points for e in manifest.exercises)
    lines += [f"{len(manifest.exercises)} exercises, {max_points:g} points; pass mark {scoring.pass_mark:g} %."]
    if scoring.due:
        lines += [f"Due: {scoring.due.isoformat()} (UTC)."]
    lines += [
        "",
        "## How to work",
        "",
        "Each exercise is a directory under `exercises/`, in order. Read its files, edit the ones",
        "marked TODO, then let learnbackend check your work:",
        "",
        "```",
        "learnbackend watch     # re-checks the current exercise whenever you save (h hint, l list, n next, q quit)",
        "learnbackend check     # checks every exercise (exit 0 when all pass)",
        "learnbackend list      # every exercise and its status",
        "learnbackend next      # move on to the next unsolved exercise",
        "learnbackend hint      # a hint for the current exercise",
        "learnbackend reset ID  # start an exercise over",
        "```",
        "",
        f"Do not edit `{MANIFEST_NAME}`: it tells learnbackend what this workspace holds.",
        "",
        "## Exercises",
        "",
        "| # | exercise | directory | points |",
        "|---|---|---|---|",
    ]
    for number, item in enumerate(manifest.exercises, start=1):
        lines.append(f"| {number} | `{item.id}` | `{item.path}/` | {item.points:g} |")
    return "\n".join(lines) + "\n"
