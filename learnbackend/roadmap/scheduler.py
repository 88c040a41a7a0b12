"""Spaced repetition with FSRS (the `fsrs` package): when each question is due again.

A right answer is rated Good, a wrong one Again; a question answered right in a
placement test is rated Easy (the learner showed they know it). Cards are kept
in the progress store as the scheduler's own JSON.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fsrs import Card, Rating, Scheduler

_SCHEDULER = Scheduler(enable_fuzzing=False)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def review(card_data: dict[str, Any] | None, *, correct: bool, easy: bool = False,
           when: datetime | None = None) -> tuple[dict[str, Any], float]:
    """Apply one review; returns the new card (JSON-able) and its due time (epoch seconds)."""
    try:
        card = Card.from_dict(card_data) if card_data else Card()  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError, AttributeError):
        card = Card()  # a damaged card in the store: start the question's schedule over
    rating = Rating.Again if not correct else Rating.Easy if easy else Rating.Good
    card, _log = _SCHEDULER.review_card(card, rating, review_datetime=when or now_utc())
    return dict(card.to_dict()), card.due.timestamp()
