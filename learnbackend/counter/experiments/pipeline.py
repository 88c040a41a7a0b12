"""E6 (coalescing), E7 (accurate-mode read cost) and E9 (back-pressure)."""

from __future__ import annotations

import random
import time

from learnbackend.counter.counters import CounterEngine, EngineOptions
from learnbackend.counter.experiments.common import ExperimentResult, Plot, Progress, Series, percentile, workdir
from learnbackend.counter.namespaces import NamespaceConfig
from learnbackend.counter.rollup_queue import RollupQueues
from learnbackend.counter.tokens import new_token


def _zipf_keys(rng: random.Random, n: int, keys: int, s: float = 1.2) -> list[str]:
    weights = [1 / (rank ** s) for rank in range(1, keys + 1)]
    return [f"c{k}" for k in rng.choices(range(keys), weights=weights, k=n)]


def run_e6(*, scale: float, seed: int, progress: Progress, redis_url: str | None) -> ExperimentResult:
    rng = random.Random(seed)
    events = max(500, int(6000 * scale))
    keys = _zipf_keys(rng, events, 500)
    rows = []
    with workdir() as root:
        for i, coalesce in enumerate([False, True]):
            label = "on" if coalesce else "off"
            progress(i / 2, f"coalescing {label}: {events} events")
            engine = CounterEngine(root / f"{label}.db", options=EngineOptions(rollup="off"))
            engine.create_namespace(NamespaceConfig("lab", accept_limit_s=1.0, skew_margin_s=0.0))
            queues = RollupQueues(engine._rollup_by_name, queues=8, batch=32, coalesce=coalesce,
                                  coalesce_s=0.02 if coalesce else 0.0, capacity=None)
            start = time.perf_counter()
            for j in range(0, events, 100):
                chunk = keys[j:j + 100]
                engine.add_counts([("lab", k, 1, new_token()) for k in chunk])
                for k in chunk:
                    queues.trigger("lab", k)  # fire and forget, one per event
            queues.drain(60)
            elapsed = time.perf_counter() - start
            stats = queues.stats
            queues.stop()
            engine.close()
            rows.append([label, events, stats.triggers, stats.coalesced, stats.rollups, f"{stats.rollups / events:.1%}",
                         round(elapsed, 2)])
    progress(1.0, "done")
    explanation = (
        f"{events} events over 500 counters with a Zipf skew (a few counters get most of the traffic), one rollup "
        "trigger per event. Without coalescing every trigger is a rollup: read the checkpoint, aggregate, write. With "
        "coalescing a queue is a set, so a hot counter triggered many times while it waits is rolled up once per "
        f"window: {rows[1][4]} rollups instead of {rows[0][4]}. The hot counters are exactly where this pays.")
    return ExperimentResult(["coalescing", "events", "triggers", "coalesced", "rollups", "rollups/events", "seconds"],
                            rows, explanation, figures={"rollups_off": rows[0][4], "rollups_on": rows[1][4]},
                            params={"events": events, "counters": 500})


