"""Reference solution: a PN-counter CRDT."""

from __future__ import annotations

State = dict[str, tuple[int, int]]


def increment(state: State, replica: str, delta: int) -> State:
    p, n = state.get(replica, (0, 0))
    new = dict(state)
    new[replica] = (p + delta, n) if delta >= 0 else (p, n - delta)
    return new


def merge(a: State, b: State) -> State:
    merged = dict(a)
    for replica, (p, n) in b.items():
        mp, mn = merged.get(replica, (0, 0))
        merged[replica] = (max(mp, p), max(mn, n))
    return merged


def value(state: State) -> int:
    return sum(p - n for p, n in state.values())
