"""Whether a learner has touched an exercise yet: its files still equal what `init` wrote.

An untouched exercise is reported as *not started* (0 points, no hints revealed) instead of
being run through its checker, so a fresh workspace's `check` is short and says where to
begin. Only display and speed depend on this: an untouched starter earns nothing either way.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from learnbackend.course.handlers import handler_for

#: Files larger than this are never compared (a starter is small): such a file counts as touched.
_MAX_COMPARED = 1024 * 1024


def _same_file(fresh: Path, learner: Path) -> bool:
    """``learner`` is a regular file (not a symlink) with exactly ``fresh``'s bytes."""
    try:
        info = os.lstat(learner)
        expected = fresh.read_bytes()
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode) or info.st_size != len(expected) or info.st_size > _MAX_COMPARED:
        return False
    try:
        fd = os.open(learner, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as handle:
        return handle.read(_MAX_COMPARED + 1) == expected


def is_untouched(entry: Any, exercise: Any, workdir: Path) -> bool:
    """True when every file the exercise starts with is still byte for byte as `init` wrote it."""
    if not workdir.is_dir() or workdir.is_symlink():
        return False
    with tempfile.TemporaryDirectory(prefix="learnbackend-fresh-") as tmp:
        try:
            written = handler_for(exercise.kind).materialize(entry, exercise, Path(tmp))
        except Exception:  # noqa: BLE001 - a starter that cannot be rebuilt: let the real check speak
            return False
        if not written:
            return False
        for path in written:
            relative = Path(path).relative_to(tmp)
            if not _same_file(Path(path), workdir / relative):
                return False
    return True
