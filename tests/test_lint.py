"""Quiz lints: each habit is reported once with file and line; good and bundled questions pass."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES, LESSONS, run_cli

from learnbackend.course.catalog import load_lessons
from learnbackend.course.lint import hint_giveaway, key_words, lint_catalog, lint_paths
from learnbackend.course.models import FreeText, SingleChoice

HABITS = FIXTURES / "lessons" / "lint"
GOOD = FIXTURES / "lessons" / "good"


def _messages(path: Path) -> list[tuple[int | None, str]]:
    return [(p.line, p.message) for p in lint_paths([path])]


def test_every_habit_is_reported_once_with_its_line() -> None:
    found = _messages(HABITS)
    kinds = sorted(message.split(":")[0] for _, message in found)
    assert kinds == ["few-accepted", "hint-gives-answer", "longest-answer", "same-count"], found
    by_kind = {message.split(":")[0]: (line, message) for line, message in found}
    assert "in 2 of 3 single-choice questions (long-1, long-2)" in by_kind["longest-answer"][1]
    assert "all 3 multiple-choice questions have exactly 2 right answers" in by_kind["same-count"][1]
    assert by_kind["hint-gives-answer"][0] == 68 and "(giveaway)" in by_kind["hint-gives-answer"][1]
    assert "(start)" in by_kind["hint-gives-answer"][1]
    assert by_kind["few-accepted"][0] == 75 and "accepts only '404'" in by_kind["few-accepted"][1]


def test_good_fixture_and_bundled_roadmap_have_no_lint_findings() -> None:
    assert _messages(GOOD) == []
    assert _messages(LESSONS / "roadmap") == []


def test_bundled_roadmap_right_option_is_rarely_the_longest() -> None:
    catalog = load_lessons([LESSONS / "roadmap"])
    for entry in catalog.lessons:
        singles = [q for q in entry.lesson.exercises if isinstance(q, SingleChoice)]
        longest = [q for q in singles if len(q.answer) > max(len(c) for c in q.choices if c != q.answer)]
        assert 3 * len(longest) <= len(singles), (entry.lesson.id, [q.id for q in longest])
        assert all(len(q.accept) >= 2 for q in entry.lesson.exercises if isinstance(q, FreeText))


def test_hint_lint_ignores_words_the_prompt_or_wrong_choices_share() -> None:
    q = SingleChoice(id="q", topic="T", difficulty="easy", kind="single", prompt="Why is the cache slow?",
                     choices=["The cache is cold", "The cache is full"], answer="The cache is cold",
                     hint="Think about the cache.", explanation="x")
    assert hint_giveaway(q) == set()
    leaky = q.model_copy(update={"hint": "It is cold."})
    assert hint_giveaway(leaky) == {"cold"}
    assert key_words("N+1 queries in C#") >= {"n+1", "querie", "c#"}


def test_validate_prints_lints_as_warnings_and_as_problems_with_lint() -> None:
    result = run_cli("lessons", "validate", str(HABITS))
    assert result.exit_code == 0
    assert "warning: longest-answer" in result.stderr and "4 lint warning(s)" in result.stderr
    strict = run_cli("lessons", "validate", str(HABITS), "--lint", "--json")
    assert strict.exit_code == 2
    assert len(strict.json["problems"]) == 4
    assert run_cli("lessons", "validate", str(LESSONS / "roadmap"), "--lint").exit_code == 0


def test_lint_catalog_covers_every_lesson() -> None:
    catalog = load_lessons([HABITS, GOOD])
    assert {p.path.name for p in lint_catalog(catalog)} == {"habits.yaml"}
