"""The Redis side against a real redis-server: best-effort INCRBY and the one-value rollup cache."""

from __future__ import annotations

import time

from counter_fixtures import redis_url  # noqa: F401

from learnbackend.counter.counters import CounterEngine, EngineOptions
from learnbackend.counter.namespaces import NamespaceConfig
from learnbackend.counter.store_redis import RedisCache, RedisCounters, connect
from learnbackend.counter.tokens import new_token


def test_best_effort_is_incrby_and_double_counts_a_retry(redis_url, tmp_path):
    eng = CounterEngine(tmp_path / "c.db", redis_url=redis_url)
    try:
        eng.create_namespace(NamespaceConfig("be", "best_effort"))
        token = new_token()
        eng.add_count("be", "x", 2, token)
        eng.add_count("be", "x", 2, token)
        assert eng.get_count("be", "x").count == 4
        assert int(connect(redis_url).get(RedisCounters(None).key("be", "x"))) == 4
        eng.clear_count("be", "x")
        assert eng.get_count("be", "x").count == 0
    finally:
        eng.close()


def test_cache_holds_count_and_checkpoint_as_one_value_moving_forward(redis_url):
    client = connect(redis_url)
    cache = RedisCache(client, prefix="t1")
    cache.put("ns", "c", 10, 1000)
    cache.put("ns", "c", 3, 500)  # an older rollup arriving late must not win
    assert cache.get("ns", "c") == (10, 1000)
    assert client.get(cache.key("ns", "c")) == b"10@1000"
    cache.put("ns", "c", 12, 2000)
    assert cache.get("ns", "c") == (12, 2000)


def test_eventual_counter_with_redis_cache(redis_url, tmp_path):
    eng = CounterEngine(tmp_path / "c.db", redis_url=redis_url, options=EngineOptions(coalesce_s=0.0))
    try:
        eng.create_namespace(NamespaceConfig("ev", accept_limit_s=0.1, skew_margin_s=0.02))
        for _ in range(3):
            eng.add_count("ev", "y", 1)
        time.sleep(0.2)
        eng.get_count("ev", "y")
        assert eng.queues.drain(5)
        assert eng.get_count("ev", "y").count == 3
        assert isinstance(eng.cache, RedisCache) and eng.cache.get("ev", "y")[0] == 3
    finally:
        eng.close()


def test_a_redis_left_by_a_killed_lab_is_reaped(redis_url):
    import subprocess
    import sys

    from learnbackend.counter.redis_server import reap_orphans

    code = "from learnbackend.counter.redis_server import start_redis; s = start_redis(); print(s.process.pid, flush=True); input()"
    owner = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    server_pid = int(owner.stdout.readline())
    owner.kill()  # kill -9: no cleanup ran, the redis-server is orphaned
    owner.wait()
    assert reap_orphans() >= 1

    def running() -> bool:  # neither gone nor a zombie
        state = subprocess.run(["ps", "-o", "stat=", "-p", str(server_pid)], capture_output=True, text=True).stdout
        return bool(state.strip()) and not state.strip().startswith("Z")

    # The reaper's SIGKILL takes effect asynchronously (it does not wait): poll, then judge.
    deadline = time.monotonic() + 10
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(), "the orphaned redis-server must be gone"


def test_free_port_never_hands_out_one_port_twice_in_a_row_of_picks():
    """A cluster picks its nodes', gateway's, Redis's and PostgreSQL's ports before any of them binds: the kernel
    alone repeats itself (about 150 repeats in 2,000 picks here), so two servers would race for one port."""
    from learnbackend.counter.redis_server import free_port

    picked = [free_port() for _ in range(2000)]
    assert len(set(picked)) == len(picked)
