"""E4 (accept_limit and skew margin vs clock skew) and E8 (racing rollups, mutable vs immutable window)."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from learnbackend.counter.counters import CounterEngine, EngineOptions
from learnbackend.counter.eventlog import LateEvent
from learnbackend.counter.experiments.common import ExperimentResult, Plot, Progress, Series, workdir
from learnbackend.counter.namespaces import NamespaceConfig
from learnbackend.counter.rollup import rollup_counter
from learnbackend.counter.tokens import new_token, now_us


def _skewed_run(db: Path, *, skew_s: float, accept_s: float, margin_s: float, immutable: bool, duration: float,
                rng: random.Random, writers: int = 3, rollers: int = 1, delay_s: float = 0.0) -> dict[str, int]:
    """API nodes with clocks behind by up to ``skew_s`` write; rollers with true clocks roll up meanwhile."""
    config = NamespaceConfig("lab", accept_limit_s=accept_s if immutable else 3600.0, skew_margin_s=margin_s)
    nodes = []
    for i in range(writers):
        offset = -int(skew_s * 1e6 * i / max(1, writers - 1))
        def clock(off: int = offset) -> int:
            return now_us() + off

        engine = CounterEngine(db, options=EngineOptions(rollup="off", store_delay_s=delay_s), clock=clock)
        engine.create_namespace(config)
        nodes.append(engine)
    roller = CounterEngine(db, options=EngineOptions(rollup="off"))
    stop = threading.Event()
    stats = {"acked": 0, "rejected": 0}
    lock = threading.Lock()

    def write(engine: CounterEngine) -> None:
        while not stop.is_set():
            try:
                engine.add_count("lab", "c", 1, new_token(engine.clock()))
                with lock:
                    stats["acked"] += 1
            except LateEvent:
                with lock:
                    stats["rejected"] += 1

    def roll() -> None:
        while not stop.is_set():
            rollup_counter(roller.read_store, config, "c", now_us(), immutable=immutable)
            time.sleep(0.002 + rng.random() * 0.003)

    threads = [threading.Thread(target=write, args=(e,)) for e in nodes]
    threads += [threading.Thread(target=roll) for _ in range(rollers)]
    for t in threads:
        t.start()
    time.sleep(duration)
    stop.set()
    for t in threads:
        t.join()
    time.sleep((config.lag_us / 1e6 if immutable else 0.0) + skew_s + 0.02)
    final = rollup_counter(roller.read_store, config, "c", now_us(), immutable=immutable)
    stored = roller.store.count_events("lab")
    for e in [*nodes, roller]:
        e.close()
    return {"acked": stats["acked"], "rejected": stats["rejected"], "counted": final.count, "stored": stored}


def run_e4(*, scale: float, seed: int, progress: Progress, redis_url: str | None) -> ExperimentResult:
    rng = random.Random(seed)
    skews = [0.0, 0.1]
    accept = 0.05
    settings = [("lag 0 (no window)", False, 0.0), ("accept 50ms, margin 0", True, 0.0),
                ("accept 50ms, margin 100ms", True, 0.1), ("accept 50ms, margin 250ms", True, 0.25)]
    duration = 0.5 * scale
    rows: list[list[object]] = []
    series: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in settings}
    with workdir() as root:
        steps, done = len(skews) * len(settings), 0
        for skew in skews:
            for name, immutable, margin in settings:
                progress(done / steps, f"skew {skew * 1e3:.0f} ms, {name}")
                r = _skewed_run(root / f"{done}.db", skew_s=skew, accept_s=accept, margin_s=margin, immutable=immutable,
                                duration=duration, rng=rng)
                lost = r["acked"] - r["counted"]
                rows.append([f"{skew * 1e3:.0f} ms", name, r["acked"], r["rejected"], r["counted"], lost,
                             f"{lost / max(1, r['acked']):.1%}"])
                series[name].append((skew * 1e3, lost / max(1, r["acked"]) * 100))
                done += 1
    progress(1.0, "done")
    explanation = (
        "Three API nodes stamp events with their own clocks (the slowest up to the skew behind); a rollup worker with "
        "the true clock keeps rolling up. With no window (rollup up to 'now') an event acknowledged a moment after the "
        "checkpoint passed its timestamp is never counted: it is silently lost, even without skew (a write in flight) "
        "and far more with it. An accept limit makes each node refuse events older than its own now - accept_limit "
        "(the 'rejected' column: loud, retryable), but a node whose clock is behind still accepts events that the "
        "worker already considers final. A skew margin (the lab's addition, not Netflix's) at least as large as the "
        "skew closes the gap: lost = 0. The price is lag: the count trails real time by accept_limit + margin.")
    return ExperimentResult(["skew", "window", "acked", "rejected", "counted", "silently lost", "lost %"], rows,
                            explanation,
                            Plot("silently lost % vs clock skew", "skew ms", "lost %",
                                 [Series(k, v) for k, v in series.items()]),
                            figures={"rows": len(rows)}, params={"skews_s": skews, "accept_limit_s": accept,
                                                                  "duration_s": duration})


def run_e8(*, scale: float, seed: int, progress: Progress, redis_url: str | None) -> ExperimentResult:
    rng = random.Random(seed)
    duration = 0.8 * scale
    rows = []
    with workdir() as root:
        for i, (name, immutable) in enumerate([("mutable (up to now)", False), ("immutable (now - 60ms)", True)]):
            progress(i / 2, name)
            r = _skewed_run(root / f"{i}.db", skew_s=0.0, accept_s=0.04, margin_s=0.02, immutable=immutable,
                            duration=duration, rng=rng, writers=4, rollers=2, delay_s=0.002)
            rows.append([name, r["acked"], r["stored"], r["counted"], r["acked"] - r["counted"]])
    progress(1.0, "done")
    explanation = (
        "Four writers append (each commit takes a couple of milliseconds), two rollup workers race on the same counter. "
        "Over a mutable window each worker sums the events it can see up to 'now' and moves the checkpoint to 'now', "
        "but events stamped just before 'now' are still being committed: they land behind the checkpoint and no "
        "rollup will ever read them. Both workers 'succeed', and the total is wrong for good. Over an immutable "
        "window (ending accept_limit in the past, with late events rejected, minus the lab's skew margin) every worker "
        "sees exactly the "
        "same events, whichever wins the race: the result converges to the exact count, with no locks.")
    return ExperimentResult(["window", "acked", "events in log", "rolled-up count", "missing"], rows, explanation,
                            figures={"missing_mutable": rows[0][4], "missing_immutable": rows[1][4]},
                            params={"duration_s": duration})
