"""E1 (writers vs designs) and E5 (one hot counter vs K shards)."""

from __future__ import annotations

from learnbackend.counter.designs import make_design
from learnbackend.counter.experiments.common import ExperimentResult, Plot, Progress, Series, hammer, percentile, redis_for, workdir

#: The modelled round trip to the store, held inside each write (a real database is across a network).
STORE_RTT_S = 0.001


def run_e1(*, scale: float, seed: int, progress: Progress, redis_url: str | None) -> ExperimentResult:
    levels = [1, 4, 16, 64]
    designs = ["single-row", "cas-row", "sharded", "event-log", "redis-incr"]
    duration = 0.3 * scale
    url, stop_redis = redis_for(redis_url)
    notes = [] if url else ["redis-server not found: the redis-incr design was skipped (apt-get install redis-server)."]
    if not url:
        designs.remove("redis-incr")
    rows, series = [], []
    try:
        with workdir() as root:
            steps, done = len(designs) * len(levels), 0
            for name in designs:
                points = []
                for writers in levels:
                    progress(done / steps, f"{name}, {writers} writers")
                    design = make_design(name, root / f"{name}-{writers}", delay_s=STORE_RTT_S, redis_url=url)
                    try:
                        run = hammer(design, writers, duration)
                        design.settle()
                        counted = design.get("hot")
                    finally:
                        design.close()
                    rows.append([name, writers, round(run.throughput), round(percentile(run.latencies, 50) * 1e3, 2),
                                 round(percentile(run.latencies, 99) * 1e3, 2), run.acked, counted, counted - run.acked])
                    points.append((writers, run.throughput))
                    done += 1
                series.append(Series(name, points))
    finally:
        stop_redis()
    progress(1.0, "done")
    best = {s.name: max(p[1] for p in s.points) for s in series}
    single = dict(series[0].points)
    explanation = (
        f"Every write holds the store for a {STORE_RTT_S * 1e3:g} ms round trip. The single row serialises all writers "
        f"on one row lock: {single[1]:,.0f}/s with 1 writer and still {single[64]:,.0f}/s with 64, while p99 grows with the "
        f"queue of waiters. CAS is worse: losers of the race re-read and retry. Shards spread writers over K rows, and the "
        f"event log appends new events without touching a shared row (on SQLite, one writer at a time, the lab commits "
        f"the events that arrive together in one transaction: group commit, the lab's choice; Netflix's appends go "
        f"independently to Cassandra's time partitions and event buckets), so both scale (best: sharded {best.get('sharded', 0):,.0f}/s, event log {best.get('event-log', 0):,.0f}/s). "
        "Redis INCRBY is fast but, like every design here, exact only because nothing failed: see E2.")
    return ExperimentResult(
        ["design", "writers", "ops/s", "p50 ms", "p99 ms", "acked", "counted", "error"], rows, explanation,
        Plot("throughput vs concurrent writers", "writers", "ops/s", series, log_x=True),
        figures={"best_throughput": best}, params={"levels": levels, "duration_s": duration, "store_rtt_s": STORE_RTT_S},
        notes=notes)


def run_e5(*, scale: float, seed: int, progress: Progress, redis_url: str | None) -> ExperimentResult:
    ks = [1, 2, 4, 8, 16]
    writers = 32
    duration = 0.4 * scale
    rows, points = [], []
    with workdir() as root:
        for i, k in enumerate(ks):
            progress(i / len(ks), f"{k} shard(s)")
            design = make_design("sharded", root / f"k{k}", delay_s=STORE_RTT_S, shards=k)
            try:
                run = hammer(design, writers, duration)
                import time

                t0 = time.perf_counter()
                counted = design.get("hot")
                read_ms = (time.perf_counter() - t0) * 1e3
            finally:
                design.close()
            rows.append([k, round(run.throughput), round(percentile(run.latencies, 99) * 1e3, 2), k, round(read_ms, 3),
                         counted - run.acked])
            points.append((k, run.throughput))
    progress(1.0, "done")
    gain = points[-1][1] / points[0][1] if points[0][1] else 0.0
    explanation = (
        f"{writers} writers hammer one counter. With K=1 every write waits for the same row; with K shards up to K writes "
        f"proceed at once, so throughput grows with K ({gain:.1f}x from K=1 to K={ks[-1]}) until the writers (or the "
        "CPU) are the limit. The price is on the read side: a read sums K rows. This is why Firestore documents (about 1 "
        "sustained write/s each) are sharded. Random sharding is the lab's comparison design; Netflix's event buckets "
        "also spread a hot counter's writes, but over the event log, and its rollup still yields one count.")
    return ExperimentResult(["shards K", "ops/s", "p99 ms", "rows per read", "read ms", "error"], rows, explanation,
                            Plot("throughput vs shards", "K", "ops/s", [Series("sharded", points)], log_x=True),
                            figures={"gain": gain}, params={"writers": writers, "duration_s": duration})
