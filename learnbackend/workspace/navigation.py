"""Moving through a workspace: exercise states, the current exercise, next, hints, reset.

States come from the progress store, kept under the workspace's id so that one learner
can have several workspaces (courses) without their progress mixing.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from learnbackend.course.catalog import Catalog
from learnbackend.course.handlers import handler_for
from learnbackend.errors import LearnBackendError, RefusedError
from learnbackend.workspace.manifest import Manifest, WorkspaceExercise

#: One vocabulary for every command (check, list, next, watch): never checked counts as not started.
STATES = ("passed", "failed", "error", "skipped", "not started")
_CURRENT_KEY = "workspace.current"
_HINTS_KEY = "workspace.hints."


@dataclass(frozen=True)
class ExerciseState:
    """An exercise of the workspace and where the learner stands with it."""

    number: int
    spec: WorkspaceExercise
    status: str

    @property
    def done(self) -> bool:
        return self.status == "passed"


def states(store: Any, manifest: Manifest) -> list[ExerciseState]:
    """Every exercise with its last checked state (not started: never checked, reset, or untouched)."""
    last = store.last_outcomes(workspace=manifest.workspace_id)
    result = []
    for number, spec in enumerate(manifest.exercises, start=1):
        status = last.get(spec.id, "not started")
        result.append(ExerciseState(number, spec, status if status in STATES else "not started"))
    return result


def current(store: Any, manifest: Manifest) -> ExerciseState | None:
    """The exercise to work on: the one chosen with ``next`` while unsolved, else the first unsolved."""
    all_states = states(store, manifest)
    chosen = store.get_value(_CURRENT_KEY, workspace=manifest.workspace_id)
    for state in all_states:
        if state.spec.id == chosen and not state.done:
            return state
    return next((s for s in all_states if not s.done), None)


def advance(store: Any, manifest: Manifest, *, after: str | None = None) -> ExerciseState | None:
    """Move to the next unsolved exercise after ``after`` (default: the current one), wrapping around.

    Returns the new current exercise, or None when every exercise is solved.
    """
    all_states = states(store, manifest)
    start = next((s for s in all_states if s.spec.id == after), None) if after else current(store, manifest)
    if start is None:
        return None
    after_start = all_states[start.number:] + all_states[: start.number - 1]
    target = next((s for s in after_start if not s.done), None)
    if target is None:
        target = start if not start.done else None
    if target is not None:
        store.set_value(_CURRENT_KEY, target.spec.id, workspace=manifest.workspace_id)
    return target


def select(store: Any, manifest: Manifest, exercise_id: str) -> ExerciseState:
    """Make the named exercise the current one."""
    spec = manifest.exercise(exercise_id)
    store.set_value(_CURRENT_KEY, spec.id, workspace=manifest.workspace_id)
    return next(s for s in states(store, manifest) if s.spec.id == spec.id)


def reveal_hint(store: Any, manifest: Manifest, catalog: Catalog, spec: WorkspaceExercise) -> tuple[list[str], int]:
    """Reveal one more hint of ``spec`` (they come one at a time); returns the hints shown so far and the total."""
    _, exercise = catalog.exercise(spec.id)
    hints = [h for h in exercise.hints() if h.strip()]
    key = _HINTS_KEY + spec.id
    shown = min(len(hints), max(0, store.get_int(key, 0, workspace=manifest.workspace_id)) + 1)
    store.set_value(key, shown, workspace=manifest.workspace_id)
    return hints[:shown], len(hints)


def reset_exercise(root: Path, store: Any, manifest: Manifest, catalog: Catalog, spec: WorkspaceExercise) -> list[Path]:
    """Put an exercise back to its starting files and mark it pending; returns the files written."""
    from learnbackend.workspace.safefiles import check_dir, relative_parts

    parts = relative_parts(spec.path)
    if len(parts) < 2 or parts[0] != "exercises":
        raise RefusedError(f"{spec.path} is outside this workspace's exercises/ directory; not touching it.",
                           fix="Restore learnbackend.yaml, or re-create the workspace with `learnbackend init`.")
    # Never through a link: `exercises/` or a parent pointing elsewhere would make rmtree delete there.
    try:
        check_dir(root, "/".join(parts[:-1]))
    except FileNotFoundError:
        pass  # recreated below
    target = root.joinpath(*parts)
    entry, exercise = catalog.exercise(spec.id)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        target.unlink()  # the link itself, never what it points to
    elif target.exists():
        shutil.rmtree(target)  # does not follow links inside the tree
    target.mkdir(parents=True)
    files = handler_for(exercise.kind).materialize(entry, exercise, target)
    store.record(spec.module, spec.id, "reset", workspace=manifest.workspace_id)
    store.set_value(_HINTS_KEY + spec.id, 0, workspace=manifest.workspace_id)
    return files


def task_of(catalog: Catalog, spec: WorkspaceExercise) -> str:
    """What a code exercise asks (its prompt), for ``next``; empty for other kinds or an unknown exercise."""
    try:
        _, exercise = catalog.exercise(spec.id)
    except LearnBackendError:
        return ""
    return exercise.prompt.strip() if exercise.kind == "code" else ""
