"""The load generator: N concurrent clients, an optional rate, key skew and a retry policy.

Engine only: it calls ``on_tick(snapshot)`` about every 0.25 s and returns a
LoadReport; the CLI draws the dashboard. Targets the counter service
(``http://``) or Redis INCRBY (``redis://``) through the same code.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from learnbackend.counter.client import CounterClient, RedisIncrClient, RequestFailed
from learnbackend.counter.experiments.common import percentile
from learnbackend.errors import EnvironmentMissing, UsageError

RETRY_POLICIES = ("none", "same-token", "new-token")


@dataclass(frozen=True)
class LoadConfig:
    url: str
    concurrency: int = 16
    rate: float = 0.0  # requests/s over all clients; 0 = as fast as possible (closed loop)
    duration: float = 5.0
    counters: int = 100
    skew: float = 1.0  # Zipf exponent over the counters; 0 = uniform
    retry: str = "same-token"
    max_retries: int = 3
    timeout: float = 2.0
    namespace: str = "default"
    seed: int = 7
    settle_s: float = 5.0  # how long to wait for the count to catch up at the end


@dataclass
class Snapshot:
    elapsed: float
    duration: float
    rate: float
    p50_ms: float
    p99_ms: float
    acked: int
    errors: int
    in_flight: int
    history: list[float]


@dataclass
class LoadReport:
    url: str
    concurrency: int
    counters: int
    skew: float
    sent: int = 0
    acked: int = 0
    errors: int = 0
    retries: int = 0
    elapsed: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    acked_increments: int = 0
    counted: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    #: Ctrl-C stopped the run early: the figures cover the part that ran.
    interrupted: bool = False

    @property
    def throughput(self) -> float:
        return self.acked / self.elapsed if self.elapsed else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["throughput"] = self.throughput
        return data


def check_config(config: LoadConfig) -> LoadConfig:
    if config.retry not in RETRY_POLICIES:
        raise UsageError(f"Unknown retry policy {config.retry!r}.", fix=f"Use one of: {', '.join(RETRY_POLICIES)}.")
    for bad, message in ((not 1 <= config.concurrency <= 1024, f"--concurrency must be 1..1024 (got {config.concurrency})."),
                         (config.duration <= 0, f"--duration must be more than 0 seconds (got {config.duration:g})."),
                         (config.counters < 1, f"--counters must be at least 1 (got {config.counters})."),
                         (config.rate < 0, f"--rate must be 0 (as fast as possible) or more (got {config.rate:g}).")):
        if bad:
            raise UsageError(message)
    if not config.url.startswith(("http://", "redis://")):
        raise UsageError(f"Unsupported target {config.url!r}.", fix="Use http://127.0.0.1:PORT or redis://127.0.0.1:PORT.")
    return config


def ensure_reachable(url: str, timeout: float = 2.0) -> None:
    """Raise EnvironmentMissing unless something accepts TCP connections at ``url``.

    Without this, a wrong --url produced a full report of connection errors and exit code 0.
    """
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    default_port = 6379 if parts.scheme == "redis" else 80
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise UsageError(f"Bad target {url!r} ({exc}).", fix="Use http://127.0.0.1:PORT or redis://127.0.0.1:PORT.") from None
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            pass
    except OSError as exc:
        fix = ("Start Redis there, or leave the option out: the lab then starts what it needs." if parts.scheme == "redis"
               else "Start one (learnbackend counter serve), or omit --url to let load start its own.")
        raise EnvironmentMissing(f"Nothing answers at {url} ({exc}).", fix=fix) from None


def run_load(config: LoadConfig, on_tick: Callable[[Snapshot], None] | None = None) -> LoadReport:
    """Run the load (blocking) and return the final report."""
    check_config(config)
    return asyncio.run(_run(config, on_tick))


async def _run(config: LoadConfig, on_tick: Callable[[Snapshot], None] | None) -> LoadReport:
    rng = random.Random(config.seed)
    weights = [1 / (r ** config.skew) for r in range(1, config.counters + 1)]
    run = f"load{int(time.time() * 1000) % 10**9:09d}"  # fresh counters each run: the report compares like with like
    keys = [f"{run}-c{k}" for k in rng.choices(range(config.counters), weights=weights, k=50_000)]
    make = RedisIncrClient if config.url.startswith("redis://") else CounterClient
    report = LoadReport(config.url, config.concurrency, config.counters, config.skew)
    latencies: list[float] = []
    recent: list[float] = []
    tally: Tally[str] = Tally()
    acked_by_key: Tally[str] = Tally()
    state = {"next": 0, "in_flight": 0}
    start = time.perf_counter()
    deadline = start + config.duration
    stop = _stop_on_ctrl_c(report)

    async def worker(index: int) -> None:
        client = make(config.url, config.namespace)
        try:
            while True:
                i = state["next"]
                state["next"] += 1
                if report.interrupted:
                    return
                if config.rate:
                    due = start + i / config.rate
                    if due >= deadline:
                        return
                    if due > time.perf_counter():
                        await asyncio.sleep(due - time.perf_counter())
                elif time.perf_counter() >= deadline:
                    return
                key = keys[i % len(keys)]
                token = CounterClient.new_token() if make is CounterClient else None
                state["in_flight"] += 1
                t0 = time.perf_counter()
                for attempt in range(config.max_retries + 1 if config.retry != "none" else 1):
                    report.sent += 1
                    if attempt:
                        report.retries += 1
                        if config.retry == "new-token" and token is not None:
                            token = CounterClient.new_token()  # the classic bug: a retry that is a new request
                    try:
                        await client.add(key, 1, token, config.timeout)
                    except RequestFailed as exc:
                        tally[exc.kind] += 1
                        if 400 <= exc.status < 500:
                            break  # the server said no: retrying the same request will not help
                        continue
                    lat = time.perf_counter() - t0
                    latencies.append(lat)
                    recent.append(lat)
                    report.acked += 1
                    acked_by_key[key] += 1
                    break
                else:
                    report.errors += 1
                state["in_flight"] -= 1
        finally:
            client.close()

    async def ticker() -> None:
        history: list[float] = []
        last_acked, last_t = 0, start
        while True:
            await asyncio.sleep(0.25)
            now = time.perf_counter()
            rate = (report.acked - last_acked) / (now - last_t)
            last_acked, last_t = report.acked, now
            history.append(rate)
            window = recent[-5000:]
            recent.clear()
            if on_tick:
                on_tick(Snapshot(now - start, config.duration, rate, percentile(window, 50) * 1e3,
                                 percentile(window, 99) * 1e3, report.acked, report.errors + sum(tally.values()),
                                 state["in_flight"], history))

    tick = asyncio.create_task(ticker())
    try:
        await asyncio.gather(*(worker(i) for i in range(config.concurrency)))
    finally:
        tick.cancel()
        stop()
    report.elapsed = time.perf_counter() - start
    report.p50_ms = percentile(latencies, 50) * 1e3
    report.p99_ms = percentile(latencies, 99) * 1e3
    report.max_ms = max(latencies, default=0.0) * 1e3
    report.error_kinds = dict(tally)
    report.acked_increments = report.acked
    report.counted = await _settle(config, make, acked_by_key)
    return report


def _stop_on_ctrl_c(report: LoadReport) -> Callable[[], None]:
    """The first Ctrl-C ends the run early but cleanly (a partial report); a second one interrupts at once.

    Returns the function that restores Ctrl-C's usual meaning.
    """
    import signal

    loop = asyncio.get_running_loop()

    def restore() -> None:
        try:
            loop.remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError, ValueError):
            pass

    def first_ctrl_c() -> None:
        report.interrupted = True
        restore()

    try:
        loop.add_signal_handler(signal.SIGINT, first_ctrl_c)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread: Ctrl-C keeps its meaning
        pass
    return restore


async def _settle(config: LoadConfig, make: Any, acked: Tally[str]) -> int:
    """Read every counter until the total matches the acknowledged increments or settle_s passes."""
    client = make(config.url, config.namespace)
    try:
        deadline = time.perf_counter() + config.settle_s
        while True:
            total = 0
            for key in acked:
                total += await client.get(key)
            if total >= sum(acked.values()) or time.perf_counter() >= deadline:
                return total
            await asyncio.sleep(0.2)
    except (OSError, RequestFailed):
        return -1
    finally:
        client.close()
