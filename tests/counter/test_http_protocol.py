"""The counter's HTTP protocol: uvicorn's httptools protocol with one socket write per response.

A real uvicorn server on 127.0.0.1, real sockets; the real transport's writes are recorded.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from learnbackend.counter.http_protocol import TurnWriteHttpToolsProtocol
from learnbackend.counter.redis_server import free_port

WRITES: list[bytes] = []  # what the real transports were asked to send, in order


class _Recorder:
    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class RecordedTurnWrite(TurnWriteHttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Recorder(transport))  # type: ignore[arg-type]


class RecordedPlain(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Recorder(transport))  # type: ignore[arg-type]


async def app(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["path"] == "/stream":  # chunked: several body messages, some after a pause
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for i in range(20):
            await send({"type": "http.response.body", "body": bytes([65 + i]) * 100_000, "more_body": True})
            if i % 5 == 0:
                await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"end"})
        return
    answer = b"echo:" + body
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(answer)).encode())]})
    await send({"type": "http.response.body", "body": answer})


def _serve(protocol: type) -> Iterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http=protocol, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def turn_port() -> Iterator[int]:
    yield from _serve(RecordedTurnWrite)


@pytest.fixture
def plain_port() -> Iterator[int]:
    yield from _serve(RecordedPlain)


def _request(body: bytes, path: str = "/", close: bool = False) -> bytes:
    extra = b"Connection: close\r\n" if close else b""
    return (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n" % (path.encode(), len(body), extra)) + body


def _read_response(sock: socket.socket, buffer: bytearray) -> bytes:
    """One whole response with a Content-Length, from ``buffer`` and the socket."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-response: {bytes(buffer)!r}"
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk
        rest += chunk
    del buffer[:]
    buffer += rest[length:]
    return head + b"\r\n\r\n" + rest[:length]


def _exchange(port: int, bodies: list[bytes]) -> list[bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        buffer = bytearray()
        out = []
        for body in bodies:
            sock.sendall(_request(body))
            out.append(_read_response(sock, buffer))
        return out


def _until_close(port: int, request: bytes) -> bytes:
    """Everything the server sends for ``request`` until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = bytearray()
        while chunk := sock.recv(65536):
            data += chunk
    return bytes(data)


def test_each_response_is_one_write_where_uvicorn_makes_two(turn_port: int, plain_port: int) -> None:
    WRITES.clear()
    answers = _exchange(plain_port, [b"a", b"bb", b"ccc"])
    assert [a.rpartition(b"\r\n\r\n")[2] for a in answers] == [b"echo:a", b"echo:bb", b"echo:ccc"]
    assert len(WRITES) == 6  # uvicorn's own: status line and headers, then the body
    WRITES.clear()
    answers = _exchange(turn_port, [b"a", b"bb", b"ccc"])
    assert [a.rpartition(b"\r\n\r\n")[2] for a in answers] == [b"echo:a", b"echo:bb", b"echo:ccc"]
    assert answers == WRITES  # one write each, and it is the whole response
    assert all(w.startswith(b"HTTP/1.1 200 OK\r\n") for w in WRITES)


def test_keep_alive_carries_many_requests_in_order(turn_port: int) -> None:
    bodies = [b"%d" % i for i in range(200)]
    answers = _exchange(turn_port, bodies)
    assert [a.rpartition(b"\r\n\r\n")[2] for a in answers] == [b"echo:" + b for b in bodies]


def test_pipelined_requests_get_their_answers_in_order(turn_port: int) -> None:
    with socket.create_connection(("127.0.0.1", turn_port), timeout=10) as sock:
        sock.sendall(b"".join(_request(b"%d" % i) for i in range(30)))
        buffer = bytearray()
        got = [_read_response(sock, buffer).rpartition(b"\r\n\r\n")[2] for _ in range(30)]
    assert got == [b"echo:%d" % i for i in range(30)]


def test_a_streamed_response_arrives_whole(turn_port: int) -> None:
    data = _until_close(turn_port, _request(b"", "/stream", close=True))
    head, _, chunked = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    body, rest = b"", chunked
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        body, rest = body + rest[:size], rest[size + 2:]
    assert body == b"".join(bytes([65 + i]) * 100_000 for i in range(20)) + b"end"


def test_connection_close_sends_the_answer_before_closing(turn_port: int) -> None:
    data = _until_close(turn_port, _request(b"bye", close=True))
    assert data.endswith(b"\r\n\r\necho:bye")


def test_a_malformed_request_gets_uvicorns_400_before_the_close(turn_port: int) -> None:
    data = _until_close(turn_port, b"NOT HTTP AT ALL\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert data.endswith(b"Invalid HTTP request received.")


def test_a_client_that_leaves_mid_answer_does_not_stop_the_server(turn_port: int) -> None:
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", turn_port), timeout=10) as sock:
            sock.sendall(_request(b"", "/stream"))
            sock.recv(10)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
    assert _exchange(turn_port, [b"still here"])[0].endswith(b"echo:still here")


def test_expect_100_continue_is_answered_before_the_body_arrives(turn_port: int) -> None:
    with socket.create_connection(("127.0.0.1", turn_port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"  # written by uvicorn, held for at most a turn
        sock.sendall(b"hello")
        assert _read_response(sock, bytearray()).endswith(b"echo:hello")


def test_http_1_0_gets_its_answer_and_the_close(turn_port: int) -> None:
    data = _until_close(turn_port, b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi")
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"echo:hi")
