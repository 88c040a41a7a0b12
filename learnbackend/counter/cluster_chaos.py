"""Breaking the cluster on purpose: node loss under load, and a rollup trigger lost with a node.

Engine only (returns reports; the CLI renders them).

- **Node loss**: N nodes behind the gateway under the lab's load generator
  (same-token retries); one node is killed with -9 mid-run and restarted. The
  final count must equal the distinct acknowledged increments: the shared event
  log keeps every committed event and counts a retried token once, whichever
  node it reaches.
- **Lost trigger**: a counter is written through one node and never read; the
  node is killed -9 before its rollup (the trigger dies with its in-memory
  queue). Without the last-write sweep the checkpoint stays behind until someone
  reads the counter; with it, another node finds the counter (``last_write_ts >
  last_rollup_ts``) and rolls it up, read or not.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from learnbackend.counter.cluster import Cluster, ClusterConfig
from learnbackend.errors import UsageError

Progress = Callable[[float, str], None]


def _quiet(fraction: float, stage: str) -> None:
    pass


@dataclass(frozen=True)
class NodeLossConfig:
    nodes: int = 3
    duration: float = 6.0
    concurrency: int = 16
    #: Enough that every node owns some (the gateway routes by a hash of the counter's name): with 12,
    #: one node in 3 owns none about once in 40 runs, and its kill meets no request.
    counters: int = 48
    kill_at: float = 2.0  # seconds into the load
    down_s: float = 1.0  # how long the node stays dead before its restart
    kill_node: int = 0
    #: Several nodes, one after the other (each restarted before the next is killed); overrides kill_node.
    kill_nodes: tuple[int, ...] = ()
    settle_s: float = 20.0
    store: str | None = None
    cache: str | None = "auto"
    seed: int = 7


@dataclass
class NodeLossReport:
    nodes: int
    killed_node: int
    store: str
    cache: str | None
    sent: int = 0
    acked: int = 0
    errors: int = 0
    retries: int = 0
    counted: int = 0
    throughput: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    restart_s: float = 0.0
    #: (node, seconds into the load) of every kill -9; all inside the load unless the machine was too slow
    kills: list[tuple[int, float]] = field(default_factory=list)
    load_s: float = 0.0
    error_kinds: dict[str, int] = field(default_factory=dict)
    gateway: dict[str, Any] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        """Every acknowledged increment counted once, and no request left unresolved (which might have been)."""
        return self.errors == 0 and self.counted == self.acked

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exact": self.exact}


def run_node_loss(config: NodeLossConfig, progress: Progress = _quiet) -> NodeLossReport:
    """Start a cluster, load it through the gateway, kill -9 one node mid-run, restart it, compare counts."""
    from learnbackend.counter.load import LoadConfig, run_load
    from learnbackend.counter.store_postgres import redact

    victims = config.kill_nodes or (config.kill_node,)
    for victim in victims:
        if not 0 <= victim < config.nodes:
            raise UsageError(f"--kill-node must be 0..{config.nodes - 1} (got {victim}).")
    if not 0 < config.kill_at < config.duration:
        raise UsageError("The kill must fall inside the run (0 < kill_at < duration).")
    progress(0.0, "starting PostgreSQL, nodes and gateway")
    with Cluster(ClusterConfig(nodes=config.nodes, store=config.store, cache=config.cache)) as cluster:
        report = NodeLossReport(config.nodes, victims[0], redact(cluster.store_url), cluster.cache_url)
        failures: list[BaseException] = []

        started = time.monotonic()

        def chaos() -> None:
            try:
                time.sleep(config.kill_at)
                for victim in victims:
                    # Under load: the victim is serving requests now (a node whose counters are rarely drawn,
                    # or a load still starting, could otherwise die and come back unnoticed).
                    served = _gateway_seen(cluster.url, victim, "requests")
                    _wait_for_more(cluster.url, victim, "requests", served)
                    progress(0.3, f"kill -9 node {victim}")
                    report.kills.append((victim, round(time.monotonic() - started, 2)))
                    failed = _gateway_seen(cluster.url, victim, "failures")
                    cluster.kill9(victim)
                    time.sleep(config.down_s)
                    _wait_for_more(cluster.url, victim, "failures", failed)  # dead until the traffic found it dead
                    t0 = time.monotonic()
                    cluster.restart(victim)
                    report.restart_s = max(report.restart_s, time.monotonic() - t0)
                    progress(0.5, f"node {victim} restarted")
                    time.sleep(0.3)
            except BaseException as exc:  # noqa: BLE001 (reported by the caller's thread below)
                failures.append(exc)

        thread = threading.Thread(target=chaos, name="counter-cluster-chaos", daemon=True)
        progress(0.1, "load through the gateway")
        thread.start()
        load = run_load(LoadConfig(cluster.url, concurrency=config.concurrency, duration=config.duration,
                                   counters=config.counters, retry="same-token", max_retries=30, timeout=3.0,
                                   settle_s=config.settle_s, seed=config.seed))
        thread.join()
        if failures:
            raise failures[0]
        progress(0.9, "counting")
        report.load_s = load.elapsed
        report.sent, report.acked, report.errors, report.retries = load.sent, load.acked, load.errors, load.retries
        report.counted, report.throughput = load.counted, load.throughput
        report.p50_ms, report.p99_ms, report.error_kinds = load.p50_ms, load.p99_ms, load.error_kinds
        try:
            report.gateway = httpx.get(cluster.url + "/gateway/health", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            report.gateway = {}
    progress(1.0, "done")
    return report


#: How long the chaos waits for the gateway to send the victim requests (before a kill) or to meet it dead
#: (after one): on a loaded machine a node owning only rarely drawn counters can see no request for a while.
SEEN_WAIT_S = 10.0


def _gateway_seen(url: str, node: int, what: str) -> int:
    """The gateway's tally of ``what`` ("requests" or "failures") for one node (-1 if it does not answer)."""
    try:
        return int(httpx.get(url + "/gateway/health", timeout=2).json()["nodes"][node][what])
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
        return -1


