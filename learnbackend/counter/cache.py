"""The rollup cache: count and checkpoint cached as ONE value, so they never disagree.

A reader gets ``(count, last_rollup_ts)`` from one key; a writer replaces both
at once and never moves the checkpoint backwards.
"""

from __future__ import annotations

import threading
from typing import Protocol


class RollupCache(Protocol):
    def get(self, namespace: str, counter: str) -> tuple[int, int] | None: ...
    def put(self, namespace: str, counter: str, count: int, last_ts: int) -> None: ...


class MemoryCache:
    """A per-process cache: a dict of ``(count, last_rollup_ts)`` tuples."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], tuple[int, int]] = {}
        self._lock = threading.Lock()

    def get(self, namespace: str, counter: str) -> tuple[int, int] | None:
        return self._data.get((namespace, counter))

    def put(self, namespace: str, counter: str, count: int, last_ts: int) -> None:
        with self._lock:
            old = self._data.get((namespace, counter))
            if old is None or last_ts >= old[1]:
                self._data[(namespace, counter)] = (count, last_ts)


def encode(count: int, last_ts: int) -> str:
    """The one cached value: ``"<count>@<last_rollup_ts>"``."""
    return f"{count}@{last_ts}"


def decode(value: str | bytes | None) -> tuple[int, int] | None:
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    count, _, ts = text.partition("@")
    return int(count), int(ts)
