"""Wide partitions on PostgreSQL: what time buckets and event buckets save a rollup.

One hot counter holds ``events`` events spread over ``span_s`` seconds, all in
one partition of the event log (the last full hour's time slice: partition
pruning alone cannot narrow the read further). A rollup reads only the newest
few seconds. The same events are
stored under three key layouts (namespaces with other bucket settings) and the
rollup's query is timed and EXPLAINed:

- time buckets (600 s) + 4 event buckets: the index range starts at the
  counter's current time bucket, so only recent entries are touched;
- no time buckets (one bucket for ~115 days): the index range is every event of
  the counter in the partitions left after pruning (the hourly slices of the
  window), all walked to find the recent ones;
- no buckets at all: the same, in one ordered run.

Engine only; figures are measured, nothing is modelled.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from learnbackend.counter.eventlog import event_row
from learnbackend.counter.namespaces import NamespaceConfig
from learnbackend.counter.store_postgres import SLICE_SECONDS, PostgresStore, slice_of
from learnbackend.counter.store_sqlite import ADD
from learnbackend.counter.tokens import US, Token, now_us

#: A time bucket longer than any run: "no time buckets".
ONE_BUCKET_S = 10_000_000
LAYOUTS = (("time buckets 600 s, 4 event buckets", 600, 4),
           ("no time buckets, 4 event buckets", ONE_BUCKET_S, 4),
           ("no time buckets, no event buckets", ONE_BUCKET_S, 1))


@dataclass
class LayoutRow:
    layout: str
    events: int
    window_s: float
    rollup_ms_p50: float
    buffers: int
    partitions_scanned: int


@dataclass
class WideReport:
    events: int
    span_s: float
    rows: list[LayoutRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _plan_figures(plan: Any) -> tuple[int, int]:
    """(shared buffers hit + read, index scans on partitions) of an EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)."""
    root = plan[0]["Plan"]
    scans = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if "Scan" in node.get("Node Type", "") and node.get("Relation Name", "").startswith("events"):
            scans += 1
        stack.extend(node.get("Plans", []))
    return int(root.get("Shared Hit Blocks", 0)) + int(root.get("Shared Read Blocks", 0)), scans


def run_wide_partitions(url: str, *, events: int = 50_000, span_s: float = 3000.0, window_s: float = 5.0,
                        reads: int = 15) -> WideReport:
    """Load the same events under each layout and measure the rollup's read of the newest ``window_s``."""
    import random

    if not 0 < window_s < span_s <= SLICE_SECONDS:
        from learnbackend.errors import UsageError

        raise UsageError(f"The events must fit in one {SLICE_SECONDS} s partition: 0 < window < span <= {SLICE_SECONDS}.")
    report = WideReport(events, span_s)
    store = PostgresStore(url)
    rng = random.Random(11)
    try:
        now = slice_of(now_us()) - 1  # the end of the last full hour: every event in ONE partition (time slice)
        times = sorted(now - int(rng.random() * span_s * US) for _ in range(events))
        tokens = [uuid.UUID(int=rng.getrandbits(128)).hex for _ in range(events)]
        store.ensure_slices(times)
        for label, bucket_s, buckets in LAYOUTS:
            config = NamespaceConfig(f"wide-{uuid.uuid4().hex[:8]}", "eventual", bucket_seconds=bucket_s,
                                     event_buckets=buckets)
            store.put_namespace(config)
            cid = store.cid(config.name, "hot")
            with store.lock, store.conn.cursor() as cur, cur.copy(
                    "COPY events (cid, time_bucket, event_bucket, event_time, event_id, kind, delta) FROM STDIN") as copy:
                for t, text in zip(times, tokens, strict=True):
                    copy.write_row(event_row(config, cid, ADD, 1, Token(text, t)))
            with store.lock:
                store.conn.execute("ANALYZE events")
            bucket_us = bucket_s * US
            lo, hi = now - int(window_s * US), now
            spent = []
            for _ in range(reads):
                t0 = time.perf_counter()
                store.aggregate(config.name, "hot", lo, hi, bucket_us)
                spent.append((time.perf_counter() - t0) * 1e3)
            with store.lock:
                plan = store.conn.execute(
                    "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT COALESCE(SUM(delta),0), COUNT(*) FROM events "
                    "WHERE cid=%s AND time_bucket BETWEEN %s AND %s AND event_time>%s AND event_time<=%s AND kind=0",
                    (cid, lo // bucket_us, hi // bucket_us, lo, hi)).fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            buffers, scans = _plan_figures(plan)
            report.rows.append(LayoutRow(label, events, window_s, round(statistics.median(spent), 2), buffers, scans))
    finally:
        store.close()
    report.notes.append("pages touched = 8 KiB pages the rollup's query touched (EXPLAIN ANALYZE BUFFERS). The event log is "
                        "also partitioned by hour: a counter's events from other hours are never read, whatever the "
                        "layout; inside one hour, only time buckets keep the read small.")
    return report
