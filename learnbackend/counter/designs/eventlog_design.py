"""The Netflix design as a lab design: the counter engine with one eventual namespace."""

from __future__ import annotations

import time
from pathlib import Path

from learnbackend.counter.counters import CounterEngine, EngineOptions
from learnbackend.counter.namespaces import NamespaceConfig
from learnbackend.counter.tokens import Token

NAMESPACE = "lab"


class EventLogDesign:
    idempotent = True

    def __init__(self, path: Path, *, delay_s: float = 0.0, accept_limit_s: float = 0.2, skew_margin_s: float = 0.05,
                 rollup: str = "thread", **_: object) -> None:
        self.name = "event-log"
        self.engine = CounterEngine(path, options=EngineOptions(store_delay_s=delay_s, rollup=rollup, coalesce_s=0.01))
        self.config = self.engine.create_namespace(
            NamespaceConfig(NAMESPACE, "eventual", accept_limit_s=accept_limit_s, skew_margin_s=skew_margin_s))

    def add(self, counter: str, delta: int, token: Token) -> None:
        self.engine.add_count(NAMESPACE, counter, delta, token)

    def get(self, counter: str) -> int:
        return self.engine.get_count(NAMESPACE, counter).count

    def settle(self) -> None:
        """Wait out the immutable-window lag, then roll every counter up."""
        time.sleep(self.config.lag_us / 1e6 + 0.01)
        if self.engine.queues is not None:
            self.engine.queues.drain()
        for counter in self.engine.read_store.counters(NAMESPACE):
            self.engine.rollup(NAMESPACE, counter)

    def close(self) -> None:
        self.engine.close()
