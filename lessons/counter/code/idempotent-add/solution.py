"""Reference solution: an idempotent AddCount."""

from __future__ import annotations


class IdempotentCounter:
    """Counters whose adds are keyed by an idempotency token."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.applied: set[tuple[str, str]] = set()

    def add(self, counter: str, delta: int, token: str) -> bool:
        key = (counter, token)
        if key in self.applied:
            return False
        self.applied.add(key)
        self.counts[counter] = self.counts.get(counter, 0) + delta
        return True

    def get(self, counter: str) -> int:
        return self.counts.get(counter, 0)
