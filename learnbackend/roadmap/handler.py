"""Roadmap questions in a learner workspace: a QUESTION.md to read and an answer.txt to fill."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from learnbackend.course.catalog import LoadedLesson
from learnbackend.course.results import ConditionResult, ExerciseResult
from learnbackend.errors import UsageError
from learnbackend.roadmap.grading import Presented, grade, parse_response, present
from learnbackend.workspace.safefiles import read_text

ANSWER_FILE = "answer.txt"
QUESTION_FILE = "QUESTION.md"
PLACEHOLDER = "TODO"
#: An answer is a few letters or a short text.
MAX_ANSWER_BYTES = 64 * 1024

_HOW = {
    "single": "Write the letter of your answer (or its text) in answer.txt.",
    "multiple": "Write the letters of every right answer, comma-separated (e.g. `a, c`), in answer.txt.",
    "order": "Write the letters in the right order, comma-separated (e.g. `c, a, d, b`), in answer.txt.",
    "text": "Write your short answer in answer.txt.",
}


def _presented(entry: LoadedLesson, exercise: Any) -> Presented:
    qid = f"{entry.lesson.id}/{exercise.id}"
    # Seeded by the id: the same letters in every workspace and on every check.
    return present(qid, entry.lesson.id, entry.lesson.title, exercise, random.Random(qid))


class QuestionHandler:
    """Materializes and checks single, multiple, order and text questions."""

    def materialize(self, entry: LoadedLesson, exercise: Any, dest: Path) -> list[Path]:
        item = _presented(entry, exercise)
        lines = [f"# {entry.lesson.title} › {exercise.topic} ({exercise.difficulty})", "", exercise.prompt.strip(), ""]
        for i, option in enumerate(item.options):
            lines.append(f"- **{chr(ord('a') + i)})** {option}")
        lines += ["", f"_{_HOW[exercise.kind]}_", "", "Stuck? `learnbackend hint` shows a hint."]
        question = dest / QUESTION_FILE
        answer = dest / ANSWER_FILE
        question.write_text("\n".join(lines) + "\n", encoding="utf-8")
        answer.write_text(PLACEHOLDER + "\n", encoding="utf-8")
        return [question, answer]

    def check(self, entry: LoadedLesson, exercise: Any, workdir: Path, *, timeout: float) -> ExerciseResult:
        started = time.perf_counter()
        qid = f"{entry.lesson.id}/{exercise.id}"
        path = workdir / ANSWER_FILE
        try:
            raw = read_text(workdir, ANSWER_FILE, max_bytes=MAX_ANSWER_BYTES).strip()
        except OSError:
            return ExerciseResult(qid, "error", f"{path} is missing; write your answer there.", module="roadmap",
                                  duration_s=time.perf_counter() - started)
        lines = [ln.strip() for ln in raw.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if not lines or lines == [PLACEHOLDER]:
            cond = ConditionResult("answered", False, "an answer is written in answer.txt", "an answer", "TODO",
                                   exercise.hint)
            return ExerciseResult(qid, "failed", "Not answered yet: edit answer.txt.", [cond], module="roadmap",
                                  duration_s=time.perf_counter() - started)
        item = _presented(entry, exercise)
        text = lines[0] if exercise.kind in ("single", "text") else ", ".join(lines)
        try:
            response = parse_response(item, text)
        except UsageError as exc:
            return ExerciseResult(qid, "failed", f"answer.txt: {exc.message}", module="roadmap",
                                  conditions=[ConditionResult("answer-readable", False, "answer.txt names the options",
                                                              "letters or option texts", text, exc.fix or "")],
                                  duration_s=time.perf_counter() - started)
        fb = grade(item, response)
        cond = ConditionResult("correct", fb.correct, "the answer is right", fb.expected if fb.correct else "(hidden until solved)",
                               fb.given, exercise.hint)
        if fb.correct:
            return ExerciseResult(qid, "passed", "Right. " + exercise.explanation.strip(), [cond], module="roadmap",
                                  duration_s=time.perf_counter() - started)
        return ExerciseResult(qid, "failed", f"Not right yet (you answered: {fb.given}).", [cond], module="roadmap",
                              duration_s=time.perf_counter() - started, details={"score": fb.score})


HANDLER = QuestionHandler()
