"""The ramp: a new learner starts easy and moves up with right answers; review stays FSRS-driven."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, LESSONS

from learnbackend.course.catalog import load_lessons
from learnbackend.course.progress import ProgressStore
from learnbackend.roadmap.grading import grade, present
from learnbackend.roadmap.quiz import PROMOTE_AFTER, QuizEngine, Ramp, due_summary

RAMP = FIXTURES / "lessons" / "ramp"


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with ProgressStore.open(tmp_path / "p.sqlite3") as s:
        yield s


def _items(catalog):  # type: ignore[no-untyped-def]
    entry = catalog.lessons[0]
    return [present(f"{entry.lesson.id}/{q.id}", entry.lesson.id, entry.lesson.title, q, random.Random(0))
            for q in entry.lesson.exercises]


def test_a_new_learner_practises_only_easy_questions_first(store) -> None:  # type: ignore[no-untyped-def]
    engine = QuizEngine(load_lessons([LESSONS]), store)
    plan = engine.plan("practice", seed=11)
    assert plan.level == 0
    assert {item.question.difficulty for item in plan.items} == {"easy"}
    one_branch = engine.plan("practice", branches=["devops"], seed=11)
    difficulties = [item.question.difficulty for item in one_branch.items]
    # Not enough easy ones in one branch for ten questions: easy first, then the next level up.
    assert difficulties == sorted(difficulties, key=["easy", "medium", "hard"].index)
    assert difficulties[0] == "easy" and "hard" not in difficulties[: difficulties.count("easy")]


def test_right_answers_unlock_the_next_level_across_sessions(store) -> None:  # type: ignore[no-untyped-def]
    engine = QuizEngine(load_lessons([RAMP]), store)
    plan = engine.plan("practice", count=3, seed=1)
    assert plan.level == 0 and [i.question.difficulty for i in plan.items] == ["easy"] * 3
    for item in plan.items:
        engine.record(item, grade(item, "Right"), mode="practice")
    after = engine.plan("practice", count=3, seed=1)
    assert after.level == 1
    assert [i.question.difficulty for i in after.items] == ["medium", "medium", "hard"]
    for item in after.items[:2]:
        engine.record(item, grade(item, "Right"), mode="practice")
    assert engine.plan("practice", count=3, seed=1).level == 2


def test_within_a_session_a_run_of_right_answers_moves_up_and_a_wrong_one_restarts_the_run() -> None:
    items = _items(load_lessons([RAMP]))
    ramp = Ramp(items, level=0)
    seen = []
    first = ramp.next()
    assert first is not None and first.question.difficulty == "easy"
    ramp.answered(first, correct=False)  # a wrong answer: stay easy
    seen.append(first.question.difficulty)
    while (item := ramp.next()) is not None:
        seen.append(item.question.difficulty)
        ramp.answered(item, correct=True)
    assert PROMOTE_AFTER == 2
    assert seen == ["easy", "easy", "easy", "medium", "medium", "hard", "hard"]
    all_right = Ramp(items, level=0)
    order = []
    while (item := all_right.next()) is not None:
        order.append(item.question.difficulty)
        all_right.answered(item, correct=True)
    assert order == ["easy", "easy", "medium", "medium", "hard", "hard", "easy"]


def test_review_stays_driven_by_the_scheduler_not_the_ramp(store) -> None:  # type: ignore[no-untyped-def]
    engine = QuizEngine(load_lessons([RAMP]), store)
    items = _items(load_lessons([RAMP]))
    hard = next(i for i in items if i.question.difficulty == "hard")
    engine.record(hard, grade(hard, "Wrong one"), mode="practice", when=time.time() - 86400 * 3)
    review = engine.plan("review", now=time.time() + 86400 * 30)
    assert [i.qid for i in review.items] == [hard.qid] and review.level is None


def test_due_summary_counts_due_reviews_and_says_when_the_next_is(store) -> None:  # type: ignore[no-untyped-def]
    engine = QuizEngine(load_lessons([RAMP]), store)
    assert due_summary(store, now=time.time()) == (0, None)
    item = _items(load_lessons([RAMP]))[0]
    engine.record(item, grade(item, "Right"), mode="practice")
    now = time.time()
    due, wait = due_summary(store, now=now)
    assert due == 0 and wait is not None and wait > 0
    due, wait = due_summary(store, now=now + 86400 * 365)
    assert due == 1 and wait == 0
