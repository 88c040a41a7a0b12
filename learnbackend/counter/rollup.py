"""Rollup: fold the events of a counter's immutable window into its checkpoint.

A counter's rollup row holds ``(count, last_rollup_ts)``. A rollup aggregates
``(last_rollup_ts, now - accept_limit - skew_margin]``; no event can still be
added to that window (late events are rejected), so any number of workers
rolling up concurrently compute the same answer and need no locks: the store
only lets the checkpoint move forward.
"""

from __future__ import annotations

from dataclasses import dataclass

from learnbackend.counter.namespaces import NamespaceConfig
from learnbackend.counter.store_sqlite import SqliteStore
from learnbackend.counter.tokens import MAX_TIME_US, US

FOREVER = MAX_TIME_US


@dataclass
class RollupResult:
    """What one rollup of one counter did."""

    namespace: str
    counter: str
    count: int
    last_rollup_ts: int
    events_read: int
    advanced: bool
    #: The newest event time written for the counter (kept beside the checkpoint); 0 if unknown.
    last_write_ts: int = 0


def rollup_counter(store: SqliteStore, config: NamespaceConfig, counter: str, now_us: int, *,
                   immutable: bool = True, lag_us: int | None = None) -> RollupResult:
    """Roll one counter up to ``now - lag`` (``immutable=False``: up to ``now``, the unsafe way)."""
    count, last, last_write = store.rollup_state(config.name, counter)
    lag = (config.lag_us if lag_us is None else lag_us) if immutable else 0
    end = now_us - lag
    if end <= last:
        return RollupResult(config.name, counter, count, last, 0, False, last_write)
    total, cleared, n = store.aggregate(config.name, counter, last, end, config.bucket_seconds * US, config.event_buckets)
    new_count = total if cleared else count + total
    advanced = store.put_rollup(config.name, counter, new_count, end)
    if not advanced:  # another worker moved the checkpoint further: its value is the truth
        new_count, end = store.get_rollup(config.name, counter)
    return RollupResult(config.name, counter, new_count, end, n, advanced, last_write)


def accurate_count(store: SqliteStore, config: NamespaceConfig, counter: str) -> tuple[int, int, int]:
    """The accurate type: checkpoint + every event since it, read now. (count, checkpoint, events read)."""
    count, last = store.get_rollup(config.name, counter)
    total, cleared, n = store.aggregate(config.name, counter, last, FOREVER, config.bucket_seconds * US)
    return (total if cleared else count + total), last, n
