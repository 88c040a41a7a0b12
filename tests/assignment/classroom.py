"""Helpers for instructor tests: an assignment file and learner repositories answered rightly or wrongly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, REPO, run_cli  # type: ignore[import-not-found]

sys.path.insert(0, str(REPO / "tests" / "workspace"))
from wsolving import Solver  # type: ignore[import-not-found]

GOOD_PACK = FIXTURES / "lessons" / "good"


def write_assignment(directory: Path, *, extra: str = "", exercises: str = "") -> Path:
    """week-1: the fixture pack's four questions (1 point each) and one bundled question worth 2."""
    path = directory / "week-1.yaml"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""format_version: 1
name: week-1
title: Week one
pass_mark: 60
lessons: [{os.path.relpath(GOOD_PACK, directory)}]
{extra}exercises:
  - lesson: fixture-tiny
  - id: roadmap-fundamentals/server-side-validation
    points: 2
{exercises}""", encoding="utf-8")
    return path


def git(root: Path, *args: str, when: str = "2026-11-30T10:00:00+00:00") -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout.strip()


def learner(assignment: Path, root: Path, *, right: bool | list[str] = True, when: str = "2026-11-30T10:00:00+00:00",
            repo: bool = True) -> Path:
    """A learner's repository made from ``assignment``: the starter committed, then their answers.

    ``right``: True solves every exercise, False none, a list of numbers solves only those (the rest botched).
    """
    result = run_cli("init", str(root), "--assignment", str(assignment))
    assert result.exit_code == 0, result.stderr
    if repo:
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "starter", when="2026-11-01T09:00:00+00:00")
    solver = Solver(root)
    numbers = [str(i) for i in range(1, len(solver.manifest.exercises) + 1)]
    if right is True:
        solver.solve()
    elif right is False:
        solver.botch(*numbers)
    else:
        solver.botch(*[n for n in numbers if n not in right])
        if right:
            solver.solve(*right)
    if repo:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "answers", when=when)
    return root
