"""The counter designs compared in the lab, each a real implementation over real storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from learnbackend.counter.designs.base import Design

#: name -> one line on how it works (shown in tables and `counter experiments`).
DESIGNS: dict[str, str] = {
    "single-row": "one row, updated under a row lock",
    "cas-row": "one row, compare-and-swap with retry",
    "sharded": "K rows, add to a random shard, sum on read",
    "in-memory": "per-instance buffer, flushed to the store periodically",
    "redis-incr": "Redis INCRBY (best effort)",
    "pn-counter": "PN-counter CRDT over 3 replicas, merged by max",
    "event-log": "event log + idempotency tokens + rollup (Netflix)",
}


def make_design(name: str, directory: Path, *, delay_s: float = 0.0, redis_url: str | None = None,
                **options: Any) -> Design:
    """Build a design by name, storing under ``directory``."""
    from learnbackend.errors import EnvironmentMissing, UsageError

    directory.mkdir(parents=True, exist_ok=True)
    if name in ("single-row", "cas-row"):
        from learnbackend.counter.designs.single_row import SingleRowDesign

        return SingleRowDesign(directory / "single.db", cas=(name == "cas-row"), delay_s=delay_s)
    if name == "sharded":
        from learnbackend.counter.designs.sharded import ShardedDesign

        return ShardedDesign(directory / "sharded.db", shards=int(options.get("shards", 8)), delay_s=delay_s)
    if name == "in-memory":
        from learnbackend.counter.designs.inmemory import InMemoryAggregation

        return InMemoryAggregation(directory / "inmemory.db", flush_s=float(options.get("flush_s", 0.5)), delay_s=delay_s)
    if name == "redis-incr":
        if not redis_url:
            raise EnvironmentMissing("The redis-incr design needs a Redis server.", fix="Install redis-server.")
        import zlib

        from learnbackend.counter.designs.redis_incr import RedisIncrDesign

        return RedisIncrDesign(redis_url, key_prefix=f"lbdesign:{zlib.crc32(str(directory.resolve()).encode()):08x}")
    if name == "pn-counter":
        from learnbackend.counter.designs.pncounter import PNCounterDesign

        return PNCounterDesign(replicas=int(options.get("replicas", 3)), delay_s=delay_s, path=directory / "pn.db")
    if name == "event-log":
        from learnbackend.counter.designs.eventlog_design import EventLogDesign

        return EventLogDesign(directory / "events.db", delay_s=delay_s, **options)
    raise UsageError(f"Unknown design {name!r}.", fix=f"Use one of: {', '.join(DESIGNS)}.")
