"""What a learner reads in the quiz: multi-answer feedback by letter; no hidden prompt when piped."""

from __future__ import annotations

import io
import os
import random
import shutil
import sys

import pexpect
from conftest import need
from rich.console import Console

from learnbackend.course.catalog import load_catalog
from learnbackend.roadmap import render
from learnbackend.roadmap.grading import grade, present
from learnbackend.ui.console import THEME


def _a_multiple_choice_question():  # type: ignore[no-untyped-def]
    catalog = load_catalog()
    for entry in catalog.by_module("roadmap"):
        for q in entry.lesson.exercises:
            if q.kind == "multiple" and len(q.answers) >= 2:
                return entry, q
    raise AssertionError("the bank has no multiple-choice question with two right answers")


def test_a_wrong_multiple_answer_is_compared_by_letter_each_option_once() -> None:
    entry, q = _a_multiple_choice_question()
    item = present(f"{entry.lesson.id}/{q.id}", entry.lesson.id, "b", q, random.Random(3))
    wrong = [o for o in item.options if o not in q.answers][:1] + list(q.answers)[:1]
    fb = grade(item, wrong)
    assert not fb.correct
    out = io.StringIO()
    render.feedback(Console(file=out, width=80, no_color=True, theme=THEME), fb, item)
    text = out.getvalue()
    letter = {o: chr(ord("a") + i) for i, o in enumerate(item.options)}
    assert f"You picked: {', '.join(sorted(letter[o] for o in wrong))}" in text
    assert f"Right:      {', '.join(sorted(letter[o] for o in q.answers))}" in text
    assert "; " not in text.split("Why")[0]  # no wall of option texts joined by semicolons
    assert "✗ wrong" in text and "missed" in text
    for option in set(wrong) | set(q.answers):
        assert text.count(f"{letter[option]}) ") == 1  # every option that matters, once


def test_quiz_piped_into_cat_with_the_keyboard_attached_says_why_instead_of_hanging() -> None:
    need(shutil.which("bash") is not None, "bash is not installed")
    env = dict(os.environ, TERM="xterm-256color")
    child = pexpect.spawn("bash", ["-c", f"set -o pipefail; {sys.executable} -m learnbackend quiz start | cat"],
                          env=env, encoding="utf-8", dimensions=(24, 80), timeout=60)
    child.expect("output goes to a pipe or a file")
    child.expect("--answers FILE")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2


def test_the_question_title_says_what_to_do_first_even_with_a_long_topic() -> None:
    entry, q = _a_multiple_choice_question()
    long_topic = q.model_copy(update={"topic": "A topic whose name is far too long to fit in any title bar"})
    item = present(f"{entry.lesson.id}/{q.id}", entry.lesson.id, "Languages", long_topic, random.Random(1))
    out = io.StringIO()
    render.question(Console(file=out, width=80, no_color=True, theme=THEME), item, 1, 10)
    first = out.getvalue().splitlines()[0]
    assert "Question 1/10 · pick every right answer" in first
