"""The course catalog, parsed once per process while no lesson file changes.

Parsing every lesson file is the slow part of ``check``, ``init`` and assignment loading;
watch mode, the grader and the tests ask for the same catalog many times.
"""

from __future__ import annotations

from pathlib import Path

from learnbackend.course.catalog import (
    Catalog,
    bundled_lessons_dir,
    format_problems,
    lesson_files,
    load_lessons,
)
from learnbackend.errors import ContentError

_CATALOGS: dict[tuple[object, ...], Catalog] = {}


def _fingerprint(dirs: list[Path]) -> tuple[object, ...]:
    """Every lesson file (and pack manifest) under ``dirs`` with its size and mtime."""
    parts: list[object] = []
    for d in dirs:
        for path in [d / "pack.yaml", *lesson_files(d)]:
            try:
                stat = path.stat()
            except OSError:
                continue
            parts.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(parts)


def load_catalog_cached(extra_dirs: list[Path]) -> Catalog:
    """The bundled lessons plus ``extra_dirs`` (problems collected, not raised)."""
    dirs: list[Path] = []
    for d in [bundled_lessons_dir(), *extra_dirs]:
        if d.resolve() not in dirs:
            dirs.append(d.resolve())
    key = (tuple(dirs), _fingerprint(dirs))
    catalog = _CATALOGS.get(key)
    if catalog is None:
        catalog = load_lessons(dirs)
        if len(_CATALOGS) > 8:
            _CATALOGS.clear()
        _CATALOGS[key] = catalog
    return catalog


def cached_catalog(extra_dirs: list[Path]) -> Catalog:
    """The bundled lessons plus ``extra_dirs``; ContentError (exit 2) listing every problem if a file is bad."""
    catalog = load_catalog_cached(extra_dirs)
    if catalog.problems:
        raise ContentError(format_problems(catalog.problems), fix="Fix the lesson files (`learnbackend lessons validate`).")
    return catalog