def run_e7(*, scale: float, seed: int, progress: Progress, redis_url: str | None) -> ExperimentResult:
    # Increasing sizes ending at the scaled top: at scale < 1/3 a fixed 20,000 came after the (smaller) top,
    # which was then labelled 18,000 while 20,000 events were read.
    top = max(1_000, int(60_000 * scale))
    sizes = [size for size in (0, 1_000, 5_000, 20_000) if size < top] + [top]
    rate = 1000  # events/s: turns "events since the last rollup" into "seconds since the last rollup"
    rows, points = [], []
    with workdir() as root:
        engine = CounterEngine(root / "accurate.db", options=EngineOptions(rollup="off"))
        engine.create_namespace(NamespaceConfig("lab", "accurate", accept_limit_s=3600.0))
        written = 0
        for i, size in enumerate(sizes):
            progress(i / (len(sizes) + 1), f"{size} events since the last rollup")
            while written < size:
                batch = min(5000, size - written)
                engine.add_counts([("lab", "c", 1, new_token()) for _ in range(batch)])
                written += batch
            latencies = []
            for _ in range(15):
                t0 = time.perf_counter()
                result = engine.get_count("lab", "c")
                latencies.append(time.perf_counter() - t0)
            ms = percentile(latencies, 50) * 1e3
            rows.append([size, f"{size / rate:g} s", result.events_read, result.count, round(ms, 3)])
            points.append((max(1, size), ms))
        progress(len(sizes) / (len(sizes) + 1), "rollup, then read again")
        engine.rollup("lab", "c", now=1 << 61)  # checkpoint past every event (no writer is running)
        latencies = []
        for _ in range(15):
            t0 = time.perf_counter()
            result = engine.get_count("lab", "c")
            latencies.append(time.perf_counter() - t0)
        rows.append(["after rollup", "0 s", result.events_read, result.count, round(percentile(latencies, 50) * 1e3, 3)])
        engine.close()
    progress(1.0, "done")
    explanation = (
        "The accurate type answers 'checkpoint + every event since the checkpoint', computed at read time. Right after "
        "a rollup that is one row; with no rollup for a while, the read has to scan every event since. The read cost "
        f"grows linearly with the un-rolled window (at {rate} events/s, each second without a rollup adds {rate} rows "
        "to every read). That is why the accurate type is only cheap when reads trigger rollups often enough to keep the "
        "window short.")
    return ExperimentResult(["events since rollup", f"time at {rate}/s", "events read", "count", "read ms (p50)"], rows,
                            explanation, Plot("GetCount latency vs un-rolled events", "events", "ms",
                                              [Series("accurate GetCount", points)], log_x=True),
                            figures={"read_ms": [r[4] for r in rows]}, params={"sizes": sizes})


def run_e9(*, scale: float, seed: int, progress: Progress, redis_url: str | None) -> ExperimentResult:
    duration = 2.0 * scale
    rate = 800  # triggers/s, each for a distinct counter (no coalescing possible)
    store_delay = 0.0025  # a slowed store: ~400 rollups/s at most
    rows, series = [], []
    for i, (label, capacity) in enumerate([("off (unbounded queue)", None), ("on (bound 100, drop)", 100)]):
        progress(i / 2, f"back-pressure {label}")

        def slow_rollup(namespace: str, counter: str) -> None:
            time.sleep(store_delay)

        queues = RollupQueues(slow_rollup, queues=1, batch=32, capacity=capacity)
        depth: list[tuple[float, float]] = []
        start = time.perf_counter()
        sent = 0
        while (now := time.perf_counter() - start) < duration:
            target = int(now * rate)
            while sent < target:
                queues.trigger("lab", f"c{sent}")
                sent += 1
            if not depth or now - depth[-1][0] >= 0.1:
                depth.append((round(now, 2), queues.depth()))
            time.sleep(0.002)
        final_depth = queues.depth()
        lat = queues.stats.latencies
        rows.append([label, sent, queues.stats.rollups, queues.stats.dropped, final_depth,
                     round(percentile(lat, 50) * 1e3), round(percentile(lat, 99) * 1e3)])
        series.append(Series(label, depth))
        queues.stop()
    progress(1.0, "done")
    explanation = (
        f"Rollup triggers arrive at {rate}/s but the slowed store completes about {1 / store_delay:.0f} rollups/s. "
        "Without back-pressure the queue absorbs the difference: it grows without bound, and the time from a trigger to "
        f"its rollup grows with it (p99 {rows[0][6]} ms after {duration:g} s, and still rising). With a bounded queue "
        f"that refuses what it cannot hold, depth and latency stay flat (p99 {rows[1][6]} ms); the dropped triggers cost "
        "nothing durable, because the events are in the log and the next read or write of the counter triggers a "
        "rollup again (Netflix's rollup queues are in memory for this reason).")
    return ExperimentResult(["back-pressure", "triggers", "rollups", "dropped", "queue at end", "lag p50 ms",
                             "lag p99 ms"], rows, explanation,
                            Plot("rollup queue depth over time", "seconds", "queued", series),
                            figures={"p99_ms_off": rows[0][6], "p99_ms_on": rows[1][6], "depth_off": rows[0][4],
                                     "depth_on": rows[1][4]}, params={"duration_s": duration, "rate": rate})
