"""The quiz engine: which questions to ask, recording answers, placement.

Sessions come in three modes: ``practice`` (a branch or all of them, unseen and
missed questions first), ``review`` (questions the scheduler says are due) and
``placement`` (a short test across a branch's topics; pass it and the branch is
marked as placed out). The engine returns data; the CLI asks and renders.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Literal

from learnbackend.course.catalog import Catalog, LoadedLesson
from learnbackend.course.progress import ProgressStore
from learnbackend.errors import NotFoundError, UsageError
from learnbackend.roadmap import scheduler
from learnbackend.roadmap.grading import Feedback, Presented, present
from learnbackend.roadmap.primers import TopicPrimer, all_primers, mark_seen, seen

Mode = Literal["practice", "review", "placement"]
MODULE = "roadmap"
DIFFICULTIES = ("easy", "medium", "hard")
#: Right answers at a difficulty (latest answers, in the session's branches) that unlock the next one.
UNLOCK_AFTER = 3
#: Right answers in a row, at the learner's level, that move a practice session up a level.
PROMOTE_AFTER = 2
#: Share of right answers needed to place out of a branch.
PLACEMENT_PASS = 0.8
PLACEMENT_SIZE = 8


@dataclass
class SessionPlan:
    mode: Mode
    branches: list[str]
    items: list[Presented]
    seed: int
    note: str = ""
    #: "<lesson id>/<topic>" → the primer to teach before that topic's first question (practice only).
    primers: dict[str, TopicPrimer] = field(default_factory=dict)
    #: Practice only: the difficulty level (0 easy, 1 medium, 2 hard) the session starts at.
    level: int | None = None


class Ramp:
    """The order of a practice session: easy first, one level up after a run of right answers.

    The next question is the hardest one left at or below the current level (or, when
    none is left there, the easiest one above it). :data:`PROMOTE_AFTER` right answers in
    a row at the current level move the session up; a wrong answer restarts the run.
    """

    def __init__(self, items: list[Presented], level: int) -> None:
        self.left = list(items)
        self.level = level
        self.run = 0

    @staticmethod
    def difficulty(item: Presented) -> int:
        return DIFFICULTIES.index(item.question.difficulty)

    def next(self) -> Presented | None:
        if not self.left:
            return None
        within = [p for p in self.left if self.difficulty(p) <= self.level]
        pick = (max(within, key=self.difficulty) if within else min(self.left, key=self.difficulty))
        self.left.remove(pick)
        return pick

    def answered(self, item: Presented, correct: bool) -> None:
        if not correct:
            self.run = 0
            return
        if self.difficulty(item) >= self.level:
            self.run += 1
        if self.run >= PROMOTE_AFTER and self.level < len(DIFFICULTIES) - 1:
            self.level += 1
            self.run = 0


@dataclass
class SessionResult:
    mode: Mode
    branches: list[str]
    seed: int
    feedback: list[Feedback] = field(default_factory=list)
    placement_passed: bool | None = None
    stopped_early: bool = False
    #: Ended by Ctrl-C: the summary is shown, then the command exits with 130.
    interrupted: bool = False

    @property
    def correct(self) -> int:
        return sum(f.correct for f in self.feedback)

    @property
    def score(self) -> float:
        return sum(f.score for f in self.feedback)

    def to_dict(self) -> dict[str, object]:
        answered = len(self.feedback)
        return {
            "mode": self.mode,
            "branches": self.branches,
            "seed": self.seed,
            "answered": answered,
            "correct": self.correct,
            "score": round(self.score, 3),
            "percent": round(100 * self.correct / answered) if answered else 0,
            "placement_passed": self.placement_passed,
            "stopped_early": self.stopped_early,
            "interrupted": self.interrupted,
            "results": [f.to_dict() for f in self.feedback],
        }


def branch_lessons(catalog: Catalog, branches: list[str] | None) -> list[LoadedLesson]:
    """Lessons of the roadmap for the given branch names or ids (all when None)."""
    lessons = catalog.by_module(MODULE)
    if not branches:
        return lessons
    chosen: list[LoadedLesson] = []
    for wanted in branches:
        key = wanted.casefold().removeprefix("roadmap-")
        match = [e for e in lessons if key in (e.lesson.id.removeprefix("roadmap-"), e.lesson.title.casefold())]
        if not match:
            names = ", ".join(e.lesson.id.removeprefix("roadmap-") for e in lessons)
            raise NotFoundError(f"No roadmap branch is called {wanted!r}.", fix=f"Use one of: {names}.")
        chosen.extend(m for m in match if m not in chosen)
    return chosen


def _presented(entry: LoadedLesson, rng: random.Random) -> list[Presented]:
    return [present(f"{entry.lesson.id}/{q.id}", entry.lesson.id, entry.lesson.title, q, rng)  # type: ignore[arg-type]
            for q in entry.lesson.exercises]


class QuizEngine:
    """Plans sessions and records answers against one progress store."""

    def __init__(self, catalog: Catalog, store: ProgressStore) -> None:
        self.catalog = catalog
        self.store = store

    def plan(self, mode: Mode, *, branches: list[str] | None = None, count: int | None = None,
             seed: int | None = None, now: float | None = None) -> SessionPlan:
        seed = seed if seed is not None else random.SystemRandom().randrange(1 << 30)
        rng = random.Random(seed)
        lessons = branch_lessons(self.catalog, branches)
        names = [e.lesson.title for e in lessons]
        all_items = [item for entry in lessons for item in _presented(entry, rng)]
        if mode == "review":
            scope = " ".join(f"--branch {e.lesson.id.removeprefix('roadmap-')}" for e in lessons) if branches else ""
            return self._plan_review(all_items, names, seed, count, now, scope)
        if mode == "placement":
            if not branches or len(lessons) != 1:
                raise UsageError("A placement test is for one branch.", fix="Pass --branch NAME (e.g. --branch databases).")
            return SessionPlan(mode, names, self._placement_items(all_items, rng, count or PLACEMENT_SIZE), seed)
        last = self.store.last_outcomes(module=MODULE)
        level = self.level(all_items, last)
        # Unseen first, then missed, then the rest; within each group, questions at or below
        # the learner's level before harder ones; random otherwise. Then easy to hard.
        rank = {None: 0, "failed": 1, "passed": 2}
        rng.shuffle(all_items)
        all_items.sort(key=lambda p: (rank.get(last.get(p.qid), 1), max(0, Ramp.difficulty(p) - level)))
        items = sorted(all_items[: count or 10], key=Ramp.difficulty)
        return SessionPlan(mode, names, items, seed, primers=self.primers_for(items), level=level)

    @staticmethod
    def level(items: list[Presented], last: dict[str, str]) -> int:
        """The learner's level in these questions: 0 (easy) until :data:`UNLOCK_AFTER` easy ones
        are known, then 1 (medium) until as many medium ones are known, then 2 (hard)."""
        level = 0
        for difficulty in DIFFICULTIES[:-1]:
            pool = [p for p in items if p.question.difficulty == difficulty]
            known = sum(1 for p in pool if last.get(p.qid) == "passed")
            if known >= min(UNLOCK_AFTER, len(pool)) and pool:
                level += 1
            else:
                break
        return level

    def primers_for(self, items: list[Presented]) -> dict[str, TopicPrimer]:
        """The primers of the topics in ``items`` that the learner has not been taught yet."""
        taught = seen(self.store)
        keys = {f"{item.lesson_id}/{item.question.topic}" for item in items}
        return {p.key: p for p in all_primers(self.catalog) if p.key in keys and p.key not in taught}

    def taught(self, primer: TopicPrimer) -> None:
        """Record that a primer was shown."""
        mark_seen(self.store, primer)

    def plan_ids(self, ids: list[str], *, mode: Mode = "practice", seed: int | None = None) -> SessionPlan:
        """A session of exactly these questions, in this order (answers files, scripts)."""
        seed = seed if seed is not None else 0
        rng = random.Random(seed)
        items = []
        for qid in ids:
            entry, question = self.catalog.exercise(qid)
            if entry.lesson.module != MODULE:
                raise UsageError(f"{qid} is not a roadmap question.")
            items.append(present(qid, entry.lesson.id, entry.lesson.title, question, rng))
        branches = list(dict.fromkeys(item.branch for item in items))
        return SessionPlan(mode, branches, items, seed)

    def _plan_review(self, items: list[Presented], names: list[str], seed: int, count: int | None,
                     now: float | None, scope: str = "") -> SessionPlan:
        now = time.time() if now is None else now
        cards = self.store.cards()
        due = [(cards[p.qid][1], p) for p in items if p.qid in cards and cards[p.qid][1] <= now]
        due.sort(key=lambda pair: pair[0])
        chosen = [p for _, p in due][: count or 20]
        note = ""
        if not chosen:
            upcoming = [cards[p.qid][1] for p in items if p.qid in cards]
            if upcoming:
                wait = min(upcoming) - now
                note = f"Nothing is due. The next question is due in {_human(wait)}."
            elif scope:
                note = (f"Nothing is due in {', '.join(names)} yet: answer some of its questions first "
                        f"(learnbackend quiz start {scope}).")
            else:
                note = "Nothing is due yet: answer some questions first (learnbackend quiz start)."
        return SessionPlan("review", names, chosen, seed, note)

    @staticmethod
    def _placement_items(items: list[Presented], rng: random.Random, size: int) -> list[Presented]:
        """A spread over topics, harder questions first within each topic."""
        by_topic: dict[str, list[Presented]] = {}
        for p in items:
            by_topic.setdefault(p.question.topic, []).append(p)
        weight = {"hard": 0, "medium": 1, "easy": 2}
        for group in by_topic.values():
            rng.shuffle(group)
            group.sort(key=lambda p: weight[p.question.difficulty])
        chosen: list[Presented] = []
        while len(chosen) < size and any(by_topic.values()):
            for group in by_topic.values():
                if group and len(chosen) < size:
                    chosen.append(group.pop(0))
        rng.shuffle(chosen)
        return chosen

    def record(self, presented: Presented, feedback: Feedback, *, mode: Mode, when: float | None = None) -> None:
        """Store the attempt and move the question's card in the scheduler."""
        from datetime import datetime, timezone

        moment = datetime.fromtimestamp(when, timezone.utc) if when else None
        card = self.store.cards().get(presented.qid)
        new_card, due = scheduler.review(card[0] if card else None, correct=feedback.correct,
                                         easy=(mode == "placement" and feedback.correct), when=moment)
        self.store.record(MODULE, presented.qid, "passed" if feedback.correct else "failed",
                          detail={"mode": mode, "given": feedback.given, "score": feedback.score}, at=when)
        self.store.save_card(presented.qid, new_card, due)

    def finish(self, plan: SessionPlan, result: SessionResult) -> SessionResult:
        """Close a session: a passed placement marks the branch as placed out."""
        if plan.mode == "placement" and result.feedback:
            passed = result.correct / len(plan.items) >= PLACEMENT_PASS and len(result.feedback) == len(plan.items)
            result.placement_passed = passed
            if passed:
                lesson_id = plan.items[0].lesson_id
                placed = {p for p in self.store.get_value("roadmap.placed", [], kind=list) if isinstance(p, str)}
                placed.add(lesson_id)
                self.store.set_value("roadmap.placed", sorted(placed))
        return result


def due_summary(store: ProgressStore, *, now: float | None = None, prefix: str = "") -> tuple[int, float | None]:
    """How many questions (ids starting with ``prefix``) are due now, and seconds until the next
    one is due (0 if some are due now, None if nothing was ever answered)."""
    now = time.time() if now is None else now
    dues = [due for qid, (_card, due) in store.cards().items() if qid.startswith(prefix)]
    if not dues:
        return 0, None
    due_now = sum(1 for due in dues if due <= now)
    return due_now, 0.0 if due_now else min(dues) - now


def describe_due(due_now: int, wait: float | None) -> str:
    """'3 reviews due now', 'no review due; the next in 2 h' or 'no review yet'."""
    if wait is None:
        return "no review yet: practise first"
    if due_now:
        return f"{due_now} review{'s' if due_now != 1 else ''} due now"
    return f"no review due; the next in {_human(wait)}"


def _human(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    if seconds < 2 * 86400:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} days"
