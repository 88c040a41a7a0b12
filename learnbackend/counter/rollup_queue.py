"""In-memory rollup queues: routed by hash, coalesced, drained in batches, with back-pressure.

A rollup request is just ``(namespace, counter)``. It is routed to queue
``crc32(key) % queues`` so one counter always lands on the same queue (and one
worker), and each queue is an ordered *set* when coalescing, so a counter
triggered 1,000 times while waiting is rolled up once. With ``capacity`` the
queue is bounded: a trigger that finds it full is dropped (a later GetCount
triggers again: reads self-heal), so the backlog and the lag stay bounded.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

Key = tuple[str, str]


@dataclass
class QueueStats:
    """Counters of what the pipeline did."""

    triggers: int = 0
    coalesced: int = 0
    dropped: int = 0
    rollups: int = 0
    max_depth: int = 0
    errors: int = 0
    #: Seconds from a trigger being due to its rollup finishing (a sample per rollup).
    latencies: list[float] = field(default_factory=list)


class _Queue:
    def __init__(self, coalesce: bool) -> None:
        self.coalesce = coalesce
        self.items: dict[Key, float] | deque[tuple[Key, float]] = {} if coalesce else deque()
        self.cond = threading.Condition()
        self.busy = False

    def __len__(self) -> int:
        return len(self.items)


class RollupQueues:
    """N queues, one worker thread each; ``run(namespace, counter)`` does the rollup."""

    def __init__(self, run: Callable[[str, str], object], *, queues: int = 8, batch: int = 32,
                 coalesce: bool = True, coalesce_s: float = 0.0, capacity: int | None = 10_000) -> None:
        self.run = run
        self.batch = batch
        self.coalesce_s = coalesce_s
        self.capacity = capacity
        self.stats = QueueStats()
        self._stats_lock = threading.Lock()
        self._queues = [_Queue(coalesce) for _ in range(queues)]
        #: Keys waiting in some queue (coalescing only): a repeat trigger returns at once, without a lock.
        self._waiting: set[Key] = set()
        self._stopping = False
        self._threads = [threading.Thread(target=self._work, args=(q,), name=f"counter-rollup-{i}", daemon=True)
                         for i, q in enumerate(self._queues)]
        for t in self._threads:
            t.start()

    def route(self, namespace: str, counter: str) -> int:
        """The queue a counter always lands on."""
        return zlib.crc32(f"{namespace}\x00{counter}".encode()) % len(self._queues)

    def trigger(self, namespace: str, counter: str, delay_s: float = 0.0) -> bool:
        """Queue a rollup request (fire and forget); False when dropped by back-pressure.

        ``delay_s``: not before then. A write's trigger waits until its event has left
        the mutable window (accept_limit + margin), or the rollup would not include it;
        meanwhile further triggers for the same counter coalesce into this one.
        """
        key = (namespace, counter)
        if key in self._waiting:  # already queued: coalesced (the hot path under load)
            self.stats.coalesced += 1
            self.stats.triggers += 1
            return True
        q = self._queues[self.route(namespace, counter)]
        with q.cond:
            self.stats.triggers += 1
            if q.coalesce and key in q.items:
                self.stats.coalesced += 1
                return True
            if self.capacity is not None and len(q) >= self.capacity:
                self.stats.dropped += 1
                return False
            due = time.monotonic() + delay_s
            if q.coalesce:
                q.items[key] = due  # type: ignore[index,assignment]
                self._waiting.add(key)
            else:
                q.items.append((key, due))  # type: ignore[union-attr]
            depth = sum(len(x) for x in self._queues)
            self.stats.max_depth = max(self.stats.max_depth, depth)
            q.cond.notify()
        return True

    def depth(self) -> int:
        """Requests waiting in all queues."""
        return sum(len(q) for q in self._queues)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queue is empty and idle; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(len(q) == 0 and not q.busy for q in self._queues):
                return True
            time.sleep(0.002)
        return False

    def stop(self) -> None:
        self._stopping = True
        for q in self._queues:
            with q.cond:
                q.cond.notify_all()
        for t in self._threads:
            t.join(timeout=5)

    def _take(self, q: _Queue) -> list[tuple[Key, float]]:
        with q.cond:
            while not self._stopping:
                if q.items:
                    first_due = (next(iter(q.items.values())) if isinstance(q.items, dict) else q.items[0][1])
                    wait = first_due - time.monotonic()
                    if wait <= 0:
                        break
                    q.cond.wait(min(wait, 0.5))
                else:
                    q.cond.wait(0.5)
            taken: list[tuple[Key, float]] = []
            now = time.monotonic()
            while q.items and len(taken) < self.batch:
                if isinstance(q.items, dict):
                    key, due = next(iter(q.items.items()))
                    if due > now:
                        break
                    taken.append((key, q.items.pop(key)))
                    self._waiting.discard(key)
                else:
                    if q.items[0][1] > now:
                        break
                    taken.append(q.items.popleft())
            q.busy = bool(taken)
            return taken

    def _work(self, q: _Queue) -> None:
        while not self._stopping:
            batch = self._take(q)
            for (namespace, counter), queued_at in batch:
                try:
                    self.run(namespace, counter)
                except Exception:  # noqa: BLE001 - deliberate: any failure here is retried or reported per row
                    with self._stats_lock:
                        self.stats.errors += 1
                    continue
                with self._stats_lock:
                    self.stats.rollups += 1
                    if len(self.stats.latencies) < 200_000:
                        self.stats.latencies.append(time.monotonic() - queued_at)
            q.busy = False
            if batch and self.coalesce_s:
                time.sleep(self.coalesce_s)  # the coalescing window: triggers meanwhile merge
