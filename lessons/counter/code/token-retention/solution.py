"""Reference solution: token dedup with retention."""

from __future__ import annotations


class TokenDedup:
    def __init__(self, retention: float) -> None:
        self.retention = retention
        self.seen: dict[str, float] = {}

    def admit(self, token: str, generation_time: float, now: float) -> str:
        if token in self.seen:
            return "duplicate"
        if generation_time < now - self.retention:
            return "late"
        self.seen[token] = generation_time
        return "new"

    def purge(self, now: float) -> int:
        old = [t for t, g in self.seen.items() if g < now - self.retention]
        for t in old:
            del self.seen[t]
        return len(old)
