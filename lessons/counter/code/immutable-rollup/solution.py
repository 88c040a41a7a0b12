"""Reference solution: a rollup over an immutable window."""

from __future__ import annotations

Event = tuple[int, int]
Checkpoint = tuple[int, int]


def rollup(checkpoint: Checkpoint, events: list[Event], now: int, lag: int) -> Checkpoint:
    count, last = checkpoint
    end = now - lag
    if end <= last:
        return checkpoint
    return count + sum(delta for t, delta in events if last < t <= end), end
