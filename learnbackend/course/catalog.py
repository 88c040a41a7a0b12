"""Finding and loading lesson files: the bundled pack plus instructors' directories.

A lesson directory holds ``pack.yaml`` (optional for instructors) and one
sub-directory per module with ``*.yaml`` lesson files; anything deeper (code
templates, test files) is an asset referenced by a lesson.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from learnbackend.course.models import MODULES, Lesson, Pack
from learnbackend.course.validate import validate_lesson_source, validate_pack_source
from learnbackend.course.yamlsource import SourceProblem, load_yaml
from learnbackend.errors import ContentError, NotFoundError


def bundled_lessons_dir() -> Path:
    """The lessons shipped with this installation.

    In a wheel they are inside the package (``learnbackend/_lessons``); in a
    source checkout they are the top-level ``lessons/`` directory.
    """
    package_dir = Path(__file__).resolve().parent.parent
    inside = package_dir / "_lessons"
    if inside.is_dir():
        return inside
    return package_dir.parent / "lessons"


@dataclass(frozen=True)
class LoadedLesson:
    """A validated lesson and where it came from."""

    lesson: Lesson
    path: Path
    pack: Pack | None = None

    @property
    def directory(self) -> Path:
        return self.path.parent

    def exercise_ids(self) -> list[str]:
        return [f"{self.lesson.id}/{e.id}" for e in self.lesson.exercises]


@dataclass
class Catalog:
    """Every lesson the course knows, in module order."""

    lessons: list[LoadedLesson] = field(default_factory=list)
    packs: list[Pack] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)

    def by_module(self, module: str) -> list[LoadedLesson]:
        return [entry for entry in self.lessons if entry.lesson.module == module]

    def lesson(self, lesson_id: str) -> LoadedLesson:
        for entry in self.lessons:
            if entry.lesson.id == lesson_id:
                return entry
        raise NotFoundError(
            f"No lesson has the id {lesson_id!r}.", fix="Run `learnbackend lessons list` to see the ids."
        )

    def exercise(self, global_id: str) -> tuple[LoadedLesson, Any]:
        """Resolve ``<lesson id>/<exercise id>``."""
        lesson_id, _, exercise_id = global_id.partition("/")
        entry = self.lesson(lesson_id)
        exercise = entry.lesson.exercise(exercise_id)
        if exercise is None:
            raise NotFoundError(
                f"Lesson {lesson_id!r} has no exercise {exercise_id!r}.",
                fix=f"Run `learnbackend lessons show {lesson_id}` to see its exercises.",
            )
        return entry, exercise

    @property
    def pack_version(self) -> str:
        """The version of the bundled pack, plus instructors' packs, as one string."""
        return "+".join(f"{p.name}@{p.version}" for p in self.packs) or "unversioned"


def lesson_files(root: Path) -> list[Path]:
    """The lesson files of a lesson directory, a module directory, or a single file."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    found: list[Path] = []
    direct = sorted(p for p in root.glob("*.yaml") if p.name != "pack.yaml")
    if root.name in MODULES:
        return direct
    found.extend(direct)
    for module_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        found.extend(sorted(module_dir.glob("*.yaml")))
    return found


def load_lessons(paths: Iterable[Path]) -> Catalog:
    """Load and validate lesson files and directories; problems are collected, not raised."""
    catalog = Catalog()
    seen_ids: dict[str, Path] = {}
    for root in paths:
        pack_file = root / "pack.yaml" if root.is_dir() else None
        pack = None
        if pack_file is not None and pack_file.is_file():
            pack, problems = validate_pack_source(load_yaml(pack_file))
            catalog.problems.extend(problems)
            if pack is not None:
                catalog.packs.append(pack)
        files = lesson_files(root)
        if not root.exists():
            catalog.problems.append(SourceProblem(root, None, "does not exist", fix="check the path"))
        for path in files:
            lesson, problems = validate_lesson_source(load_yaml(path))
            catalog.problems.extend(problems)
            if lesson is None:
                continue
            if lesson.id in seen_ids:
                catalog.problems.append(
                    SourceProblem(
                        path, 1, f"lesson id {lesson.id!r} is already used by {seen_ids[lesson.id]}",
                        fix="give each lesson a unique id",
                    )
                )
                continue
            seen_ids[lesson.id] = path
            catalog.lessons.append(LoadedLesson(lesson, path, pack))
    order = {m: i for i, m in enumerate(MODULES)}
    catalog.lessons.sort(key=lambda e: (order[e.lesson.module], e.lesson.order, e.lesson.id))
    return catalog


def load_catalog(extra_dirs: Iterable[Path] = ()) -> Catalog:
    """The course catalog; raises :class:`ContentError` listing every problem if any file is bad."""
    catalog = load_lessons([bundled_lessons_dir(), *extra_dirs])
    if catalog.problems:
        raise ContentError(format_problems(catalog.problems), fix="Run `learnbackend lessons validate` on those files.")
    return catalog


def format_problems(problems: Iterable[SourceProblem]) -> str:
    lines = []
    for problem in problems:
        line = f"{problem.where()}: {problem.message}"
        if problem.fix:
            line += f" ({problem.fix})"
        lines.append(line)
    return "\n".join(lines)
