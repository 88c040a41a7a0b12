"""Fixtures for the counter lab: a real redis-server and a real HTTP service on free loopback ports."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import need


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throw-away redis-server (no persistence) on a free 127.0.0.1 port."""
    need(shutil.which("redis-server") is not None, "redis-server is not installed (apt-get install redis-server)")
    from learnbackend.counter.redis_server import start_redis

    server = start_redis()
    yield server.url
    server.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[object]:
    from learnbackend.counter.counters import CounterEngine, EngineOptions
    from learnbackend.counter.namespaces import NamespaceConfig

    eng = CounterEngine(tmp_path / "c.db", options=EngineOptions(coalesce_s=0.0))
    eng.create_namespace(NamespaceConfig("views", "eventual", accept_limit_s=0.2, skew_margin_s=0.05))
    eng.create_namespace(NamespaceConfig("exact", "accurate", accept_limit_s=0.2, skew_margin_s=0.05))
    eng.create_namespace(NamespaceConfig("fast", "best_effort"))
    yield eng
    eng.close()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[object]:
    """The real service in a child process (uvicorn, one worker) on a free port."""
    from learnbackend.counter.redis_server import free_port
    from learnbackend.counter.server import ServeConfig, ServiceProcess

    svc = ServiceProcess(ServeConfig(tmp_path / "svc.db", free_port())).start()
    yield svc
    svc.kill9()


@contextmanager
def write_lock_held(db: Path) -> Iterator[None]:
    """Another program holding the SQLite file's write lock (BEGIN IMMEDIATE) until the block ends."""
    blocker = sqlite3.connect(str(db), timeout=5, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
