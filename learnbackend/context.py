"""The environment a command runs in: consoles, data directory, lesson directories.

One object is built by the root CLI callback and handed to every command through
``ctx.obj``; tests build their own (or set ``LEARNBACKEND_HOME``) instead of
patching globals.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Rich is only imported when something is printed.
    from rich.console import Console

HOME_ENV = "LEARNBACKEND_HOME"
LESSONS_ENV = "LEARNBACKEND_LESSONS"
REQUIRE_ENGINES_ENV = "LEARNBACKEND_REQUIRE_ENGINES"


def default_home() -> Path:
    """The data directory: ``$LEARNBACKEND_HOME`` or the platform's user data dir."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("learnbackend", appauthor=False))


def extra_lesson_dirs_from_env() -> list[Path]:
    """Instructor lesson directories from ``$LEARNBACKEND_LESSONS`` (os.pathsep-separated)."""
    raw = os.environ.get(LESSONS_ENV, "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def engines_required() -> bool:
    """True in CI: tests needing an absent engine must fail instead of skipping."""
    return os.environ.get(REQUIRE_ENGINES_ENV, "") not in ("", "0", "false", "no")


@dataclass
class Environment:
    """Everything a command needs from the outside world, in one replaceable object."""

    home: Path = field(default_factory=default_home)
    extra_lesson_dirs: list[Path] = field(default_factory=extra_lesson_dirs_from_env)
    debug: bool = False
    stdin_isatty: bool = field(default_factory=lambda: sys.stdin.isatty())
    stdout_isatty: bool = field(default_factory=lambda: sys.stdout.isatty())
    width: int | None = None
    _consoles: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def interactive(self) -> bool:
        """True when we may prompt: both stdin and stdout are terminals."""
        return self.stdin_isatty and self.stdout_isatty

    @property
    def out(self) -> Console:
        """The console for results (stdout)."""
        return self._console("out")

    @property
    def err(self) -> Console:
        """The console for warnings and errors (stderr)."""
        return self._console("err")

    def _console(self, which: str) -> Console:
        if which not in self._consoles:
            from learnbackend.ui.console import make_console

            self._consoles[which] = make_console(stderr=(which == "err"), width=self.width)
        return self._consoles[which]

    @cached_property
    def progress_path(self) -> Path:
        """Where the progress database lives."""
        return self.home / "progress.sqlite3"

    def progress(self) -> Any:
        """Open the progress store (a new connection each call; cheap)."""
        import sqlite3

        from learnbackend.course.progress import ProgressStore
        from learnbackend.errors import LearnBackendError
        from learnbackend.ui.errors import render_warnings

        try:
            store = ProgressStore.open(self.progress_path)
        except (OSError, sqlite3.Error) as exc:
            raise LearnBackendError(
                f"Cannot open the progress file {self.progress_path}: {exc}",
                fix=f"Check the permissions of {self.home}, or set LEARNBACKEND_HOME to another directory.",
            ) from None
        render_warnings(self, store.warnings)
        return store

    def catalog(self) -> Any:
        """Load the course catalog: the bundled lessons plus instructor directories."""
        from learnbackend.course.catalog import load_catalog

        return load_catalog(self.extra_lesson_dirs)
