"""Whether a learner has touched an exercise yet: its files still equal what `init` wrote.

An untouched exercise is reported as *not started* (0 points, no hints revealed) instead of
being run through its checker, so a fresh workspace's `check` is short and says where to
begin. Only display and speed depend on this: an untouched starter earns nothing either way.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from learnbackend.course.handlers import handler_for
from learnbackend.errors import LearnBackendError
from learnbackend.workspace.safefiles import read_bytes

#: Files larger than this are never compared (a starter is small): such a file counts as touched.
_MAX_COMPARED = 1024 * 1024


def _same_file(fresh: Path, workdir: Path, relative: Path) -> bool:
    """``workdir/relative`` is a regular file (no link on the way) with exactly ``fresh``'s bytes."""
    try:
        expected = fresh.read_bytes()
        return read_bytes(workdir, relative, max_bytes=max(len(expected), 1)) == expected
    except (OSError, LearnBackendError):  # missing, a link, not regular, larger: touched
        return False


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
            if Path(path).stat().st_size > _MAX_COMPARED:
                return False
            if not _same_file(Path(path), workdir, Path(path).relative_to(tmp)):
                return False
    return True
