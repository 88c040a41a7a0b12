"""E3: kill -9 a real aggregator process, and a real rollup worker, mid-run."""

from __future__ import annotations

import sys
import time

from learnbackend.counter.counters import CounterEngine, EngineOptions
from learnbackend.counter.experiments.common import ExperimentResult, Progress, workdir
from learnbackend.counter.namespaces import NamespaceConfig
from learnbackend.counter.processes import DesignProcess, kill9, spawn, stop
from learnbackend.counter.tokens import new_token


def _crash_design(name: str, root, n: int, options: dict) -> tuple[int, int]:
    acked = 0
    proc = DesignProcess(name, root / name, options)
    try:
        for i in range(n):
            if i == n // 2 + n // 7:
                proc.kill9()  # mid-run, without warning: nothing gets a chance to flush
                proc = DesignProcess(name, root / name, options)
            proc.add("c", 1, new_token())
            acked += 1
        proc.settle()
        return acked, proc.get("c")
    finally:
        proc.close()


def run_e3(*, scale: float, seed: int, progress: Progress, redis_url: str | None) -> ExperimentResult:
    n = max(100, int(1500 * scale))
    rows = []
    with workdir() as root:
        for i, (name, options) in enumerate([("in-memory", {"flush_s": 0.5}), ("event-log", {})]):
            progress(i / 3, f"{name}: {n} increments, kill -9 at {n // 2 + n // 7}")
            acked, counted = _crash_design(name, root, n, options)
            rows.append([f"{name} process killed", acked, counted, acked - counted, "-"])
        progress(2 / 3, "event log: kill -9 the rollup worker")
        rows.append(_rollup_worker_crash(root, n))
    progress(1.0, "done")
    lost_mem = rows[0][3]
    explanation = (
        f"The in-memory aggregator acknowledges an increment as soon as it is in its buffer and flushes every 0.5 s; the "
        f"kill -9 took the buffer with it: {lost_mem} acknowledged increments are gone for good, and nothing records "
        "that they ever existed. The event-log service acknowledges only after the event is committed, so its kill lost "
        "nothing. Killing the rollup worker loses only the triggers it held, and a trigger is a hint, not data: the "
        "events are all in the log; the count just stops moving (it lags). The next read or write of the counter sends "
        "a new trigger, a worker picks it up, and the count catches up exactly. (Netflix keeps its rollup queues in "
        "memory for this reason; the lab hands triggers to its separate worker through a table, and nothing depends on "
        "that.)")
    return ExperimentResult(["what was killed", "acked", "counted", "lost", "count while worker dead"], rows,
                            explanation, figures={"in_memory_lost": lost_mem, "event_log_lost": rows[1][3],
                                                  "rollup_worker_lost": rows[2][3]}, params={"increments": n})


def _rollup_worker_crash(root, n: int) -> list:
    db = root / "rollup.db"
    engine = CounterEngine(db, options=EngineOptions(rollup="process"))
    engine.create_namespace(NamespaceConfig("lab", accept_limit_s=0.05, skew_margin_s=0.02))
    worker = spawn([sys.executable, "-m", "learnbackend.counter.rollup_worker", str(db)])
    try:
        for i in range(n):
            if i == n // 2:
                time.sleep(0.3)
                engine.get_count("lab", "c")
                time.sleep(0.3)
                kill9(worker)
            engine.add_count("lab", "c", 1)
        time.sleep(0.2)
        while_dead = engine.get_count("lab", "c").count  # stale: nobody rolls up
        worker = spawn([sys.executable, "-m", "learnbackend.counter.rollup_worker", str(db)])
        deadline = time.monotonic() + 15
        counted = engine.get_count("lab", "c").count
        while counted != n and time.monotonic() < deadline:
            time.sleep(0.1)
            counted = engine.get_count("lab", "c").count  # each read triggers a rollup
        counted = engine.read_store.get_rollup("lab", "c")[0]
        return ["event-log rollup worker killed", n, counted, n - counted, while_dead]
    finally:
        stop(worker)
        engine.close()
