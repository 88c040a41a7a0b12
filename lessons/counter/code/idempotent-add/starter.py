"""Exercise: an idempotent AddCount.

A client that gets no answer retries with the SAME token. Your counter must
count each token once, however many times it arrives.
"""

from __future__ import annotations


class IdempotentCounter:
    """Counters whose adds are keyed by an idempotency token."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        # TODO: remember which (counter, token) pairs have been applied

    def add(self, counter: str, delta: int, token: str) -> bool:
        """Add ``delta`` to ``counter`` unless this token was already applied to it.

        Returns True when the add was counted now, False for a replay.
        """
        # TODO: add delta to the counter (self.counts) the first time this (counter, token) pair
        #       arrives; a replay of the same pair changes nothing and returns False.
        raise NotImplementedError("IdempotentCounter.add")

    def get(self, counter: str) -> int:
        """The current value (0 for a counter never added to)."""
        return self.counts.get(counter, 0)
