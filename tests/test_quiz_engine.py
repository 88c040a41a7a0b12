"""The quiz engine: grading, parsing, planning, scheduling, placement, mastery."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from conftest import FIXTURES
from learnbackend.course.catalog import load_lessons
from learnbackend.course.progress import ProgressStore
from learnbackend.errors import NotFoundError, UsageError
from learnbackend.roadmap.grading import grade, parse_response, present, text_matches
from learnbackend.roadmap.mastery import mastery_map
from learnbackend.roadmap.quiz import QuizEngine

GOOD = FIXTURES / "lessons" / "good"


@pytest.fixture
def catalog():  # type: ignore[no-untyped-def]
    cat = load_lessons([GOOD])
    assert not cat.problems
    return cat


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with ProgressStore.open(tmp_path / "p.sqlite3") as s:
        yield s


def _item(catalog, qid: str, seed: int = 1):  # type: ignore[no-untyped-def]
    entry, q = catalog.exercise(qid)
    return present(qid, entry.lesson.id, entry.lesson.title, q, random.Random(seed))


def test_single_choice_by_letter_number_or_text(catalog) -> None:  # type: ignore[no-untyped-def]
    item = _item(catalog, "fixture-tiny/pick-one")
    right = item.options.index("Right one")
    for raw in (chr(ord("a") + right), str(right + 1), "right ONE"):
        assert grade(item, parse_response(item, raw)).correct
    wrong = next(i for i, o in enumerate(item.options) if o != "Right one")
    fb = grade(item, parse_response(item, chr(ord("a") + wrong)))
    assert not fb.correct and fb.expected == "Right one" and "right one is right" in fb.explanation
    with pytest.raises(UsageError):
        parse_response(item, "z")


def test_multiple_choice_needs_every_right_answer_and_gives_partial_credit(catalog) -> None:  # type: ignore[no-untyped-def]
    item = _item(catalog, "fixture-tiny/pick-many")
    assert grade(item, parse_response(item, "2, 4")).correct
    half = grade(item, parse_response(item, "2"))
    assert not half.correct and half.score == 0.5 and any("Missed: 4" in n for n in half.notes)
    wrong = grade(item, parse_response(item, "2, 3, 4"))
    assert not wrong.correct and wrong.score == 0.5


def test_ordering_is_shuffled_and_graded_by_order(catalog) -> None:  # type: ignore[no-untyped-def]
    for seed in range(20):
        item = _item(catalog, "fixture-tiny/put-in-order", seed)
        assert list(item.options) != ["one", "two", "three", "four"]
    assert grade(item, parse_response(item, "one, two, three, four")).correct
    partly = grade(item, parse_response(item, "two, one, three, four"))
    assert not partly.correct and 0 < partly.score < 1
    with pytest.raises(UsageError):
        parse_response(item, "one, two")


def test_free_text_is_forgiving_but_not_sloppy() -> None:
    assert text_matches("  404 not found! ", ["404", "404 Not Found"])
    assert text_matches("idempotancy key", ["idempotency key"])  # a typo in a long word
    assert text_matches("The GIL", ["GIL"])
    assert not text_matches("403", ["404"])  # numbers are exact
    assert not text_matches("C", ["C#"])
    assert not text_matches("", ["x"])


def test_choices_are_shuffled_differently_across_seeds(catalog) -> None:  # type: ignore[no-untyped-def]
    orders = {_item(catalog, "fixture-tiny/pick-one", seed).options for seed in range(30)}
    assert len(orders) > 1


def test_practice_asks_unseen_and_missed_questions_first(catalog, store) -> None:  # type: ignore[no-untyped-def]
    engine = QuizEngine(catalog, store)
    first = engine.plan("practice", count=2, seed=3)
    for item in first.items:
        engine.record(item, grade(item, item.question.answer if item.kind == "single" else "x"), mode="practice")
    second = engine.plan("practice", count=2, seed=3)
    assert not {i.qid for i in first.items} & {i.qid for i in second.items}


def test_review_returns_what_is_due(catalog, store) -> None:  # type: ignore[no-untyped-def]
    engine = QuizEngine(catalog, store)
    assert engine.plan("review").items == []
    assert "answer some questions first" in engine.plan("review").note
    assert "quiz start --branch fixture-tiny" in engine.plan("review", branches=["fixture-tiny"]).note
    item = _item(catalog, "fixture-tiny/type-it")
    engine.record(item, grade(item, "500"), mode="practice")  # wrong: due again soon
    right = _item(catalog, "fixture-tiny/pick-one")
    engine.record(right, grade(right, "Right one"), mode="practice")
    now_plan = engine.plan("review")
    assert now_plan.items == [] and "next question is due in" in now_plan.note
    later = engine.plan("review", now=time.time() + 3600)
    assert [i.qid for i in later.items][0] == "fixture-tiny/type-it"
    much_later = engine.plan("review", now=time.time() + 30 * 86400)
    assert {i.qid for i in much_later.items} == {"fixture-tiny/type-it", "fixture-tiny/pick-one"}


def test_placement_marks_a_branch_known_only_when_passed(catalog, store) -> None:  # type: ignore[no-untyped-def]
    engine = QuizEngine(catalog, store)
    with pytest.raises(UsageError):
        engine.plan("placement")
    plan = engine.plan("placement", branches=["tiny"], seed=1)
    assert {i.question.topic for i in plan.items} == {"Basics", "More"}
    from learnbackend.roadmap.quiz import SessionResult

    failed = SessionResult("placement", plan.branches, 1)
    for item in plan.items:
        fb = grade(item, "wrong" if item.kind == "text" else [item.options[0]] if item.kind == "multiple" else item.options[0])
        failed.feedback.append(fb)
    assert engine.finish(plan, failed).placement_passed is False
    assert mastery_map(catalog, store)[0].placed_out is False

    passed = SessionResult("placement", plan.branches, 1)
    for item in plan.items:
        q = item.question
        response = {"single": getattr(q, "answer", None), "multiple": getattr(q, "answers", None),
                    "order": list(getattr(q, "items", []) or []), "text": (getattr(q, "accept", None) or [""])[0]}[q.kind]
        fb = grade(item, response)
        assert fb.correct
        engine.record(item, fb, mode="placement")
        passed.feedback.append(fb)
    assert engine.finish(plan, passed).placement_passed is True
    branch = mastery_map(catalog, store)[0]
    assert branch.placed_out and branch.percent == 100


def test_mastery_counts_latest_answers_per_topic(catalog, store) -> None:  # type: ignore[no-untyped-def]
    engine = QuizEngine(catalog, store)
    item = _item(catalog, "fixture-tiny/pick-one")
    engine.record(item, grade(item, "Right one"), mode="practice")
    other = _item(catalog, "fixture-tiny/type-it")
    engine.record(other, grade(other, "200"), mode="practice")
    [branch] = mastery_map(catalog, store)
    topics = {t.name: t for t in branch.topics}
    assert (topics["Basics"].known, topics["Basics"].seen, topics["Basics"].total) == (1, 1, 2)
    assert (topics["More"].known, topics["More"].seen, topics["More"].total) == (0, 1, 2)
    assert branch.percent == 25


def test_unknown_branch_is_a_clear_error(catalog, store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError, match="No roadmap branch is called 'cooking'"):
        QuizEngine(catalog, store).plan("practice", branches=["cooking"])
