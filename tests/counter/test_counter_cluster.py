"""`counter cluster`: N node processes behind the gateway over a real PostgreSQL, broken on purpose."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from cluster_fixtures import need_postgres, pg_url  # noqa: F401
from conftest import run_cli

from learnbackend.counter.cluster import Cluster, ClusterConfig
from learnbackend.counter.cluster_chaos import NodeLossConfig, run_node_loss, run_trigger_loss
from learnbackend.counter.redis_server import free_port, redis_available


def test_cluster_survives_kill9_of_each_node_under_load(pg_url):  # noqa: F811
    """3 nodes under the lab's load generator; each node in turn killed -9 mid-run and restarted:
    count = distinct acknowledged increments (no loss, no double count)."""
    report = run_node_loss(NodeLossConfig(nodes=3, duration=14.0, concurrency=12, counters=48, kill_at=1.0,
                                          down_s=0.5, kill_nodes=(0, 1, 2), store=pg_url,
                                          cache="auto" if redis_available() else None))
    assert report.acked > 200, report
    assert report.errors == 0, report.error_kinds
    assert report.counted == report.acked, report.to_dict()
    assert [node for node, _ in report.kills] == [0, 1, 2]
    assert report.kills[-1][1] < report.load_s, report.to_dict()  # every kill fell inside the load
    # the gateway saw each die (sent its work on)
    assert all(n["failures"] > 0 for n in report.gateway["nodes"]), (report.kills, report.gateway)
    assert all(n["up"] for n in report.gateway["nodes"])  # and back after the restart


def test_lost_trigger_is_found_again_by_the_last_write_timestamp(pg_url):  # noqa: F811
    """Written through node 0, never read, node 0 killed -9 before its rollup: only the sweep finds it."""
    report = run_trigger_loss(writes=30, sweep_s=1.0, wait_s=4.0, store=pg_url)
    off, on = report.rows
    assert (off.sweep, off.checkpoint_after_wait, off.converged_after_s) == ("off", 0, None)
    assert off.after_one_read == 30  # a read self-heals it
    assert on.checkpoint_after_wait == 30 and on.converged_after_s is not None  # no read needed


def test_gateway_routes_around_a_dead_node(pg_url):  # noqa: F811
    with Cluster(ClusterConfig(nodes=2, store=pg_url, cache=None)) as cluster, \
            httpx.Client(base_url=cluster.url, timeout=5) as client:
        served = {}
        for i in range(12):  # find a counter the gateway sends to node 0
            r = client.post(f"/v1/counters/default/g{i}/add", json={"delta": 1})
            assert r.status_code == 200
            served[f"g{i}"] = r.headers["x-counter-node"]
        mine = next(c for c, node in served.items() if node == "0")
        cluster.kill9(0)
        token = {"token": uuid.uuid4().hex, "generation_time": time.time()}
        answers = []
        for _ in range(4):  # refused at node 0: sent on to node 1; the same token is counted once
            r = client.post(f"/v1/counters/default/{mine}/add", json={"delta": 5, "token": token})
            answers.append((r.status_code, r.headers.get("x-counter-node")))
        # A request met on a connection the node had open when it died may get 502 (it may or may not have
        # been applied: the client retries with the same token); the rest go to node 1.
        assert answers[-1] == (200, "1") and all(a == (200, "1") or a[0] == 502 for a in answers), answers
        cluster.restart(0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got = client.get(f"/v1/counters/default/{mine}").json()["count"]
            if got == 6:
                break
            time.sleep(0.2)
        assert got == 6
        health = client.get("/gateway/health").json()
        assert health["failovers"] >= 1 and health["nodes"][0]["up"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _start_cluster_command(port: int, *extra: str) -> tuple[subprocess.Popen[str], dict]:
    proc = subprocess.Popen([sys.executable, "-m", "learnbackend", "counter", "cluster", "--nodes", "2",
                             "--port", str(port), "--cache", "auto" if redis_available() else "none", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 45
    health = None
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/gateway/health", timeout=1).json()
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    if health is None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(proc.communicate(timeout=10)[1])
    return proc, health


def _tmp(prefix: str) -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob(prefix + "*"))


def test_cluster_command_stops_everything_on_sigterm():
    need_postgres()
    before = _tmp("learnbackend-counter-pg-")
    before_work = _tmp("learnbackend-counter-cluster-")
    port = free_port()
    proc, health = _start_cluster_command(port, "--kill-every", "1")  # chaos while it serves
    try:
        urls = [n["url"] for n in health["nodes"]]
        first = [httpx.get(u + "/healthz", timeout=2).json()["pid"] for u in urls]
        deadline = time.monotonic() + 30
        restarted = False
        while time.monotonic() < deadline and not restarted:  # a node answers again, as a new process
            time.sleep(0.3)
            for url, pid in zip(urls, first, strict=True):
                try:
                    restarted = restarted or httpx.get(url + "/healthz", timeout=1).json()["pid"] != pid
                except httpx.HTTPError:
                    pass
        assert restarted
        assert httpx.post(f"http://127.0.0.1:{port}/v1/counters/default/s/add", json={"delta": 1}).status_code == 200
        new_dirs = set(Path(tempfile.gettempdir()).glob("learnbackend-counter-pg-*")) - before
        assert len(new_dirs) == 1
        pg_dir = new_dirs.pop()
        postgres_pid = int((pg_dir / "server.pid").read_text())
        children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        assert len(children) >= 3  # two nodes and the gateway (and redis), postgres in its own session
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    assert "pid" in out and "chaos: kill -9 node" in out, out  # restarted: the new pid seen above
    for pid in [postgres_pid, *children]:
        assert not _alive(pid), pid
    assert not pg_dir.exists()
    assert not _tmp("learnbackend-counter-cluster-") - before_work
    for node in health["nodes"]:
        try:
            httpx.get(node["url"] + "/healthz", timeout=0.5)
            raise AssertionError(f"{node['url']} still answers")
        except httpx.HTTPError:
            pass


def test_cluster_bad_options_and_missing_postgres(monkeypatch):
    r = run_cli("counter", "cluster", "--store", "mysql://x/y")
    assert r.exit_code == 2 and "postgresql://" in r.stderr
    r = run_cli("counter", "cluster", "--cache", "memcached://x")
    assert r.exit_code == 2
    r = run_cli("counter", "cluster", "--store", f"postgresql://lab:pw@127.0.0.1:{free_port()}/counter", "--cache", "none")
    assert r.exit_code == 3 and "Cannot reach PostgreSQL" in r.stderr and "pw" not in r.stderr
    r = run_cli("counter", "cluster-chaos", "--experiment", "nope")
    assert r.exit_code == 2
    from learnbackend.counter import postgres_server

    monkeypatch.setattr(postgres_server, "find_bindir", lambda: None)  # PostgreSQL absent (it is installed here)
    r = run_cli("counter", "cluster", "--cache", "none", "--port", str(free_port()))
    assert r.exit_code == 3 and "PostgreSQL" in r.stderr and "apt-get install" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_killed_lab_leaves_nothing_after_the_next_start():
    """kill -9 of the lab itself: nodes and gateway exit by themselves; the next start reaps its PostgreSQL."""
    need_postgres()
    from learnbackend.counter import postgres_server, redis_server
    from learnbackend.counter.cluster import reap_workdirs

    before = _tmp("learnbackend-counter-pg-")
    proc, _ = _start_cluster_command(free_port())
    children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    pg_dir = (_tmp("learnbackend-counter-pg-") - before).pop()
    postgres_pid = int((pg_dir / "server.pid").read_text())
    ours = [pid for pid in children if b"learnbackend.counter." in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(ours) == 3  # two nodes and the gateway
    os.kill(proc.pid, signal.SIGKILL)  # the lab only: no chance to clean up
    proc.communicate(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in ours):
        time.sleep(0.2)
    try:
        assert not [pid for pid in ours if _alive(pid)]  # nodes and gateway exit by themselves when orphaned
        assert _alive(postgres_pid)  # PostgreSQL has no parent watch: the next start reaps it
        assert postgres_server.reap_orphans() >= 1
        redis_server.reap_orphans()
        reap_workdirs()
        # A SIGKILL takes effect asynchronously (redis-server's reaper does not wait for it): poll, then judge.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (_alive(postgres_pid) or any(_alive(pid) for pid in children)):
            time.sleep(0.1)
        assert not _alive(postgres_pid) and not pg_dir.exists()
        survivors = {pid: _cmdline(pid) for pid in children if _alive(pid)}
        assert not survivors
    finally:
        for pid in [*children, postgres_pid]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_cluster_chaos_command_wide_partitions_json(pg_url):  # noqa: F811
    r = run_cli("counter", "cluster-chaos", "--experiment", "wide-partitions", "--store", pg_url, "--json")
    assert r.exit_code == 0, r.stderr
    rows = r.json["rows"]
    assert [row["layout"].split(",")[0] for row in rows] == ["time buckets 600 s", "no time buckets", "no time buckets"]
    assert rows[0]["buffers"] < rows[1]["buffers"]


def test_nodes_answer_503_while_their_store_is_gone():
    """The shared PostgreSQL stops: nodes answer 503 (retry later with the same token), not 500 or 422."""
    need_postgres()
    from learnbackend.counter.postgres_server import start_postgres

    server = start_postgres()
    try:
        with Cluster(ClusterConfig(nodes=1, store=server.url, cache=None)) as cluster, \
                httpx.Client(base_url=cluster.url, timeout=10) as client:
            assert client.post("/v1/counters/default/d/add", json={"delta": 1}).status_code == 200
            server.process.send_signal(signal.SIGINT)  # fast shutdown: every session is cut
            server.process.wait(timeout=20)
            token = {"token": uuid.uuid4().hex, "generation_time": time.time()}
            r = client.post("/v1/counters/default/d/add", json={"delta": 1, "token": token})
            assert r.status_code == 503 and r.json()["error"], r.text
            r = client.get("/v1/counters/accurate/d")
            assert r.status_code == 503 and r.json()["error"], r.text
    finally:
        server.stop()


def test_doctor_reports_postgresql():
    need_postgres()
    probe = next(p for p in run_cli("doctor", "--json").json if p["name"] == "postgresql")
    assert probe["ok"] and "initdb" not in probe["detail"] and "/bin" in probe["detail"]


def test_a_frozen_node_costs_a_timeout_not_a_hang(pg_url):  # noqa: F811
    """SIGSTOP a node: a write routed to it gets 504 after the gateway's timeout; the retry (same token, inside
    the accept limit) goes to another node; the frozen node's late copy of the write, once thawed, counts nothing."""
    with Cluster(ClusterConfig(nodes=2, store=pg_url, cache=None, gateway_timeout_s=2.0)) as cluster, \
            httpx.Client(base_url=cluster.url, timeout=10) as client:
        ns = f"frozen{uuid.uuid4().hex[:6]}"
        client.post("/v1/namespaces", json={"name": ns, "type": "accurate", "accept_limit_s": 5.0,
                                            "skew_margin_s": 0.5}).raise_for_status()
        frozen = next(f"f{i}" for i in range(50)
                      if client.post(f"/v1/counters/{ns}/f{i}/add", json={"delta": 1}).headers["x-counter-node"] == "0")
        node0 = cluster.nodes[0]
        os.kill(node0.proc.pid, signal.SIGSTOP)
        try:
            token = {"token": uuid.uuid4().hex, "generation_time": time.time()}
            t0 = time.monotonic()
            r = client.post(f"/v1/counters/{ns}/{frozen}/add", json={"delta": 1, "token": token})
            assert r.status_code == 504 and r.json()["error"] == "node_timeout"
            assert time.monotonic() - t0 < 8
            r = client.post(f"/v1/counters/{ns}/{frozen}/add", json={"delta": 1, "token": token})  # the retry
            assert (r.status_code, r.headers["x-counter-node"]) == (200, "1")  # node 0 rests for the timeout (2 s)
        finally:
            os.kill(node0.proc.pid, signal.SIGCONT)
        httpx.get(node0.url + "/healthz", timeout=10)  # thawed: it has read the stale copy meanwhile
        time.sleep(0.5)
        assert httpx.get(f"{node0.url}/v1/counters/{ns}/{frozen}", timeout=10).json()["count"] == 2  # once, not twice


def test_cluster_chaos_command_node_loss_json(pg_url):  # noqa: F811
    r = run_cli("counter", "cluster-chaos", "--nodes", "2", "--duration", "4", "--kill-node", "1", "--store", pg_url,
                "--cache", "none", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json
    assert data["exact"] and data["counted"] == data["acked"] > 0 and [k[0] for k in data["kills"]] == [1]
    assert "***" in data["store"]  # the password is not printed
    r = run_cli("counter", "cluster-chaos", "--nodes", "2", "--kill-node", "5", "--store", pg_url)
    assert r.exit_code == 2 and "--kill-node" in r.stderr
