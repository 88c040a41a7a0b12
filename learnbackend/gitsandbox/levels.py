"""Finding git levels in the course catalog: by global id, by level id, or by number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from learnbackend.errors import NotFoundError
from learnbackend.gitsandbox.models import GitLevel

if TYPE_CHECKING:
    from learnbackend.context import Environment
    from learnbackend.course.catalog import Catalog, LoadedLesson

MODULE = "git"


@dataclass(frozen=True)
class LevelRef:
    """A level and where it lives: ``key`` is '<lesson id>/<level id>', ``number`` counts from 1."""

    key: str
    entry: LoadedLesson
    level: GitLevel
    number: int


def git_catalog(env: Environment) -> Catalog:
    """Only the git lessons (bundled and instructors'): loading the whole course is slower and not needed."""
    from learnbackend.course.catalog import (
        bundled_lessons_dir,
        format_problems,
        load_lessons,
    )
    from learnbackend.errors import ContentError

    roots = [root / MODULE for root in (bundled_lessons_dir(), *env.extra_lesson_dirs) if (root / MODULE).is_dir()]
    catalog = load_lessons(roots)
    if catalog.problems:
        raise ContentError(format_problems(catalog.problems), fix="Run `learnbackend lessons validate` on those files.")
    return catalog


def all_levels(catalog: Catalog) -> list[LevelRef]:
    """Every git level of the course, in lesson order."""
    refs: list[LevelRef] = []
    for entry in catalog.by_module(MODULE):
        for exercise in entry.lesson.exercises:
            if isinstance(exercise, GitLevel):
                refs.append(LevelRef(f"{entry.lesson.id}/{exercise.id}", entry, exercise, len(refs) + 1))
    return refs


def find_level(catalog: Catalog, name: str) -> LevelRef:
    """The level named by its global id, its own id (when unique) or its number in `git levels`."""
    levels = all_levels(catalog)
    fix = "Run `learnbackend git levels` to see them."
    if name.isdigit():
        number = int(name)
        if 1 <= number <= len(levels):
            return levels[number - 1]
        raise NotFoundError(f"There is no level {number}; there are {len(levels)}.", fix=fix)
    exact = [ref for ref in levels if ref.key == name]
    if exact:
        return exact[0]
    by_id = [ref for ref in levels if ref.level.id == name]
    if len(by_id) == 1:
        return by_id[0]
    if len(by_id) > 1:
        raise NotFoundError(f"Several lessons have a level {name!r}: {', '.join(r.key for r in by_id)}.",
                            fix="Name it as LESSON/LEVEL.")
    raise NotFoundError(f"No git level is called {name!r}.", fix=fix)
