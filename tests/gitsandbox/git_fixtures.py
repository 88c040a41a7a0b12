"""Helpers for the git sandbox tests: the course's levels, building one, running git in it."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from conftest import LESSONS, need


@lru_cache(maxsize=1)
def git_levels() -> tuple[Any, ...]:
    """Every git level of the bundled course (LevelRef objects)."""
    from learnbackend.course.catalog import load_lessons
    from learnbackend.gitsandbox.levels import all_levels

    catalog = load_lessons([LESSONS])
    assert not catalog.problems, catalog.problems
    return tuple(all_levels(catalog))


def need_git() -> None:
    need(shutil.which("git") is not None, "git is not installed")


def level(key: str) -> Any:
    """The LevelRef whose key ends with ``key``."""
    return next(ref for ref in git_levels() if ref.key.endswith(key))


def build_level(key: str, tmp_path: Path) -> Any:
    """Build a level in ``tmp_path/sandbox``; return the Sandbox."""
    from learnbackend.gitsandbox.sandbox import build

    need_git()
    ref = level(key)
    return build(ref.level, tmp_path / "sandbox", ref.key)


def git(sandbox: Any, *args: str, check: bool = True) -> str:
    """Run the real git in the sandbox's working repository, with its isolated config."""
    done = subprocess.run(["git", *args], cwd=sandbox.work, env=sandbox.git_env(), capture_output=True, text=True, check=False)
    if check:
        assert done.returncode == 0, done.stderr
    return done.stdout


def tree_state(root: Path, *, skip: tuple[Path, ...] = ()) -> dict[str, tuple[str, int, float]]:
    """Every path under ``root`` (except ``skip``) with its kind, size and mtime (files only).

    A directory's mtime changes when the tool adds its own entry to it, so only files are timed.
    """
    state: dict[str, tuple[str, int, float]] = {}
    for path in sorted(root.rglob("*")):
        if any(path == s or s in path.parents for s in skip):
            continue
        info = path.lstat()
        kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
        timed = kind == "file"
        state[str(path.relative_to(root))] = (kind, info.st_size if timed else 0, info.st_mtime if timed else 0.0)
    return state
