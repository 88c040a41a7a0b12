"""The service's writer process (writer_process.py): group commit off the event loop, against real processes.

A real uvicorn service on 127.0.0.1, its real writer process and SQLite file. The
writer is killed with SIGKILL while clients write; every request either gets 200
after its row is committed or 503, and a retry with the same token counts once.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
from conftest import REPO
from counter_fixtures import service, write_lock_held  # noqa: F401

from learnbackend.counter.redis_server import free_port
from learnbackend.counter.server import ServeConfig, ServiceProcess

NAMESPACE = {"name": "wp", "type": "accurate", "accept_limit_s": 60, "skew_margin_s": 1}


def writer_pid(url: str) -> int:
    return int(httpx.get(url + "/healthz", timeout=5).json()["commits"]["writer_pid"])


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def stored_events(db: Path, counter: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM events e JOIN counter_ids c ON c.id = e.cid "
                                "WHERE c.namespace=? AND c.counter=?", (NAMESPACE["name"], counter)).fetchone()[0])
    finally:
        conn.close()


def test_killing_the_writer_under_load_loses_nothing_acknowledged(service):  # noqa: F811
    url = service.url
    assert httpx.post(url + "/v1/namespaces", json=NAMESPACE).status_code == 201
    stop = threading.Event()
    acked: list[str] = []
    unavailable: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            while not stop.is_set():
                tok = {"token": uuid.uuid4().hex, "generation_time": time.time()}
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:  # retry with the SAME token until acknowledged
                    r = c.post("/v1/counters/wp/hits/add", json={"delta": 1, "token": tok})
                    if r.status_code == 200:
                        with lock:
                            acked.append(tok["token"])
                        break
                    assert r.status_code == 503, r.text
                    assert r.json()["error"] == "StoreUnavailable"
                    with lock:
                        unavailable.append(1)
                    time.sleep(0.05)
                else:
                    raise AssertionError("a write was never acknowledged")

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        for _ in range(2):
            time.sleep(0.5)
            old = writer_pid(url)
            os.kill(old, signal.SIGKILL)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and writer_pid(url) == old:  # the next batch starts a new writer
                time.sleep(0.05)
            assert writer_pid(url) != old, "no new writer process took over"
            assert not alive(old)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert len(acked) == len(set(acked)) > 50
    health = httpx.get(url + "/healthz").json()
    assert health["commits"]["writer_starts"] >= 3
    got = httpx.get(url + "/v1/counters/wp/hits").json()["count"]
    assert got == len(acked), f"{len(acked)} acknowledged, {got} counted ({len(unavailable)} answers were 503)"
    assert stored_events(service.config.db, "hits") == len(acked)


def test_the_writer_process_ends_with_its_server(tmp_path):
    # A SIGKILL of the server alone (not its group): the writer must not outlive it.
    svc = ServiceProcess(ServeConfig(tmp_path / "a.db", free_port())).start()
    try:
        pid = writer_pid(svc.url)
        assert alive(pid)
        os.kill(svc.proc.pid, signal.SIGKILL)
        svc.proc.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.05)
        assert not alive(pid), "the writer process outlived its server"
    finally:
        svc.kill9()

    # A polite stop (SIGTERM to the group, as Ctrl-C): everything acknowledged is in the file, the writer is gone.
    svc = ServiceProcess(ServeConfig(tmp_path / "b.db", free_port())).start()
    pid = writer_pid(svc.url)
    with httpx.Client(base_url=svc.url, timeout=10) as c:
        assert c.post("/v1/namespaces", json=NAMESPACE).status_code == 201
        for _ in range(25):
            assert c.post("/v1/counters/wp/polite/add", json={"delta": 1}).status_code == 200
    svc.stop()
    assert svc.proc.returncode is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.05)
    assert not alive(pid)
    assert stored_events(tmp_path / "b.db", "polite") == 25


def test_adds_that_turn_late_while_the_writer_waits_are_refused_and_never_counted(service):  # noqa: F811
    """The writer re-checks the accept limit inside the write lock: a row admitted on time but committed
    after its window closed gets 409 (not acknowledged, not stored); the batch behind it is unaffected."""
    url = service.url
    short = {"name": "short", "type": "accurate", "accept_limit_s": 1, "skew_margin_s": 0}
    assert httpx.post(url + "/v1/namespaces", json=short).status_code == 201
    with httpx.Client(base_url=url, timeout=10) as c:  # the counter exists (and has an id) before the stall
        assert c.post("/v1/counters/short/late/add", json={"delta": 1}).status_code == 200
    answers: list[httpx.Response] = []
    lined_up = threading.Barrier(7)  # the six clients and this thread

    def add() -> None:
        with httpx.Client(base_url=url, timeout=60) as c:  # built first: the token's second starts at the post
            lined_up.wait(30)
            tok = {"token": uuid.uuid4().hex, "generation_time": time.time()}
            answers.append(c.post("/v1/counters/short/late/add", json={"delta": 1, "token": tok}))

    threads = [threading.Thread(target=add) for _ in range(6)]
    with write_lock_held(service.config.db):  # another program holds the write lock
        for t in threads:
            t.start()
        lined_up.wait(30)
        time.sleep(2.0)  # the six rows wait in the writer; their events leave the 1 s window meanwhile
        assert answers == [], "nothing is answered before the writer decides"
    for t in threads:
        t.join(30)
    assert [r.status_code for r in answers] == [409] * 6, [r.text for r in answers]
    assert {r.json()["error"] for r in answers} == {"LateEvent"}
    with httpx.Client(base_url=url, timeout=10) as c:
        assert c.post("/v1/counters/short/late/add", json={"delta": 1}).status_code == 200  # on time again
        assert c.get("/v1/counters/short/late").json()["count"] == 2


def test_a_writer_sent_something_else_than_frames_stops_with_a_message_and_stores_nothing(tmp_path):
    """Bytes that are not the protocol (undecodable, empty, or a frame announcing too much): exit 1, one line, no traceback."""
    for junk in (b"\x00\x00\x00\x05hello", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff"):  # bad, empty, too big
        mine, theirs = socket.socketpair()
        proc = subprocess.Popen([sys.executable, "-m", "learnbackend.counter.writer_process", str(tmp_path / "j.db"),
                                 str(theirs.fileno()), "--parent", str(os.getpid())], pass_fds=[theirs.fileno()],
                                cwd=REPO, stderr=subprocess.PIPE, text=True)
        theirs.close()
        mine.sendall(junk)
        _, err = proc.communicate(timeout=30)
        mine.close()
        assert proc.returncode == 1, err
        assert "from the HTTP process; stopping" in err and "Traceback" not in err, err
    with sqlite3.connect(tmp_path / "j.db") as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
