"""The rollup process: drains durable rollup triggers and rolls counters up.

Run as ``python -m learnbackend.counter.rollup_worker DB``. API processes
started with ``rollup="process"`` write a trigger row in the same transaction as
the events; this process takes them, routes them to its hash-routed coalescing
queues and rolls up. Killing it loses nothing: the triggers are durable, and any
GetCount writes a new one.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

from learnbackend.counter.counters import CounterEngine, EngineOptions, retry_busy


def serve_rollups(db: str, *, poll_s: float = 0.02, redis_url: str | None = None) -> None:
    """Run until SIGTERM/SIGINT.

    A durable trigger stays in the database until a rollup that started after it
    was due has finished: a kill -9 of this process loses none (the next one finds
    them). Each is queued in memory for its due time: at once for a read, when the
    newest event leaves the mutable window for a write. Counters whose checkpoint
    is behind their last write are also found by the engine's sweep.
    """
    engine = CounterEngine(db, redis_url=redis_url, options=EngineOptions(rollup="thread", group_commit=False,
                                                                           coalesce_s=0.0))
    stopping = False
    queued: set[tuple[str, str]] = set()
    lock = threading.Lock()

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    def rollup_then_clear(namespace: str, counter: str) -> None:
        started = engine.clock()
        try:
            engine.rollup(namespace, counter)
            retry_busy(lambda: engine.store.done_trigger(namespace, counter, started))
        finally:
            with lock:
                queued.discard((namespace, counter))

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    parent = os.getppid()
    assert engine.queues is not None
    engine.queues.run = rollup_then_clear
    while not stopping and os.getppid() == parent:  # orphaned (parent killed with -9): leave too
        now = engine.clock()
        fresh = 0
        for namespace, counter, due in engine.store.pending_triggers(1000):
            with lock:
                if (namespace, counter) in queued:
                    continue
                queued.add((namespace, counter))
            fresh += 1
            if not engine.queues.trigger(namespace, counter, max(0.0, (due - now) / 1e6)):
                with lock:
                    queued.discard((namespace, counter))  # back-pressure: taken again on a later poll
        if not fresh:
            time.sleep(poll_s)
    engine.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="learnbackend-counter-rollup")
    parser.add_argument("db")
    parser.add_argument("--redis", default=None)
    args = parser.parse_args(argv)
    serve_rollups(args.db, redis_url=args.redis)
    return 0


if __name__ == "__main__":
    sys.exit(main())
