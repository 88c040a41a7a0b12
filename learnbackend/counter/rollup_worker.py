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
import time

from learnbackend.counter.counters import CounterEngine, EngineOptions


def serve_rollups(db: str, *, poll_s: float = 0.02, redis_url: str | None = None) -> None:
    """Run until SIGTERM/SIGINT."""
    engine = CounterEngine(db, redis_url=redis_url, options=EngineOptions(rollup="thread", group_commit=False,
                                                                           coalesce_s=0.0))
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    parent = os.getppid()
    assert engine.queues is not None
    while not stopping and os.getppid() == parent:  # orphaned (parent killed with -9): leave too
        taken = engine.store.take_triggers(1000)
        for namespace, counter in taken:  # due once the events behind the trigger are immutable
            engine.queues.trigger(namespace, counter, engine.namespace(namespace).lag_us / 1e6)
        if not taken:
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
