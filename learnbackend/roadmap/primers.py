"""Primers: the short lesson taught before a roadmap topic's first question.

A primer is content (:class:`~learnbackend.course.models.Primer`, in the branch's YAML);
this module finds primers by topic, lists them, and remembers which ones a learner
has been shown, so practice teaches each topic once, before testing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from learnbackend.course.catalog import Catalog
from learnbackend.course.models import Primer
from learnbackend.course.progress import ProgressStore
from learnbackend.errors import NotFoundError

MODULE = "roadmap"
#: Progress key: the "<lesson id>/<topic>" primers this learner has been shown.
SEEN_KEY = "roadmap.primers_seen"


@dataclass(frozen=True)
class TopicPrimer:
    """A primer with the branch it belongs to."""

    lesson_id: str
    branch: str
    primer: Primer

    @property
    def key(self) -> str:
        return f"{self.lesson_id}/{self.primer.topic}"

    @property
    def slug(self) -> str:
        return slug(self.primer.topic)


def slug(topic: str) -> str:
    """A topic as typed on a command line: 'JavaScript/Node.js' → 'javascript-node-js'."""
    return re.sub(r"[^a-z0-9#+]+", "-", topic.casefold()).strip("-")


def all_primers(catalog: Catalog) -> list[TopicPrimer]:
    """Every primer of the roadmap, in branch order and, within a branch, in topic order."""
    found = []
    for entry in catalog.by_module(MODULE):
        lesson = entry.lesson
        for topic in lesson.topics:
            primer = lesson.primer(topic)
            if primer is not None:
                found.append(TopicPrimer(lesson.id, lesson.title, primer))
    return found


def find(catalog: Catalog, wanted: str) -> TopicPrimer:
    """The primer named by a topic (any case, or its slug), optionally as 'branch/topic'."""
    branch, _, topic = wanted.rpartition("/") if "/" in wanted and not _is_topic(catalog, wanted) else ("", "", wanted)
    key = slug(topic)
    candidates = [p for p in all_primers(catalog)
                  if key in (p.slug, slug(p.primer.topic.split("/")[0]))
                  and (not branch or slug(branch).removeprefix("roadmap-") in (slug(p.branch), p.lesson_id.removeprefix("roadmap-")))]
    if len(candidates) == 1:
        return candidates[0]
    names = ", ".join(p.slug for p in all_primers(catalog))
    if not candidates:
        raise NotFoundError(f"No roadmap topic is called {wanted!r}.", fix=f"Use one of: {names}.")
    choices = ", ".join(f"{p.lesson_id.removeprefix('roadmap-')}/{p.slug}" for p in candidates)
    raise NotFoundError(f"Several branches have a topic called {wanted!r}.", fix=f"Name one: {choices}.")


def _is_topic(catalog: Catalog, text: str) -> bool:
    return any(slug(p.primer.topic) == slug(text) for p in all_primers(catalog))


def seen(store: ProgressStore) -> set[str]:
    return set(store.get_value(SEEN_KEY, []))


def mark_seen(store: ProgressStore, primer: TopicPrimer) -> None:
    """Remember that the learner has been taught this topic."""
    keys = seen(store)
    if primer.key not in keys:
        keys.add(primer.key)
        store.set_value(SEEN_KEY, sorted(keys))
