"""Issue 11's defects F1-F8, each reproduced against the real service over HTTP on 127.0.0.1.

Real uvicorn child processes, real SQLite files, a real redis-server for the Redis keys.
Waits poll the database or the API with generous deadlines: no timing is asserted.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from counter_fixtures import redis_url, service, write_lock_held  # noqa: F401

from learnbackend.counter.redis_server import free_port
from learnbackend.counter.server import ServeConfig, ServiceProcess


def token(at: float | None = None) -> dict:
    return {"token": uuid.uuid4().hex, "generation_time": time.time() if at is None else at}


def rolled_up(db: Path, ns: str, counter: str) -> int | None:
    """The stored rollup count, read straight from the SQLite file (no GetCount: it would trigger a rollup)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute("SELECT count FROM rollups WHERE namespace=? AND counter=?", (ns, counter)).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return None if row is None else int(row[0])


def wait_rolled_up(db: Path, ns: str, counter: str, expected: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    value = rolled_up(db, ns, counter)
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        value = rolled_up(db, ns, counter)
    return value


def wait_count(c: httpx.Client, ns: str, counter: str, expected: int, timeout: float = 15.0) -> int:
    deadline = time.monotonic() + timeout
    value = c.get(f"/v1/counters/{ns}/{counter}").json()["count"]
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        value = c.get(f"/v1/counters/{ns}/{counter}").json()["count"]
    return value


@pytest.fixture
def proc_service(tmp_path: Path) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(ServeConfig(tmp_path / "p.db", free_port(), rollup_process=True)).start()
    yield svc
    svc.kill9()


# --- F1 -------------------------------------------------------------------------------
def test_f1_an_overflowing_generation_time_fails_only_its_own_request(service):
    """10 absurd generation times among 200 concurrent adds: each is a 400, every valid add is acknowledged."""
    bad_times = [1e19, 1e300, "Infinity", 2.0**63, 9.3e18]
    with httpx.Client(base_url=service.url) as c:  # a roomy accept limit: a loaded machine delays no valid add into 409
        assert c.post("/v1/namespaces", json={"name": "f1", "type": "accurate", "accept_limit_s": 600}).status_code == 201
    start = threading.Barrier(32)

    def send(i: int) -> int:
        with httpx.Client(base_url=service.url, timeout=60) as c:
            if i < 32:
                start.wait()  # the first 32 leave together: they share group-commit batches
            if i % 20 == 0:
                gen = bad_times[(i // 20) % len(bad_times)]
                body = f'{{"delta": 1, "token": {{"token": "{uuid.uuid4().hex}", "generation_time": {gen}}}}}'.encode()
            else:
                body = httpx.Request("POST", "/", json={"delta": 1, "token": token()}).content
            return c.post("/v1/counters/f1/f1/add", content=body, headers={"content-type": "application/json"}).status_code

    with ThreadPoolExecutor(32) as pool:
        codes = list(pool.map(send, range(200)))
    bad = [codes[i] for i in range(200) if i % 20 == 0]
    good = [codes[i] for i in range(200) if i % 20]
    assert bad == [400] * 10
    assert good == [200] * 190
    with httpx.Client(base_url=service.url) as c:
        assert c.get("/v1/counters/f1/f1").json()["count"] == 190


def test_f1_a_failing_batch_is_retried_row_by_row(tmp_path):
    """A row the store refuses (here: a delta beyond SQLite's integer range slipped past validation)
    fails alone; its neighbours in the same group-commit batch are written."""
    from learnbackend.counter.counters import CounterEngine, EngineOptions
    from learnbackend.counter.namespaces import NamespaceConfig
    from learnbackend.counter.tokens import new_token

    eng = CounterEngine(tmp_path / "b.db", options=EngineOptions(rollup="off"))
    try:
        eng.create_namespace(NamespaceConfig("n", "accurate"))
        rows = [eng.prepare_add("n", "x", 1, new_token()) for _ in range(20)]
        poisoned = list(rows[7])  # type: ignore[arg-type]
        poisoned[6] = 2**70
        rows[7] = tuple(poisoned)  # type: ignore[assignment]
        outcome = eng.write_rows_each(rows)  # type: ignore[arg-type]
        assert sorted(outcome.errors) == [7]
        assert eng.get_count("n", "x").count == 19
    finally:
        eng.close()


# --- F2 -------------------------------------------------------------------------------
def test_f2_tokens_from_the_future_are_refused_adds_and_clears(service):
    with httpx.Client(base_url=service.url) as c:
        for ahead in (3600.0, 30.0, 1e9):
            r = c.post("/v1/counters/default/f2/add", json={"delta": 1, "token": token(time.time() + ahead)})
            assert r.status_code == 400, (ahead, r.text)
            assert r.json()["error"] == "InvalidTime"
        r = c.post("/v1/counters/default/f2/add", json={"delta": 1, "token": {"token": uuid.uuid4().hex,
                                                                               "generation_time": 2**62 + 2**20}})
        assert r.status_code == 400, r.text
        r = c.post("/v1/counters/accurate/f2/add-and-get", json={"delta": 1, "token": {
            "token": uuid.uuid4().hex, "generation_time": 2**62 + 2**20}})
        assert r.status_code == 400, r.text
        assert c.post("/v1/counters/accurate/f2/clear", json={"token": token(time.time() + 30)}).status_code == 400
        for _ in range(3):
            assert c.post("/v1/counters/accurate/f2/add", json={"delta": 1, "token": token()}).status_code == 200
        assert c.get("/v1/counters/accurate/f2").json()["count"] == 3, "a refused clear from the future erased nothing"


# --- F3 -------------------------------------------------------------------------------
def test_f3_a_burst_then_silence_is_rolled_up_completely_without_a_read(service):
    """40 adds over ~1 s, then no reads at all: the rollup store alone must catch up to 40."""
    with httpx.Client(base_url=service.url) as c:
        for _ in range(40):
            assert c.post("/v1/counters/default/f3/add", json={"delta": 1, "token": token()}).status_code == 200
            time.sleep(0.025)
    assert wait_rolled_up(service.config.db, "default", "f3", 40, timeout=20) == 40
    with httpx.Client(base_url=service.url) as c:
        assert c.get("/v1/counters/default/f3").json()["count"] == 40


# --- F4 -------------------------------------------------------------------------------
def test_f4_redis_keys_of_different_namespaces_never_collide(redis_url, tmp_path):  # noqa: F811
    svc = ServiceProcess(ServeConfig(tmp_path / "r.db", free_port(), redis_url=redis_url)).start()
    try:
        with httpx.Client(base_url=svc.url) as c:
            for name, kind in (("b:y", "best_effort"), ("b", "best_effort"), ("e:y", "eventual"), ("e", "eventual")):
                r = c.post("/v1/namespaces", json={"name": name, "type": kind, "accept_limit_s": 0.1, "skew_margin_s": 0.05})
                assert r.status_code in (200, 201), r.text
            assert c.post("/v1/counters/b:y/z/add", json={"delta": 5}).status_code == 200
            assert c.post("/v1/counters/b/y:z/add", json={"delta": 700}).status_code == 200
            assert c.get("/v1/counters/b:y/z").json()["count"] == 5
            assert c.get("/v1/counters/b/y:z").json()["count"] == 700
            assert c.post("/v1/counters/e:y/z/add", json={"delta": 5, "token": token()}).status_code == 200
            assert c.post("/v1/counters/e/y:z/add", json={"delta": 700, "token": token()}).status_code == 200
            assert wait_count(c, "e:y", "z", 5) == 5
            assert wait_count(c, "e", "y:z", 700) == 700
            assert c.get("/v1/counters/e:y/z").json()["count"] == 5
    finally:
        svc.kill9()


# --- F5 -------------------------------------------------------------------------------
def test_f5_recreating_a_namespace_with_another_config_is_refused(service):
    with httpx.Client(base_url=service.url) as c:
        spec = {"name": "pages", "type": "eventual", "event_buckets": 4}
        assert c.post("/v1/namespaces", json=spec).status_code == 201
        again = c.post("/v1/namespaces", json=spec)
        assert again.status_code == 200 and again.json()["event_buckets"] == 4, "an identical re-create is idempotent"
        changed = c.post("/v1/namespaces", json={**spec, "event_buckets": 7})
        assert changed.status_code == 409, changed.text
        assert changed.json()["error"] == "NamespaceConflict"
        listed = {n["name"]: n for n in c.get("/v1/namespaces").json()}
        assert listed["pages"]["event_buckets"] == 4
        tok = token()
        for _ in range(2):
            assert c.post("/v1/counters/pages/x/add", json={"delta": 1, "token": tok}).status_code == 200
        assert c.post("/v1/counters/pages/x/add-and-get", json={"delta": 0, "token": tok}).json()["count"] == 1


# --- F6 -------------------------------------------------------------------------------
def test_f6_healthz_answers_while_another_connection_holds_the_write_lock(service):
    with httpx.Client(base_url=service.url, timeout=5) as c:
        assert c.post("/v1/counters/accurate/f6/add", json={"delta": 1}).status_code == 200
    results: list[int] = []

    def add(counter: str) -> None:
        with httpx.Client(base_url=service.url, timeout=60) as c:
            results.append(c.post(f"/v1/counters/accurate/{counter}/add", json={"delta": 1}).status_code)

    writers = [threading.Thread(target=add, args=(name,)) for name in ("f6", "f6-new-counter")]
    with write_lock_held(service.config.db):
        for t in writers:
            t.start()
        time.sleep(0.5)  # the adds are now waiting for the lock
        with httpx.Client(base_url=service.url, timeout=3) as c:
            for _ in range(3):
                assert c.get("/healthz").status_code == 200
                assert c.get("/v1/counters/accurate/f6").json()["count"] == 1
        assert results == [], "nothing is acknowledged before it is committed"
    for t in writers:
        t.join(30)
    assert results == [200, 200]
    with httpx.Client(base_url=service.url) as c:
        assert c.get("/v1/counters/accurate/f6").json()["count"] == 2
        assert c.get("/v1/counters/accurate/f6-new-counter").json()["count"] == 1


# --- F7 -------------------------------------------------------------------------------
def test_f7_the_wal_stays_bounded_under_load_and_status_shows_it(service):
    """Writers and readers at once for a few seconds: the WAL is reset and truncated, not grown forever."""
    from conftest import run_cli

    stop = time.monotonic() + 6
    limit = 64 * 1024 * 1024

    def writer(i: int) -> int:
        n = 0
        with httpx.Client(base_url=service.url, timeout=30) as c:
            while time.monotonic() < stop:
                c.post(f"/v1/counters/default/w{i % 64}/add", json={"delta": 1, "token": token()})
                if i % 4 == 0:
                    c.get(f"/v1/counters/default/w{n % 64}")
                n += 1
        return n

    with ThreadPoolExecutor(16) as pool:
        sent = sum(pool.map(writer, range(16)))
    wal = Path(str(service.config.db) + "-wal")
    assert sent > 100
    assert wal.stat().st_size <= limit
    health = httpx.get(service.url + "/healthz").json()
    assert health["wal_bytes"] == wal.stat().st_size or health["wal_bytes"] <= limit
    result = run_cli("counter", "status", "--url", service.url)
    assert result.exit_code == 0, result.stderr
    assert "WAL" in result.stdout


def test_f7_the_database_keeps_a_journal_size_limit(service):
    conn = sqlite3.connect(str(service.config.db))
    try:
        # journal_size_limit is per connection: the service's own connections report theirs in /healthz
        assert 0 < httpx.get(service.url + "/healthz").json()["wal_limit_bytes"] <= 64 * 1024 * 1024
    finally:
        conn.close()


# --- F8 -------------------------------------------------------------------------------
def test_f8_names_with_a_trailing_newline_are_refused(service):
    with httpx.Client(base_url=service.url) as c:
        r = c.post("/v1/counters/default/abc%0A/add", json={"delta": 1})
        assert r.status_code == 422, r.text
        r = c.post("/v1/namespaces", json={"name": "abc\n"})
        assert r.status_code == 422, r.text


def test_f8_chunked_bodies_over_the_limit_get_413(service):
    def chunks() -> Iterator[bytes]:
        yield b'{"delta": 1, "pad": "'
        for _ in range(10):
            yield b"x" * 1024
        yield b'"}'

    with httpx.Client(base_url=service.url) as c:
        for path in ("/v1/counters/default/f8/add", "/v1/counters/default/f8/clear", "/v1/namespaces"):
            r = c.post(path, content=chunks(), headers={"content-type": "application/json"})
            assert "content-length" not in r.request.headers
            assert r.status_code == 413, (path, r.text)
            assert r.json()["error"] == "body_too_large"


def test_f8_rollup_process_rolls_up_when_the_window_closes_not_a_full_lag_later(proc_service):
    """A namespace with a 20 s accept limit and an event stamped 19.5 s ago: its window closes in 0.5 s."""
    svc = proc_service
    with httpx.Client(base_url=svc.url) as c:
        assert c.post("/v1/namespaces", json={"name": "slow", "accept_limit_s": 20, "skew_margin_s": 0}).status_code == 201
        assert c.post("/v1/counters/slow/x/add", json={"delta": 3, "token": token(time.time() - 19.5)}).status_code == 200
        time.sleep(1.0)
        c.get("/v1/counters/slow/x")  # a read trigger
    assert wait_rolled_up(svc.config.db, "slow", "x", 3, timeout=12) == 3


def _rollup_children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "rollup_worker" in line]


def test_f8_durable_triggers_survive_a_killed_rollup_process(proc_service, tmp_path):
    svc = proc_service
    with httpx.Client(base_url=svc.url) as c:
        assert c.post("/v1/namespaces", json={"name": "dur", "accept_limit_s": 2, "skew_margin_s": 0}).status_code == 201
        [worker] = _rollup_children(svc.proc.pid)
        for _ in range(5):
            assert c.post("/v1/counters/dur/x/add", json={"delta": 1, "token": token()}).status_code == 200
    time.sleep(0.5)  # the worker has taken the triggers into its in-memory queues (due in 2 s)
    os.kill(worker, 9)
    conn = sqlite3.connect(str(svc.config.db), timeout=5)
    try:
        assert conn.execute("SELECT COUNT(*) FROM rollup_triggers WHERE namespace='dur'").fetchone()[0] >= 1
    finally:
        conn.close()
    # A fresh rollup process (no reads anywhere) finds the durable trigger and rolls the counter up.
    fresh = subprocess.Popen([sys.executable, "-m", "learnbackend.counter.rollup_worker", str(svc.config.db)])
    try:
        assert wait_rolled_up(svc.config.db, "dur", "x", 5, timeout=20) == 5
    finally:
        fresh.terminate()
        fresh.wait(10)


def test_f8_a_killed_rollup_process_is_replaced_and_finds_its_triggers(proc_service):
    """The service starts a new rollup process when its rollup process dies; nothing needs a read to heal."""
    svc = proc_service
    with httpx.Client(base_url=svc.url) as c:
        assert c.post("/v1/namespaces", json={"name": "sup", "accept_limit_s": 2, "skew_margin_s": 0}).status_code == 201
        [worker] = _rollup_children(svc.proc.pid)
        for _ in range(4):
            assert c.post("/v1/counters/sup/x/add", json={"delta": 1, "token": token()}).status_code == 200
    time.sleep(0.3)
    os.kill(worker, 9)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not [p for p in _rollup_children(svc.proc.pid) if p != worker]:
        time.sleep(0.2)
    assert [p for p in _rollup_children(svc.proc.pid) if p != worker], "a new rollup process was started"
    assert wait_rolled_up(svc.config.db, "sup", "x", 4, timeout=20) == 4
