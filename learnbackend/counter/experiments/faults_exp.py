"""E2: lost requests and lost acknowledgements, with and without client retries."""

from __future__ import annotations

import random

from learnbackend.counter.designs import make_design
from learnbackend.counter.experiments.common import ExperimentResult, Plot, Progress, Series, redis_for, workdir
from learnbackend.counter.faults import FaultPlan, deliver


def run_e2(*, scale: float, seed: int, progress: Progress, redis_url: str | None) -> ExperimentResult:
    losses = [0.0, 0.05, 0.10, 0.20]
    designs = ["single-row", "sharded", "redis-incr", "pn-counter", "event-log"]
    n = max(50, int(600 * scale))
    url, stop_redis = redis_for(redis_url)
    notes = [] if url else ["redis-server not found: the redis-incr design was skipped."]
    if not url:
        designs.remove("redis-incr")
    rows, series = [], []
    try:
        with workdir() as root:
            steps, done = len(designs) * len(losses) * 2, 0
            for name in designs:
                for retries in (0, 5):
                    points = []
                    for loss in losses:
                        progress(done / steps, f"{name}, {loss:.0%} lost, {'retries' if retries else 'no retries'}")
                        rng = random.Random(f"{seed}-{name}-{loss}-{retries}")
                        plan = FaultPlan(lost_request=loss, lost_ack=loss, retries=retries)
                        design = make_design(name, root / f"{name}-{loss}-{retries}", redis_url=url)
                        try:
                            acked = sum(deliver(design, "c", 1, plan, rng).acknowledged for _ in range(n))
                            design.settle()
                            counted = design.get("c")
                        finally:
                            design.close()
                        error = (counted - n) / n * 100
                        rows.append([name, f"{loss:.0%}", "yes" if retries else "no", n, acked, counted, f"{error:+.1f}%"])
                        points.append((loss * 100, error))
                        done += 1
                    series.append(Series(f"{name} {'+retry' if retries else 'no retry'}", points))
    finally:
        stop_redis()
    progress(1.0, "done")
    log_with_retry = next(s for s in series if s.name == "event-log +retry")
    explanation = (
        "Each attempt loses the request with probability x, and independently loses the acknowledgement with "
        "probability x (the write happened; the client cannot know). Without retries every design under-counts by "
        "about x: the client gave up on requests that never arrived. With retries the client keeps the SAME token and "
        "tries again: the designs that are not idempotent apply the write a second time whenever only the ack was lost, "
        "and over-count by about x. The event log stores the token as the event's key, so the replay is a no-op: "
        f"its error with retries is {', '.join(f'{p[1]:+.1f}%' for p in log_with_retry.points)} across the loss rates.")
    return ExperimentResult(["design", "lost", "retries", "intended", "acked", "counted", "error"], rows, explanation,
                            Plot("error % vs loss % (intended = 100%)", "loss %", "error %",
                                 [s for s in series if s.name.endswith("+retry")]),
                            figures={"exact_with_retries": [s.name for s in series if all(p[1] == 0 for p in s.points)]},
                            params={"increments": n, "losses": losses}, notes=notes)
