"""AddCount below ASGI (raw_add): the recognizer, and a real counter service answering raw sockets."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from learnbackend.counter.raw_add import parse_add
from learnbackend.counter.redis_server import free_port
from learnbackend.counter.server import ServeConfig, ServiceProcess

PLAIN = b"POST /v1/counters/a/b/add HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def test_a_plain_add_is_recognised_with_its_path_and_body() -> None:
    assert parse_add(PLAIN, 4096) == ("/v1/counters/a/b/add", b"{}")
    keep = PLAIN.replace(b"Host: x\r\n", b"Host: x\r\nConnection: Keep-Alive\r\n")
    assert parse_add(keep, 4096) == ("/v1/counters/a/b/add", b"{}")


@pytest.mark.parametrize("request_bytes", [
    PLAIN.replace(b"HTTP/1.1", b"HTTP/1.0"),  # HTTP/1.0: uvicorn decides keep-alive
    PLAIN + b"POST",  # a second request behind the first (pipelined)
    PLAIN[:-1],  # the body is not all here yet
    PLAIN.replace(b"Host: x\r\n", b"Connection: close\r\n"),
    PLAIN.replace(b"Host: x\r\n", b"Expect: 100-continue\r\n"),
    PLAIN.replace(b"Host: x\r\n", b"Transfer-Encoding: chunked\r\n"),
    PLAIN.replace(b"Host: x\r\n", b"Upgrade: h2c\r\n"),
    PLAIN.replace(b"Host: x\r\n", b"Content-Length: 2\r\n"),  # two lengths
    PLAIN.replace(b"Content-Length: 2", b"Content-Length: +2"),
    PLAIN.replace(b"Content-Length: 2\r\n", b""),  # no length
    PLAIN.replace(b"Host: x\r\n", b"Host: x\r\n folded\r\n"),  # obs-fold
    PLAIN.replace(b"Host: x\r\n", b"Host : x\r\n"),  # space before the colon
    PLAIN.replace(b"Host: x", b"Host: x\x01"),  # a control character
    PLAIN.replace(b"Host: x", b"Host: x\ny: z"),  # a bare LF
    PLAIN.replace(b"/a/b/", b"/a%20/b/"),  # percent-escapes: uvicorn decodes them
    PLAIN.replace(b"/add", b"/add?x=1"),  # a query
    PLAIN.replace(b"POST", b"PUT"),
    PLAIN.replace(b"/add", b"/get"),
], ids=lambda b: b[:60].decode(errors="replace"))
def test_anything_unusual_is_left_to_uvicorn(request_bytes: bytes) -> None:
    assert parse_add(request_bytes, 4096) is None


def test_a_body_over_the_limit_is_left_to_uvicorn_which_answers_413() -> None:
    assert parse_add(PLAIN, 1) is None


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    d = tmp_path_factory.mktemp("raw")
    svc = ServiceProcess(ServeConfig(Path(d) / "c.db", free_port())).start()
    try:
        httpx.post(svc.url + "/v1/namespaces", json={"name": "raw", "type": "accurate"}).raise_for_status()
        yield svc.url
    finally:
        svc.stop()


def _add(counter: str, token: str, delta: int = 1, connection: bytes = b"") -> bytes:
    body = json.dumps({"delta": delta, "token": {"token": token, "generation_time": time.time()}}).encode()
    return (b"POST /v1/counters/raw/%s/add HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n"
            % (counter.encode(), connection, len(body)) + body)


def _responses(sock: socket.socket, n: int) -> list[tuple[int, dict[str, str], bytes]]:
    data = bytearray()
    out = []
    while len(out) < n:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"closed after {len(out)} answers: {bytes(data)!r}"
            data += chunk
        head, _, rest = bytes(data).partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers["content-length"])
        while len(rest) < length:
            chunk = sock.recv(65536)
            assert chunk
            rest += chunk
        out.append((int(lines[0].split()[1]), headers, rest[:length]))
        data = bytearray(rest[length:])
    return out


def _served_below_asgi(url: str) -> int:
    return int(httpx.get(url + "/healthz").json()["adds_below_asgi"])


def _count(url: str, counter: str) -> int:
    return int(httpx.get(f"{url}/v1/counters/raw/{counter}").json()["count"])


def test_plain_adds_are_served_below_asgi_with_uvicorns_headers(service: str) -> None:
    port = int(service.rsplit(":", 1)[1])
    before = _served_below_asgi(service)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        answers = []
        for i in range(50):
            sock.sendall(_add("plain", os.urandom(16).hex(), delta=i))
            answers += _responses(sock, 1)
    assert {a[0] for a in answers} == {200} and {a[2] for a in answers} == {b'{"acknowledged":true}'}
    _, headers, _ = answers[0]
    assert headers["content-type"] == "application/json" and "date" in headers and headers["server"] == "uvicorn"
    assert _served_below_asgi(service) - before == 50
    assert _count(service, "plain") == sum(range(50))


def test_pipelined_adds_are_answered_in_order_and_counted_once_each(service: str) -> None:
    port = int(service.rsplit(":", 1)[1])
    adds = [_add("pipe", os.urandom(16).hex()) for _ in range(20)]  # a token is its nonce and its time
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # two adds in one packet (uvicorn's parser takes the pair), then an add and a read in one packet
        sock.sendall(adds[0] + adds[1])
        assert [a[0] for a in _responses(sock, 2)] == [200, 200]
        sock.sendall(adds[2] + b"GET /v1/counters/raw/pipe HTTP/1.1\r\nHost: t\r\n\r\n")
        (s1, _, b1), (s2, _, b2) = _responses(sock, 2)
        assert (s1, b1) == (200, b'{"acknowledged":true}') and s2 == 200 and json.loads(b2)["count"] == 3
        # an add sent while the one before still waits for its commit
        for add in adds[3:]:
            sock.sendall(add)
        assert [a[0] for a in _responses(sock, 17)] == [200] * 17
        sock.sendall(adds[5])  # a retry (the same token, sent again): counted once
        assert _responses(sock, 1)[0][0] == 200
    assert _count(service, "pipe") == 20


def test_a_request_split_across_reads_and_odd_requests_take_uvicorns_path(service: str) -> None:
    port = int(service.rsplit(":", 1)[1])
    before = _served_below_asgi(service)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        split = _add("split", os.urandom(16).hex())
        sock.sendall(split[:30])
        time.sleep(0.2)
        sock.sendall(split[30:])
        assert _responses(sock, 1)[0][0] == 200
        sock.sendall(_add("split", "not-hex-token-" + os.urandom(4).hex()))  # another token form: the careful path
        assert _responses(sock, 1)[0][0] == 200
        sock.sendall(_add("split", os.urandom(16).hex(), delta=10**18))  # out of range: the documented error
        status, _, body = _responses(sock, 1)[0]
        assert status == 422 and b"delta" in body
        sock.sendall(_add("split", os.urandom(16).hex(), connection=b"Connection: close\r\n"))
        assert _responses(sock, 1)[0][0] == 200
        assert sock.recv(10) == b""  # closed as asked
    assert _served_below_asgi(service) == before  # none of these was served below ASGI
    assert _count(service, "split") == 3


class _GatedAdder:
    """An app whose AddCounts commit only when the test says so; any other request gets 'asgi'."""

    max_body = 4096

    def __init__(self) -> None:
        self.pending: list = []
        self.loop = None

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]})
        await send({"type": "http.response.body", "body": b"asgi"})

    def submit_raw(self, path: str, raw: bytes):
        import asyncio

        self.loop = asyncio.get_running_loop()
        future = self.loop.create_future()
        self.pending.append(future)
        return future

    def raw_answer(self, committed) -> tuple[int, bytes]:
        return 200, b'{"acknowledged":true}'

    def commit_next(self) -> None:
        future = self.pending.pop(0)
        self.loop.call_soon_threadsafe(future.set_result, None)


@pytest.fixture
def gated() -> Iterator[tuple[_GatedAdder, int, object]]:
    import threading

    import uvicorn

    from learnbackend.counter.raw_add import CounterHttpProtocol

    adder, port = _GatedAdder(), free_port()
    server = uvicorn.Server(uvicorn.Config(adder, host="127.0.0.1", port=port, http=CounterHttpProtocol,
                                           log_level="warning", lifespan="off", proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    yield adder, port, server
    server.should_exit = True
    for future in adder.pending:
        adder.loop.call_soon_threadsafe(future.set_result, None)
    thread.join(10)


def _wait_pending(adder: _GatedAdder, n: int) -> None:
    deadline = time.monotonic() + 5
    while len(adder.pending) < n:
        assert time.monotonic() < deadline, "the add never reached the adder"
        time.sleep(0.005)


def test_a_request_sent_while_an_add_commits_is_answered_after_it(gated) -> None:
    adder, port, _ = gated
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_add("c", os.urandom(16).hex()))
        _wait_pending(adder, 1)
        sock.sendall(b"GET /anything HTTP/1.1\r\nHost: t\r\n\r\n")  # answered at once by the app if let through
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(100)  # nothing may overtake the add's answer
        sock.settimeout(10)
        adder.commit_next()
        (s1, _, b1), (s2, _, b2) = _responses(sock, 2)
    assert (s1, b1) == (200, b'{"acknowledged":true}') and (s2, b2) == (200, b"asgi")


def test_a_server_stopping_answers_the_add_it_holds_then_closes(gated) -> None:
    adder, port, server = gated
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_add("c", os.urandom(16).hex()))
        _wait_pending(adder, 1)
        server.should_exit = True
        time.sleep(0.3)  # uvicorn asks every connection to close
        adder.commit_next()
        assert _responses(sock, 1)[0][0] == 200
        assert sock.recv(10) == b""