def _wait_for_more(url: str, node: int, what: str, than: int) -> None:
    """Until the gateway's tally of ``what`` for ``node`` passes ``than`` (at most SEEN_WAIT_S)."""
    deadline = time.monotonic() + SEEN_WAIT_S
    while _gateway_seen(url, node, what) <= than and time.monotonic() < deadline:
        time.sleep(0.05)


@dataclass
class TriggerLossRow:
    sweep: str
    written: int
    checkpoint_after_wait: int
    waited_s: float
    converged_after_s: float | None
    after_one_read: int


@dataclass
class TriggerLossReport:
    lag_s: float
    rows: list[TriggerLossRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


LOST_NAMESPACE = {"name": "lost-trigger", "type": "eventual", "accept_limit_s": 1.0, "skew_margin_s": 0.5,
                  "event_buckets": 4}


def run_trigger_loss(*, writes: int = 50, sweep_s: float = 1.0, wait_s: float = 5.0, store: str | None = None,
                     progress: Progress = _quiet) -> TriggerLossReport:
    """Write a counter through node 0, kill -9 node 0 before its rollup, never read; with and without the sweep."""
    from learnbackend.counter.postgres_server import start_postgres
    from learnbackend.counter.store_postgres import PostgresStore

    lag = LOST_NAMESPACE["accept_limit_s"] + LOST_NAMESPACE["skew_margin_s"]  # type: ignore[operator]
    report = TriggerLossReport(float(lag))
    progress(0.0, "starting PostgreSQL")
    server = start_postgres() if store is None else None
    url = server.url if server is not None else str(store)
    try:
        for i, sweep in enumerate((0.0, sweep_s)):
            label = "off" if not sweep else f"every {sweep:g} s"
            progress(0.1 + 0.45 * i, f"last-write sweep {label}")
            with Cluster(ClusterConfig(nodes=2, store=url, cache=None, sweep_s=sweep)) as cluster:
                counter = f"never-read-{uuid.uuid4().hex[:8]}"
                with httpx.Client(base_url=cluster.nodes[0].url, timeout=5) as node0:
                    node0.post("/v1/namespaces", json=LOST_NAMESPACE).raise_for_status()
                    for _ in range(writes):
                        token = {"token": uuid.uuid4().hex, "generation_time": time.time()}
                        node0.post(f"/v1/counters/lost-trigger/{counter}/add",
                                   json={"delta": 1, "token": token}).raise_for_status()
                cluster.kill9(0)  # its queued trigger (due in `lag` s) dies with it
                store_conn = PostgresStore(url)
                try:
                    t0 = time.monotonic()
                    converged = None
                    count = 0
                    while time.monotonic() - t0 < wait_s:  # read the rollup store, not GetCount: no trigger
                        count = store_conn.get_rollup("lost-trigger", counter)[0]
                        if count == writes and converged is None:
                            converged = time.monotonic() - t0
                            break
                        time.sleep(0.1)
                    waited = time.monotonic() - t0
                finally:
                    store_conn.close()
                with httpx.Client(base_url=cluster.nodes[1].url, timeout=5) as node1:  # one read: self-heals
                    after = -1
                    deadline = time.monotonic() + 3 * lag + 2
                    while time.monotonic() < deadline:
                        after = int(node1.get(f"/v1/counters/lost-trigger/{counter}").json()["count"])
                        if after == writes:
                            break
                        time.sleep(0.2)
                report.rows.append(TriggerLossRow(label, writes, count, round(waited, 2),
                                                  None if converged is None else round(converged, 2), after))
    finally:
        if server is not None:
            server.stop()
    report.notes.append(f"The node that took the writes was killed -9 before its rollup, due {lag:g} s after the "
                        "last write: the trigger lived only in its in-memory queue.")
    report.notes.append("checkpoint = the rolled-up count read from the rollup store directly (no GetCount, which "
                        "would trigger a rollup). 'after one read' = GetCount on a surviving node, polled.")
    progress(1.0, "done")
    return report
