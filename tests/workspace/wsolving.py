"""Helpers for workspace tests: answer roadmap questions in a workspace, rightly or wrongly."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from learnbackend.workspace.checking import workspace_catalog
from learnbackend.workspace.manifest import load_manifest


def right_answer(entry: Any, exercise: Any) -> str:
    """What a learner who knows the answer writes in answer.txt (letters as shown in QUESTION.md)."""
    from learnbackend.roadmap.grading import present

    qid = f"{entry.lesson.id}/{exercise.id}"
    options = present(qid, entry.lesson.id, entry.lesson.title, exercise, random.Random(qid)).options
    letter = {option: chr(ord("a") + i) for i, option in enumerate(options)}
    if exercise.kind == "single":
        return letter[exercise.answer]
    if exercise.kind == "multiple":
        return ", ".join(letter[a] for a in exercise.answers)
    if exercise.kind == "order":
        return ", ".join(letter[i] for i in exercise.items)
    return exercise.accept[0]


def wrong_answer(entry: Any, exercise: Any) -> str:
    if exercise.kind == "single":
        return next(c for c in exercise.choices if c != exercise.answer)
    if exercise.kind == "multiple":
        return next(c for c in exercise.choices if c not in exercise.answers)
    if exercise.kind == "order":
        return ", ".join(chr(ord("a") + i) for i in range(len(exercise.items)))[::-1]
    return "definitely not this"


class Solver:
    """Writes answers into a workspace's exercise directories."""

    def __init__(self, root: Path, extra: list[Path] | None = None) -> None:
        self.root = root
        self.manifest = load_manifest(root)
        self.catalog = workspace_catalog(self.manifest, extra or [], root=root)

    def _write(self, exercise_id: str, right: bool) -> None:
        spec = self.manifest.exercise(exercise_id)
        entry, exercise = self.catalog.exercise(spec.id)
        if exercise.kind == "code":
            # The lesson's reference solution, or the starter file with its TODOs.
            source = exercise.solution if right else exercise.starter
            (self.root / spec.path / exercise.file).write_bytes((entry.directory / source).read_bytes())
            return
        if exercise.kind == "git-level":
            # The level's reference solution replayed by the checker; `git status` alone solves nothing.
            lines = exercise.solution if right else ["git status"]
            (self.root / spec.path / "solution.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
            return
        text = right_answer(entry, exercise) if right else wrong_answer(entry, exercise)
        (self.root / spec.path / "answer.txt").write_text(text + "\n", encoding="utf-8")

    def solve(self, *ids: str) -> None:
        for exercise_id in ids or [e.id for e in self.manifest.exercises]:
            self._write(exercise_id, True)

    def botch(self, *ids: str) -> None:
        for exercise_id in ids:
            self._write(exercise_id, False)
