"""The mastery map: the roadmap as a tree of branches and topics, with how well each is known."""

from __future__ import annotations

from dataclasses import dataclass, field

from learnbackend.course.catalog import Catalog
from learnbackend.course.progress import ProgressStore
from learnbackend.roadmap.quiz import MODULE


@dataclass
class TopicMastery:
    name: str
    total: int
    seen: int
    known: int

    @property
    def percent(self) -> int:
        return round(100 * self.known / self.total) if self.total else 0


@dataclass
class BranchMastery:
    lesson_id: str
    title: str
    placed_out: bool
    topics: list[TopicMastery] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(t.total for t in self.topics)

    @property
    def known(self) -> int:
        return sum(t.known for t in self.topics)

    @property
    def percent(self) -> int:
        if self.placed_out:
            return 100
        return round(100 * self.known / self.total) if self.total else 0


def mastery_map(catalog: Catalog, store: ProgressStore) -> list[BranchMastery]:
    """A question is *known* when its latest answer was right (or its branch was placed out of)."""
    last = store.last_outcomes(module=MODULE)
    placed = {p for p in store.get_value("roadmap.placed", [], kind=list) if isinstance(p, str)}
    branches = []
    for entry in catalog.by_module(MODULE):
        lesson = entry.lesson
        branch = BranchMastery(lesson.id, lesson.title, lesson.id in placed)
        topics = list(lesson.topics) or sorted({q.topic for q in lesson.exercises})  # type: ignore[union-attr]
        for topic in topics:
            ids = [f"{lesson.id}/{q.id}" for q in lesson.exercises if getattr(q, "topic", None) == topic]
            seen = sum(1 for i in ids if i in last)
            known = len(ids) if branch.placed_out else sum(1 for i in ids if last.get(i) == "passed")
            branch.topics.append(TopicMastery(topic, len(ids), seen, known))
        branches.append(branch)
    return branches


def to_dict(branches: list[BranchMastery]) -> list[dict[str, object]]:
    return [
        {"id": b.lesson_id, "branch": b.title, "percent": b.percent, "placed_out": b.placed_out,
         "known": b.known, "total": b.total,
         "topics": [{"topic": t.name, "percent": t.percent, "known": t.known, "seen": t.seen, "total": t.total}
                    for t in b.topics]}
        for b in branches
    ]
