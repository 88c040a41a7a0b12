"""What an experiment returns, and the measuring helpers they share."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from learnbackend.counter.designs.base import Design
from learnbackend.counter.tokens import new_token

Progress = Callable[[float, str], None]


@dataclass
class Series:
    """One curve of a plot."""

    name: str
    points: Sequence[tuple[float, float]]


@dataclass
class Plot:
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    log_x: bool = False


@dataclass
class ExperimentResult:
    """Figures, a table, maybe a plot, and what they mean."""

    columns: list[str]
    rows: list[list[Any]]
    explanation: str
    plot: Plot | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    id: str = ""
    title: str = ""
    shows: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextmanager
def workdir(prefix: str = "learnbackend-counter-") -> Iterator[Path]:
    """A temporary directory removed afterwards (also on Ctrl-C)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class WriteRun:
    acked: int
    elapsed: float
    latencies: list[float]
    errors: int

    @property
    def throughput(self) -> float:
        return self.acked / self.elapsed if self.elapsed else 0.0


def hammer(design: Design, writers: int, duration: float, counter: Callable[[int], str] = lambda i: "hot") -> WriteRun:
    """``writers`` threads add 1 as fast as they can for ``duration`` seconds (closed loop)."""
    stop = threading.Event()
    lock = threading.Lock()
    latencies: list[float] = []
    counts = [0, 0]

    def work(index: int) -> None:
        local: list[float] = []
        acked = errors = 0
        n = 0
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                design.add(counter(index * 1_000_003 + n), 1, new_token())
                acked += 1
                local.append(time.perf_counter() - t0)
            except Exception:  # noqa: BLE001 - any failed request is an error in the experiment's tally
                errors += 1
            n += 1
        with lock:
            latencies.extend(local)
            counts[0] += acked
            counts[1] += errors

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(writers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(duration)
    stop.set()
    for t in threads:
        t.join()
    return WriteRun(counts[0], time.perf_counter() - start, latencies, counts[1])


def hammer_redis(url: str, key: str, writers: int, duration: float) -> WriteRun:
    """``writers`` asyncio connections send INCRBY in a closed loop (one event loop, no threads:
    threads would measure the GIL, not Redis)."""
    import asyncio

    from learnbackend.counter.client import RedisIncrClient, RequestFailed

    async def run() -> WriteRun:
        latencies: list[float] = []
        counts = [0, 0]
        deadline = time.perf_counter() + duration

        async def work() -> None:
            client = RedisIncrClient(url, namespace="exp")
            client.prefix = key + ":"
            try:
                while time.perf_counter() < deadline:
                    t0 = time.perf_counter()
                    try:
                        await client.add("hot", 1, None, 5.0)
                        counts[0] += 1
                        latencies.append(time.perf_counter() - t0)
                    except RequestFailed:
                        counts[1] += 1
            finally:
                client.close()

        start = time.perf_counter()
        await asyncio.gather(*(work() for _ in range(writers)))
        return WriteRun(counts[0], time.perf_counter() - start, latencies, counts[1])

    return asyncio.run(run())


def redis_for(redis_url: str | None) -> tuple[str | None, Callable[[], None]]:
    """A Redis URL to use: the given one, a throw-away server if redis-server exists, else None."""
    if redis_url:
        return redis_url, lambda: None
    from learnbackend.counter.redis_server import redis_available, start_redis

    if not redis_available():
        return None, lambda: None
    server = start_redis()
    return server.url, server.stop
