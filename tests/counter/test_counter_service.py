"""The HTTP service through real sockets, in real child processes, including kill -9."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
from counter_fixtures import service  # noqa: F401

from learnbackend.counter.redis_server import free_port
from learnbackend.counter.server import ServeConfig, ServiceProcess


def token() -> dict:
    return {"token": uuid.uuid4().hex, "generation_time": time.time()}


def wait_count(client: httpx.Client, ns: str, counter: str, expected: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    value = -1
    while time.monotonic() < deadline:
        value = client.get(f"/v1/counters/{ns}/{counter}").json()["count"]  # each read triggers a rollup
        if value == expected:
            return value
        time.sleep(0.1)
    return value


def test_add_replay_and_get_over_http(service):
    with httpx.Client(base_url=service.url) as c:
        tok = token()
        for _ in range(4):
            r = c.post("/v1/counters/default/page/add", json={"delta": 2, "token": tok})
            assert r.status_code == 200 and r.json() == {"acknowledged": True}
        assert c.post("/v1/counters/default/page/add-and-get", json={"delta": 1, "token": token()}).json() == {"count": 3}
        assert wait_count(c, "default", "page", 3) == 3
        assert c.post("/v1/counters/accurate/page/add", json={"delta": 5}).status_code == 200
        assert c.get("/v1/counters/accurate/page").json()["count"] == 5
        assert c.post("/v1/counters/default/page/clear", json={"token": token()}).status_code == 200
        assert wait_count(c, "default", "page", 0) == 0


def test_lookalike_tokens_are_distinct_events_on_both_paths(service):
    """Lower-case hex tokens take the lean path, the others the careful one: both give each token its own event."""
    lookalikes = ("41424344454647484950515253545556", "ABCDEFGHIPQRSTUV", "aa" * 16, "AA" * 16)
    with httpx.Client(base_url=service.url) as c:
        spec = {"name": "ids", "type": "accurate", "accept_limit_s": 60, "skew_margin_s": 1, "event_buckets": 1}
        assert c.post("/v1/namespaces", json=spec).status_code == 201
        t = time.time()
        for _ in range(2):  # the second round replays every token
            for text in lookalikes:
                r = c.post("/v1/counters/ids/x/add", json={"delta": 1, "token": {"token": text, "generation_time": t}})
                assert r.status_code == 200, r.text
        assert c.get("/v1/counters/ids/x").json()["count"] == 4


def test_errors_are_4xx_json(service):
    with httpx.Client(base_url=service.url) as c:
        cases = [
            (c.post("/v1/counters/nope/x/add", json={"delta": 1}), 404, "UnknownNamespace"),
            (c.post("/v1/counters/default/x/add", json={"delta": 10**12}), 422, "invalid_request"),
            (c.post("/v1/counters/default/x/add", json={"delta": "7"}), 422, "invalid_request"),
            (c.post("/v1/counters/default/x/add", content=b"{not json", headers={"content-type": "application/json"}),
             422, "invalid_request"),
            (c.post("/v1/counters/default/x/add", json={"delta": 1, "surprise": True}), 422, "invalid_request"),
            (c.post("/v1/counters/default/x/add", content=b"{" + b" " * 10_000 + b"}",
                    headers={"content-type": "application/json"}), 413, "body_too_large"),
            (c.post("/v1/counters/default/x/add", json={"delta": 1, "token": {"token": uuid.uuid4().hex,
                                                                               "generation_time": time.time() - 60}}),
             409, "LateEvent"),
            (c.post("/v1/counters/default/bad%20name/add", json={"delta": 1}), 422, "UsageError"),
        ]
        for response, status, kind in cases:
            assert response.status_code == status, response.text
            assert response.headers["content-type"].startswith("application/json")
            assert response.json()["error"] == kind
        assert c.get("/openapi.json").json()["info"]["title"] == "learnbackend counter"
        assert c.get("/docs").status_code == 200


def test_kill9_loses_nothing_acknowledged(tmp_path):
    """Clients hammer the service; kill -9 mid-run; every acknowledged add is in the count after a restart."""
    config = ServeConfig(tmp_path / "k.db", free_port())
    svc = ServiceProcess(config).start()
    acked: list[int] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=svc.url, timeout=2) as c:
            while not stop.is_set():
                try:
                    if c.post("/v1/counters/default/k/add", json={"delta": 1, "token": token()}).status_code == 200:
                        acked.append(1)
                except httpx.HTTPError:
                    continue  # a slow start on a loaded machine (before the kill) or the kill itself

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) <= 50 and time.monotonic() < deadline:  # killed mid-run: once writes are flowing
        time.sleep(0.05)
    time.sleep(0.2)
    svc.kill9()
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) > 50
    svc = ServiceProcess(config).start()
    try:
        with httpx.Client(base_url=svc.url) as c:
            assert wait_count(c, "default", "k", len(acked)) >= len(acked)
    finally:
        svc.kill9()


def test_workers_and_a_separate_rollup_process(tmp_path):
    svc = ServiceProcess(ServeConfig(tmp_path / "w.db", free_port(), workers=2, rollup_process=True)).start()
    try:
        with httpx.Client(base_url=svc.url) as c:
            tok = token()
            pids = set()
            for i in range(40):
                c.post("/v1/counters/default/multi/add", json={"delta": 1, "token": tok if i % 2 else token()})
                pids.add(c.get("/healthz").json()["pid"])
            assert wait_count(c, "default", "multi", 21) == 21
    finally:
        svc.kill9()
