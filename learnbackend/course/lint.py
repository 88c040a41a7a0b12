"""Lints for quiz questions: habits that let a learner pass by test-taking instead of knowledge.

Validation (:mod:`learnbackend.course.validate`) says whether a file *can* be used;
these lints say whether its questions test what they mean to test:

- ``longest-answer``: in a file, the right single-choice option is the longest in more
  than a third of the questions, so "pick the longest" beats chance;
- ``same-count``: every multiple-choice question of a file has the same number of right
  answers, so the count itself becomes a clue;
- ``hint-gives-answer``: the hint shares the answer's key words (words of the answer that
  the prompt does not already contain);
- ``few-accepted``: a free-text question accepts a single form, so learners who know the
  answer but phrase it differently are marked wrong;
- ``no-primer``: a roadmap topic has no primer, so it is tested before it is taught.

Each lint returns a :class:`~learnbackend.course.yamlsource.SourceProblem` with the file,
the line and a fix, so `lessons validate` prints them like validation problems.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from learnbackend.course.catalog import Catalog, LoadedLesson
from learnbackend.course.models import FreeText, MultipleChoice, SingleChoice
from learnbackend.course.yamlsource import SourceProblem, load_yaml

if TYPE_CHECKING:
    from learnbackend.context import Environment

#: The right option may be the longest in at most this share of a file's single-choice questions.
LONGEST_SHARE = 1 / 3
#: Below this many questions of a kind in a file, the per-file lints say nothing.
MIN_QUESTIONS = 3
#: A free-text question should accept at least this many forms.
MIN_ACCEPTED = 2

#: Function words that never make a hint give an answer away.
_STOP = frozenset({
    "about", "after", "again", "against", "also", "because", "been", "before", "being", "both", "but",
    "cannot", "could", "does", "doing", "down", "each", "every", "from", "further", "have", "having", "here",
    "into", "itself", "just", "more", "most", "must", "need", "needs", "only", "other", "over", "same",
    "should", "some", "such", "than", "that", "their", "them", "then", "there", "these", "they", "this",
    "those", "through", "under", "until", "very", "what", "when", "where", "which", "while", "will", "with",
    "would", "your", "yours", "you", "the", "and", "for", "are", "not", "its", "it's", "can", "one", "two",
    "all", "any", "was", "were", "has", "had", "how", "why", "who", "use", "used", "uses", "using", "may"
})


def _stem(word: str) -> str:
    """A crude stem: enough to see that "idempotently" and "idempotency" are the same word."""
    return word[:6] if len(word) > 6 else word


def key_words(text: str) -> set[str]:
    """Stems of the words that carry meaning: four letters or more, not common function words.

    Short technical tokens with a digit or a symbol (``N+1``, ``412``, ``C#``) count too.
    """
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9+#_]*", text.casefold())
    keep = {w for w in words if (len(w) >= 4 and w not in _STOP) or (len(w) >= 2 and re.search(r"[\d+#]", w))}
    return {_stem(w) for w in keep}


def hint_giveaway(q: SingleChoice | MultipleChoice | FreeText) -> set[str]:
    """Key words that set the right answer(s) apart and that the hint repeats (empty if none matter).

    A word sets an answer apart when neither the prompt nor any wrong choice has it. A
    free-text hint may repeat none; a choice hint may repeat one such word in passing, but
    not two, nor one that is most of what sets the answer apart, nor one word found in
    most right answers of a multiple-choice question.
    """
    hinted = key_words(q.hint)
    given = key_words(q.prompt)
    if isinstance(q, FreeText):
        found: set[str] = set()
        for form in q.accept:
            found |= (key_words(form) - given) & hinted
        return found
    right = [q.answer] if isinstance(q, SingleChoice) else list(q.answers)
    wrong: set[str] = set()
    for choice in q.choices:
        if choice not in right:
            wrong |= key_words(choice)
    apart = [key_words(a) - given - wrong for a in right]
    shared = set().union(*apart) & hinted
    if len(shared) >= 2:
        return shared
    if isinstance(q, SingleChoice):
        return shared if shared and 2 * len(shared) >= len(apart[0]) else set()
    for word in shared:
        if 2 * sum(word in words for words in apart) > len(right):
            return {word}
    return set()


def lint_lesson(entry: LoadedLesson) -> list[SourceProblem]:
    """Every lint warning for one loaded lesson, with file and line."""
    source = load_yaml(entry.path)

    def line(index: int, key: str) -> int | None:
        return source.line_of(("exercises", index, key))

    path = entry.path
    problems: list[SourceProblem] = []
    exercises = list(enumerate(entry.lesson.exercises))
    singles = [(i, q) for i, q in exercises if isinstance(q, SingleChoice)]
    longest = [q.id for _, q in singles if len(q.answer) > max(len(c) for c in q.choices if c != q.answer)]
    if len(singles) >= MIN_QUESTIONS and len(longest) > len(singles) * LONGEST_SHARE:
        problems.append(SourceProblem(
            path, source.line_of(("exercises",)),
            f"longest-answer: the right option is the longest in {len(longest)} of {len(singles)} single-choice "
            f"questions ({', '.join(longest)})",
            fix=f"at most {int(len(singles) * LONGEST_SHARE)}: shorten right answers or give wrong ones plausible detail"))
    multiples = [q for _, q in exercises if isinstance(q, MultipleChoice)]
    counts = {len(q.answers) for q in multiples}
    if len(multiples) >= MIN_QUESTIONS and len(counts) == 1:
        problems.append(SourceProblem(
            path, source.line_of(("exercises",)),
            f"same-count: all {len(multiples)} multiple-choice questions have exactly {counts.pop()} right answers",
            fix="vary the number of right answers (1 to 4)"))
    if entry.lesson.module == "roadmap":
        missing = [topic for topic in entry.lesson.topics if entry.lesson.primer(topic) is None]
        if missing:
            problems.append(SourceProblem(
                path, source.line_of(("topics",)),
                f"no-primer: {len(missing)} topic(s) have no primer ({', '.join(missing)})",
                fix="add a `primers:` entry per topic (what, why, example, source) so it is taught before it is tested"))
    for index, q in exercises:
        if not isinstance(q, (SingleChoice, MultipleChoice, FreeText)):
            continue
        shared = hint_giveaway(q)
        if shared:
            problems.append(SourceProblem(
                path, line(index, "hint"),
                f"hint-gives-answer: exercises[{index}] ({q.id}): the hint shares the answer's key words "
                f"({', '.join(sorted(shared))})",
                fix="nudge towards the reasoning without the answer's own words"))
        if isinstance(q, FreeText) and len({a.strip().casefold() for a in q.accept}) < MIN_ACCEPTED:
            problems.append(SourceProblem(
                path, line(index, "accept"),
                f"few-accepted: exercises[{index}] ({q.id}) accepts only {q.accept[0]!r}",
                fix=f"add at least {MIN_ACCEPTED} forms a knowing learner might type (abbreviation, full name, with a unit)"))
    return problems


def lint_catalog(catalog: Catalog) -> list[SourceProblem]:
    """Lint warnings for every lesson of a catalog, file by file."""
    problems: list[SourceProblem] = []
    for entry in catalog.lessons:
        problems.extend(lint_lesson(entry))
    return problems


def lint_paths(paths: list[Path]) -> list[SourceProblem]:
    """Lint warnings for lesson files and directories (only files that validate are linted)."""
    from learnbackend.course.catalog import load_lessons

    return lint_catalog(load_lessons(paths))


def print_warnings(env: Environment, warnings: list[SourceProblem], *, as_json: bool) -> None:
    """Lint findings as warnings on stderr (text output only: JSON shows them with --lint)."""
    if as_json or not warnings:
        return
    from rich.text import Text

    for w in warnings:
        line = Text(w.where(), style="bold")
        line.append(": warning: ", style="warn")
        line.append(w.message)
        if w.fix:
            line.append(f"\n    → {w.fix}", style="warn")
        env.err.print(line, soft_wrap=True)
    env.err.print(Text(f"{len(warnings)} lint warning(s); `lessons validate --lint` treats them as problems.", style="warn"))
