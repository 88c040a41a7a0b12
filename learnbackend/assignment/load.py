"""Loading and validating assignment files: every problem at once, with file, line and fix.

The file is parsed with :mod:`learnbackend.course.yamlsource` (lines of every key),
validated by the pydantic model, then cross-checked against the catalog (the bundled
lessons plus the assignment's own lesson directories): ids exist, no exercise twice,
some points to earn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from learnbackend.assignment.model import FORMAT_VERSION, Assignment, AssignmentExercise
from learnbackend.course.catalog import Catalog, LoadedLesson, format_problems
from learnbackend.course.validate import describe_loc, document_loc, yaml_surprise
from learnbackend.course.yamlsource import Loc, SourceProblem, YamlSource, load_yaml
from learnbackend.errors import ContentError
from learnbackend.workspace.catalogcache import load_catalog_cached


@dataclass(frozen=True)
class Task:
    """One exercise of an assignment, resolved against the catalog."""

    entry: LoadedLesson
    exercise: Any
    points: float
    partial: bool
    conditions: dict[str, float]

    @property
    def id(self) -> str:
        return f"{self.entry.lesson.id}/{self.exercise.id}"


@dataclass
class LoadedAssignment:
    """A valid assignment, its file, its lesson directories and its exercises in order."""

    assignment: Assignment
    path: Path
    lesson_dirs: list[Path]
    catalog: Catalog
    tasks: list[Task] = field(default_factory=list)

    @property
    def max_points(self) -> float:
        return sum(t.points for t in self.tasks)


def _where(loc: Loc, data: Any) -> str:
    return describe_loc(loc, data, name_keys=("id", "lesson"))


def _unknown_conditions(source: YamlSource, loc: Loc, label: str, item: AssignmentExercise, entry: LoadedLesson,
                        exercise: Any) -> list[SourceProblem]:
    """Weights for conditions the exercise never reports (a typo would silently change the grading)."""
    from learnbackend.assignment.conditions import condition_ids

    known = condition_ids(entry, exercise) if item.conditions else None
    if known is None:
        return []
    return [SourceProblem(source.path, source.line_of(loc + ("conditions", name)),
                          f"{label}.conditions: {name!r} is not a condition of {entry.lesson.id}/{exercise.id}",
                          fix=f"use one of: {', '.join(sorted(known))}")
            for name in item.conditions if name not in known and name.split("[", 1)[0] not in known]


def _model_problems(source: YamlSource, exc: ValidationError, prefix: Loc = ()) -> list[SourceProblem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = prefix + tuple(p for p in error["loc"] if not (isinstance(p, str) and p in ("datetime", "date")))
        if source.was_reported(document_loc(loc, source.data)):
            continue  # already reported while reading the YAML (an impossible date, a refused tag)
        message = error["msg"].removeprefix("Value error, ")
        fix = None
        surprise = yaml_surprise(source, document_loc(loc, source.data), error)
        if surprise is not None:
            message, fix = surprise
        elif error["type"] == "extra_forbidden":
            message = "is not a known field (a typo?)"
        elif error["type"] == "missing":
            message = "is required but missing"
        problems.append(SourceProblem(source.path, source.line_of(loc), f"{_where(loc, source.data)}: {message}", fix=fix))
    # A date that is neither a date nor a date-time yields two errors (one per type): keep one.
    unique: dict[tuple[int | None, str], SourceProblem] = {}
    for problem in problems:
        unique.setdefault((problem.line, problem.message.split(":")[0]), problem)
    return list(unique.values())


def validate_assignment_source(source: YamlSource, *, extra_lesson_dirs: list[Path] = ()) -> tuple[LoadedAssignment | None, list[SourceProblem]]:  # type: ignore[assignment]
    """Validate an assignment file; returns it resolved (or None) and every problem found."""
    path = source.path
    problems = list(source.problems)
    data = source.data
    if data is None:
        return None, problems
    if not isinstance(data, dict):
        return None, problems + [SourceProblem(path, 1, "must be a mapping with format_version, name, title, exercises...")]
    version = data.get("format_version")
    if version is None:
        return None, problems + [SourceProblem(path, 1, "format_version is missing", fix=f"add `format_version: {FORMAT_VERSION}` at the top")]
    if isinstance(version, int) and version > FORMAT_VERSION:
        return None, problems + [SourceProblem(
            path, source.line_of(("format_version",)),
            f"this assignment uses format_version {version}, but this learnbackend reads only up to {FORMAT_VERSION}",
            fix="upgrade learnbackend (pip install -U learnbackend)")]
    # The header and each exercise are validated separately, so one bad entry hides nothing else.
    raw_exercises = data.get("exercises")
    header = {**data, "exercises": [{"lesson": "-"}]}
    assignment: Assignment | None = None
    try:
        assignment = Assignment.model_validate(header)
    except ValidationError as exc:
        problems.extend(_model_problems(source, exc))
    items: list[tuple[int, AssignmentExercise]] = []
    if raw_exercises is None:
        problems.append(SourceProblem(path, 1, "exercises is required but missing", fix="list the exercises under `exercises:`"))
    elif not isinstance(raw_exercises, list) or not raw_exercises:
        problems.append(SourceProblem(path, source.line_of(("exercises",)), "exercises must be a non-empty list"))
    else:
        for index, raw in enumerate(raw_exercises):
            try:
                items.append((index, AssignmentExercise.model_validate(raw)))
            except ValidationError as exc:
                problems.extend(_model_problems(source, exc, prefix=("exercises", index)))
    raw_dirs: list[Any] = data["lessons"] if isinstance(data.get("lessons"), list) else []
    lesson_dirs: list[Path] = []
    for index, raw in enumerate(raw_dirs):
        if not isinstance(raw, str):
            continue  # already reported by the model
        directory = (path.parent / raw).resolve()
        if not directory.is_dir():
            problems.append(SourceProblem(path, source.line_of(("lessons", index)), f"lessons[{index}]: {raw!r} is not a directory",
                                          fix=f"create {directory} or fix the path (relative to {path.parent})"))
        else:
            lesson_dirs.append(directory)
    catalog = load_catalog_cached([*extra_lesson_dirs, *lesson_dirs])
    problems.extend(catalog.problems)
    loaded = LoadedAssignment(assignment, path, lesson_dirs, catalog) if assignment is not None else None
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for index, item in items:
        loc: Loc = ("exercises", index)
        label = _where(loc, data)
        if item.lesson is not None:
            entries = [e for e in catalog.lessons if e.lesson.id == item.lesson]
            if not entries:
                problems.append(SourceProblem(path, source.line_of(loc + ("lesson",)), f"{label}: no lesson has the id {item.lesson!r}",
                                              fix="run `learnbackend lessons list` for the ids (add your own lesson dirs under `lessons:`)"))
                continue
            pairs = [(entries[0], ex) for ex in entries[0].lesson.exercises]
        else:
            lesson_id, _, exercise_id = (item.id or "").partition("/")
            entry = next((e for e in catalog.lessons if e.lesson.id == lesson_id), None)
            exercise = entry.lesson.exercise(exercise_id) if entry else None
            if entry is None or exercise is None:
                what = f"no lesson has the id {lesson_id!r}" if entry is None else f"lesson {lesson_id!r} has no exercise {exercise_id!r}"
                problems.append(SourceProblem(path, source.line_of(loc + ("id",)), f"{label}: {what}",
                                              fix=f"run `learnbackend lessons show {lesson_id}` for its exercises" if entry else
                                              "run `learnbackend lessons list` for the ids (add your own lesson dirs under `lessons:`)"))
                continue
            pairs = [(entry, exercise)]
        for entry, exercise in pairs:
            problems.extend(_unknown_conditions(source, loc, label, item, entry, exercise))
            task = Task(entry, exercise, item.points, item.partial, dict(item.conditions))
            if task.id in seen:
                problems.append(SourceProblem(path, source.line_of(loc), f"{label}: exercise {task.id!r} is already listed in exercises[{seen[task.id]}]",
                                              fix="list each exercise once"))
                continue
            seen[task.id] = index
            tasks.append(task)
    if loaded is None:
        problems.sort(key=lambda p: (str(p.path), p.line or 0))
        return None, problems
    loaded.assignment = loaded.assignment.model_copy(update={"exercises": [item for _, item in items]})
    loaded.tasks = tasks
    if not problems and loaded.max_points <= 0:
        problems.append(SourceProblem(path, source.line_of(("exercises",)), "the exercises are worth 0 points in all",
                                      fix="give at least one exercise some `points`"))
    problems.sort(key=lambda p: (str(p.path), p.line or 0))
    return (None if problems else loaded), problems


def validate_assignment_file(path: Path, *, extra_lesson_dirs: list[Path] = ()) -> tuple[LoadedAssignment | None, list[SourceProblem]]:  # type: ignore[assignment]
    """Validate the assignment file at ``path`` (see :func:`validate_assignment_source`)."""
    return validate_assignment_source(load_yaml(path.resolve()), extra_lesson_dirs=list(extra_lesson_dirs))


def load_assignment(path: Path, *, extra_lesson_dirs: list[Path] = ()) -> LoadedAssignment:  # type: ignore[assignment]
    """The resolved assignment; raises :class:`ContentError` listing every problem (exit 2)."""
    loaded, problems = validate_assignment_file(path, extra_lesson_dirs=list(extra_lesson_dirs))
    if loaded is None:
        raise ContentError(
            f"The assignment {path} is not valid:\n" + format_problems(problems),
            fix=f"Fix the lines above; `learnbackend assignment validate {path}` re-checks it.",
        )
    return loaded
