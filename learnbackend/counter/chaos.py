"""Chaos: every design in its own process, through lost requests, lost acks, duplicates,
a kill -9 mid-run and skewed client clocks; then acknowledged vs reported, per design.

The client retries with the same token until acknowledged (a killed process is
restarted and the request retried), so "acknowledged" is what a careful client
believes it counted.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from learnbackend.counter.designs import DESIGNS
from learnbackend.counter.experiments.common import redis_for, workdir
from learnbackend.counter.processes import DesignProcess, Refused
from learnbackend.counter.tokens import new_token, now_us
from learnbackend.errors import UsageError


@dataclass(frozen=True)
class ChaosConfig:
    increments: int = 600
    lost_request: float = 0.05
    lost_ack: float = 0.05
    duplicate: float = 0.02
    kill: bool = True
    skew_s: float = 0.5
    retries: int = 30
    seed: int = 7
    designs: tuple[str, ...] = ("single-row", "sharded", "in-memory", "redis-incr", "pn-counter", "event-log")


@dataclass
class ChaosRow:
    design: str
    faults: str
    acknowledged: int
    reported: int
    refused: int = 0
    kills: int = 0


@dataclass
class ChaosReport:
    increments: int
    seed: int
    rows: list[ChaosRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_chaos(config: ChaosConfig, progress: Callable[[float, str], None] = lambda f, s: None,
              redis_url: str | None = None) -> ChaosReport:
    """Run every design through the same seeded faults; blocking."""
    unknown = [d for d in config.designs if d not in DESIGNS]
    if unknown:
        raise UsageError(f"Unknown design(s): {', '.join(unknown)}.", fix=f"Use: {', '.join(DESIGNS)}.")
    report = ChaosReport(config.increments, config.seed)
    designs = list(config.designs)
    url, stop_redis = redis_for(redis_url) if "redis-incr" in designs else (None, lambda: None)
    if "redis-incr" in designs and not url:
        designs.remove("redis-incr")
        report.notes.append("redis-server not found: redis-incr skipped (apt-get install redis-server).")
    faults = (f"req lost {config.lost_request:.0%}, ack lost {config.lost_ack:.0%}, dup {config.duplicate:.0%}"
              + (", kill -9" if config.kill else "") + (f", skew {config.skew_s:g}s" if config.skew_s else ""))
    try:
        with workdir() as root:
            for i, name in enumerate(designs):
                progress(i / len(designs), name)
                options: dict[str, Any] = {"redis_url": url} if name == "redis-incr" else {}
                if name == "in-memory":
                    options["flush_s"] = 0.5
                if name == "event-log":
                    options.update(accept_limit_s=1.0, skew_margin_s=0.2)
                report.rows.append(_one(name, root / name, options, config, faults))
    finally:
        stop_redis()
    progress(1.0, "done")
    report.notes.append("error = reported - acknowledged. Exact means 0 under every fault at once.")
    return report


def _one(name: str, directory: Any, options: dict[str, Any], config: ChaosConfig, faults: str) -> ChaosRow:
    rng = random.Random(f"{config.seed}-{name}")
    proc = DesignProcess(name, directory, options)
    row = ChaosRow(name, faults, 0, 0)
    kill_at = config.increments // 2 + config.increments // 7
    try:
        for i in range(config.increments):
            if config.kill and i == kill_at:
                proc.kill9()
                row.kills += 1
                proc = DesignProcess(name, directory, options)
            token = new_token(now_us() - int(rng.random() * config.skew_s * 1e6))
            for _ in range(config.retries + 1):
                if rng.random() < config.lost_request:
                    continue
                try:
                    proc.add("c", 1, token)
                    if rng.random() < config.duplicate:
                        proc.add("c", 1, token)
                except Refused:
                    row.refused += 1  # rejected as late, so NOT applied: a fresh token is a new request, not a replay
                    token = new_token()
                    continue
                except ConnectionError:
                    proc = DesignProcess(name, directory, options)
                    continue
                if rng.random() < config.lost_ack:
                    continue
                row.acknowledged += 1
                break
        proc.settle()
        row.reported = proc.get("c")
    finally:
        proc.close()
    return row
