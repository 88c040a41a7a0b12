"""`counter cluster`: N counter nodes on 127.0.0.1 behind a gateway, over one PostgreSQL (and Redis).

As at Netflix: the nodes are stateless API servers, each with its own
in-memory rollup queues; the event log and the rollup store are shared
(PostgreSQL here, Cassandra there); Redis is the cache (EVCache's role). With
no ``store`` the lab starts its own PostgreSQL in a temp dir; with no ``cache``
it starts a throw-away redis-server when one is installed. Everything the
cluster starts is stopped and removed by :meth:`Cluster.stop`.

The same nodes pointed at a PostgreSQL and a Redis on other machines
(``--store postgresql://... --cache redis://...``) make a multi-machine
deployment: start ``counter cluster`` on each machine with the same URLs.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from learnbackend.counter.node import CACHE_ENV, STORE_ENV
from learnbackend.counter.processes import kill9, spawn, stop
from learnbackend.counter.redis_server import free_port
from learnbackend.counter.server import HOST, port_free
from learnbackend.errors import EnvironmentMissing, UsageError

MAX_NODES = 16
WORKDIR_PREFIX = "learnbackend-counter-cluster-"


def reap_workdirs() -> int:
    """Remove the log dirs of clusters whose lab process died without cleaning up (its nodes and gateway exit
    by themselves when orphaned; its PostgreSQL is reaped by postgres_server.reap_orphans)."""
    from learnbackend.liveness import process_alive

    removed = 0
    for directory in Path(tempfile.gettempdir()).glob(WORKDIR_PREFIX + "*"):
        try:
            owner = int((directory / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if not process_alive(owner):
            shutil.rmtree(directory, ignore_errors=True)
            removed += 1
    return removed


@dataclass
class ClusterConfig:
    nodes: int = 3
    port: int = 0  # the gateway's port; 0 = a free one
    store: str | None = None  # postgresql://...; None = start a lab PostgreSQL
    cache: str | None = "auto"  # redis://... | "auto" (start one if redis-server exists) | None (no cache)
    sweep_s: float = 2.0  # how often each node re-queues counters behind their last write (0 = never)
    gateway_timeout_s: float = 10.0  # a node that does not answer in time: 504 (a GET goes to the next node)


def check_cluster_config(config: ClusterConfig) -> ClusterConfig:
    """Refuse bad options before anything starts (exit 2)."""
    from learnbackend.counter.store_postgres import is_postgres_url

    if not 1 <= config.nodes <= MAX_NODES:
        raise UsageError(f"--nodes must be 1..{MAX_NODES} (got {config.nodes}).")
    if config.store is not None and not is_postgres_url(config.store):
        raise UsageError(f"--store must be a postgresql:// URL (got {config.store!r}).",
                         fix="For example: --store postgresql://USER:PASSWORD@HOST:5432/DB, or leave it out.")
    if config.cache not in (None, "auto") and not str(config.cache).startswith("redis://"):
        raise UsageError(f"--cache must be a redis:// URL, auto or none (got {config.cache!r}).")
    if config.port and not port_free(config.port):
        raise UsageError(f"Port {config.port} on {HOST} is in use.", fix="Pick another with --port.")
    return config


@dataclass
class NodeProcess:
    index: int
    port: int
    log: Path
    proc: Any = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Cluster:
    config: ClusterConfig
    nodes: list[NodeProcess] = field(default_factory=list)
    gateway: Any = None
    gateway_port: int = 0
    store_url: str = ""
    cache_url: str | None = None
    workdir: Path | None = None
    _postgres: Any = None
    _redis: Any = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.gateway_port}"

    @property
    def postgres_pid(self) -> int | None:
        return self._postgres.pid if self._postgres is not None else None

    def start(self, timeout: float = 60.0) -> Cluster:
        """Start the store (unless given), the cache (auto), the nodes and the gateway; stop all on failure."""
        check_cluster_config(self.config)
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        from learnbackend.counter.store_postgres import PostgresStore

        reap_workdirs()
        self.workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        (self.workdir / "owner.pid").write_text(str(os.getpid()))
        if self.config.store is None:
            from learnbackend.counter.postgres_server import start_postgres

            self._postgres = start_postgres()
            self.store_url = self._postgres.url
        else:
            self.store_url = self.config.store
        PostgresStore(self.store_url).close()  # the schema, once, before the nodes race to it
        if self.config.cache == "auto":
            from learnbackend.counter.redis_server import redis_available, start_redis

            if redis_available():
                self._redis = start_redis()
                self.cache_url = self._redis.url
        elif self.config.cache is not None:
            from learnbackend.counter.load import ensure_reachable

            ensure_reachable(self.config.cache)
            self.cache_url = self.config.cache
        self.nodes = [NodeProcess(i, free_port(), self.workdir / f"node{i}.log") for i in range(self.config.nodes)]
        for node in self.nodes:
            self._spawn(node)
        for node in self.nodes:
            self._wait(node, timeout)
        self.gateway_port = self.config.port or free_port()
        argv = [sys.executable, "-m", "learnbackend.counter.gateway", "--port", str(self.gateway_port),
                "--timeout", str(self.config.gateway_timeout_s)]
        for node in self.nodes:
            argv += ["--node", node.url]
        with open(self.workdir / "gateway.log", "ab") as log:  # the child keeps its own copy of the descriptor
            self.gateway = spawn(argv, stdout=log, stderr=_stdout())
        self._wait_url(self.url + "/gateway/health", self.gateway, self.workdir / "gateway.log", timeout)

    def _spawn(self, node: NodeProcess) -> None:
        env = {**os.environ, STORE_ENV: self.store_url, CACHE_ENV: self.cache_url or ""}
        argv = [sys.executable, "-m", "learnbackend.counter.node", "--port", str(node.port),
                "--sweep-s", str(self.config.sweep_s)]
        with open(node.log, "ab") as log:
            node.proc = spawn(argv, env=env, stdout=log, stderr=_stdout())
        node.starts += 1

    def _wait(self, node: NodeProcess, timeout: float) -> None:
        self._wait_url(node.url + "/healthz", node.proc, node.log, timeout)

    @staticmethod
    def _wait_url(url: str, proc: Any, log: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
                raise EnvironmentMissing(f"A cluster process exited (code {proc.returncode}): {tail}",
                                         fix=f"See its log: {log}")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise EnvironmentMissing(f"{url} did not answer in {timeout:g} s.", fix=f"See its log: {log}")

    def kill9(self, index: int) -> None:
        """kill -9 one node: its in-memory rollup queues are gone with it."""
        node = self.nodes[index]
        if node.proc is not None:
            kill9(node.proc)

    def restart(self, index: int, timeout: float = 30.0) -> None:
        """Start a killed (or stopped) node again on the same port."""
        node = self.nodes[index]
        if node.alive:
            return
        self._spawn(node)
        self._wait(node, timeout)

    def pids(self) -> list[int]:
        """Every process the cluster runs (nodes, gateway, postgres, redis)."""
        found = [n.proc.pid for n in self.nodes if n.alive]
        if self.gateway is not None and self.gateway.poll() is None:
            found.append(self.gateway.pid)
        if self._postgres is not None and self._postgres.process.poll() is None:
            found.append(self._postgres.pid)
        if self._redis is not None and self._redis.process.poll() is None:
            found.append(self._redis.process.pid)
        return found

    def stop(self) -> None:
        """Stop the gateway, the nodes, then the cache and the store we started; remove the workdir."""
        if self.gateway is not None:
            stop(self.gateway)
        for node in self.nodes:
            if node.proc is not None:
                stop(node.proc)
        if self._redis is not None:
            self._redis.stop()
            self._redis = None
        if self._postgres is not None:
            self._postgres.stop()
            self._postgres = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stdout() -> int:
    import subprocess

    return subprocess.STDOUT
