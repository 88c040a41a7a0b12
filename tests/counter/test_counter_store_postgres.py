"""The PostgreSQL store against the engine's contract, on a real PostgreSQL the lab starts."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from cluster_fixtures import need_postgres, pg_url  # noqa: F401

from learnbackend.counter.counters import CounterEngine, EngineOptions, NamespaceConflict
from learnbackend.counter.eventlog import LateEvent
from learnbackend.counter.namespaces import NamespaceConfig
from learnbackend.counter.store_postgres import SLICE_US, PostgresStore
from learnbackend.counter.tokens import Token, new_token, now_us


def fresh(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def make_engine(where: str, ns: str) -> CounterEngine:
    eng = CounterEngine(where, options=EngineOptions(coalesce_s=0.0))
    eng.ensure_namespace(NamespaceConfig(ns, "eventual", accept_limit_s=0.2, skew_margin_s=0.05))
    return eng


def settle(eng: CounterEngine, ns: str, counter: str, expected: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    value = -1
    while time.monotonic() < deadline:
        value = eng.get_count(ns, counter).count  # a read triggers a rollup
        if value == expected:
            return value
        time.sleep(0.05)
    return value


def scenario(eng: CounterEngine, ns: str) -> list[int]:
    """The same script on any store: replays count once, a clear resets, accurate reads are exact."""
    tok = new_token()
    for _ in range(3):
        eng.add_count(ns, "a", 2, tok)
    eng.add_count(ns, "a", 5)
    first = settle(eng, ns, "a", 7)
    eng.clear_count(ns, "a")
    time.sleep(0.01)
    eng.add_count(ns, "a", 1)
    second = settle(eng, ns, "a", 1)
    with pytest.raises(LateEvent):
        eng.add_count(ns, "a", 1, Token(uuid.uuid4().hex, now_us() - 5_000_000))
    late_replay = Token(uuid.uuid4().hex, now_us())
    eng.add_count(ns, "b", 3, late_replay)
    time.sleep(0.3)  # now older than the accept limit: a retry of a stored event is acknowledged, counted once
    eng.add_count(ns, "b", 3, late_replay)
    return [first, second, settle(eng, ns, "b", 3), eng.add_counts([(ns, "c", 1, new_token()) for _ in range(500)])]


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_same_engine_same_answers_on_sqlite_and_postgresql(store: str, tmp_path: Path, request) -> None:
    if store == "postgresql":
        need_postgres()
        where = request.getfixturevalue("pg_url")
    else:
        where = str(tmp_path / "c.db")
    ns = fresh("same")
    eng = make_engine(where, ns)
    try:
        assert scenario(eng, ns) == [7, 1, 3, 500]
        assert settle(eng, ns, "c", 500) == 500
    finally:
        eng.close()


def test_event_log_is_partitioned_by_time_and_keyed_by_token(pg_url):  # noqa: F811
    ns = fresh("part")
    eng = make_engine(pg_url, ns)
    store = eng.store
    assert isinstance(store, PostgresStore)
    try:
        t = now_us()
        eng.add_count(ns, "p", 1, Token(uuid.uuid4().hex, t))
        assert f"events_s{t // SLICE_US}" in store.partitions()
        with store.lock:
            strategy = store.conn.execute("SELECT partstrat FROM pg_partitioned_table "
                                          "WHERE partrelid = 'events'::regclass").fetchone()[0]
            key = store.conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                     "WHERE conrelid = 'events'::regclass AND contype = 'p'").fetchone()[0]
        assert strategy == "r"  # range partitions: one per time slice
        assert key == "PRIMARY KEY (cid, time_bucket, event_bucket, event_time, event_id)"
        before = store.count_events(ns)
        tok = new_token()
        for _ in range(5):
            eng.add_count(ns, "p", 1, tok)
        assert store.count_events(ns) == before + 1  # ON CONFLICT DO NOTHING: a replay is no new event
    finally:
        eng.close()


def test_last_write_beside_checkpoint_and_behind(pg_url):  # noqa: F811
    ns = fresh("lw")
    eng = CounterEngine(pg_url, options=EngineOptions(rollup="off"))
    eng.ensure_namespace(NamespaceConfig(ns, "eventual", accept_limit_s=0.2, skew_margin_s=0.05))
    try:
        t = now_us()
        eng.add_count(ns, "w", 4, Token(uuid.uuid4().hex, t))
        count, last_rollup, last_write = eng.store.rollup_state(ns, "w")
        assert (count, last_rollup) == (0, 0) and last_write >= t  # written in the events' transaction
        assert (ns, "w") in {(n, c) for n, c, _ in eng.store.behind(10_000)}
        time.sleep(0.6)
        result = eng.rollup(ns, "w")
        assert result.count == 4 and result.last_rollup_ts >= last_write
        assert (ns, "w") not in {(n, c) for n, c, _ in eng.store.behind(10_000)}
    finally:
        eng.close()


def test_two_nodes_share_the_log_replays_across_nodes_count_once(pg_url):  # noqa: F811
    ns = fresh("two")
    a, b = make_engine(pg_url, ns), make_engine(pg_url, ns)
    try:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:
            for _ in range(200):  # each token to both nodes at once (a client hedging across nodes)
                tok = new_token()
                sent = [pool.submit(eng.add_count, ns, "h", 1, tok) for eng in (a, b)]
                for future in sent:
                    future.result()
        assert settle(a, ns, "h", 200) == 200
        assert settle(b, ns, "h", 200) == 200  # concurrent rollups over an immutable window agree
        with pytest.raises(NamespaceConflict):
            b.ensure_namespace(NamespaceConfig(ns, "eventual", accept_limit_s=3.0))
    finally:
        a.close()
        b.close()


def test_lab_postgres_runs_unprivileged_and_leaves_nothing():
    need_postgres()
    from learnbackend.counter.postgres_server import start_postgres

    server = start_postgres()
    try:
        uid = int(next(line for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
                       if line.startswith("Uid:")).split()[1])
        assert uid != 0 and (os.geteuid() != 0 or uid == server.directory.stat().st_uid)
        assert list(server.directory.glob(".s.PGSQL.*"))  # its unix socket lives in its own temp dir
        assert server.url.startswith("postgresql://lab:") and "@127.0.0.1:" in server.url
    finally:
        server.stop()
    assert not server.directory.exists()
    assert not Path(f"/proc/{server.pid}").exists()


def test_time_buckets_keep_a_hot_counters_rollup_read_small(pg_url):  # noqa: F811
    """Same events, three key layouts, one partition: the rollup's read touches far fewer pages with time buckets."""
    from learnbackend.counter.wide_partitions import run_wide_partitions

    report = run_wide_partitions(pg_url, events=30_000, span_s=3000, reads=3)
    bucketed, one_bucket, no_buckets = report.rows
    assert all(r.partitions_scanned == 1 for r in report.rows)
    assert bucketed.buffers * 2 < one_bucket.buffers, report.to_dict()
    assert bucketed.buffers * 2 < no_buckets.buffers, report.to_dict()


def test_connections_cut_under_the_engine_are_reopened(pg_url):  # noqa: F811
    """PostgreSQL drops every session (a restart, a failover): the node's next reads and writes reconnect."""
    ns = fresh("cut")
    eng = make_engine(pg_url, ns)
    try:
        eng.add_count(ns, "k", 1, new_token())
        assert settle(eng, ns, "k", 1) == 1
        admin = PostgresStore(pg_url)
        with admin.lock:
            killed = admin.conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                        "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
        admin.close()
        assert killed >= 3  # the engine's writer, reader and rollup connections (at least)
        eng.add_count(ns, "k", 2, new_token())
        assert settle(eng, ns, "k", 3) == 3
    finally:
        eng.close()
