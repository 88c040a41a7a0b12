"""Minimal asyncio clients over real sockets: HTTP/1.1 keep-alive for the counter API, RESP for Redis.

Hand-rolled on purpose: the load generator must not be the bottleneck it is
measuring, and both targets are driven by the same code path.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from learnbackend.counter.tokens import now_us


class RequestFailed(Exception):
    """A request got no usable answer (timeout, reset, 5xx) or a 4xx."""

    def __init__(self, kind: str, status: int = 0) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status


@dataclass
class HttpConnection:
    host: str
    port: int
    reader: Any = None
    writer: Any = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        if self.writer is None:
            await self.open()
        payload = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        self.writer.write(head + payload)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("closed")
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        data = await self.reader.readexactly(length) if length else b""
        return status, (json.loads(data) if data else None)


class CounterClient:
    """One connection to the counter service; AddCount with an idempotency token."""

    def __init__(self, url: str, namespace: str = "default") -> None:
        parsed = urlparse(url)
        self.conn = HttpConnection(parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.namespace = namespace

    @staticmethod
    def new_token() -> dict[str, Any]:
        return {"token": uuid.uuid4().hex, "generation_time": now_us()}

    async def add(self, counter: str, delta: int, token: dict[str, Any] | None, timeout: float) -> None:
        try:
            status, _body = await asyncio.wait_for(
                self.conn.request("POST", f"/v1/counters/{self.namespace}/{counter}/add",
                                  {"delta": delta, **({"token": token} if token else {})}), timeout)
        except asyncio.TimeoutError:
            self.conn.close()  # the answer may still come: a new connection keeps requests apart
            raise RequestFailed("timeout") from None
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            self.conn.close()
            raise RequestFailed("connection") from None
        if status != 200:
            raise RequestFailed(f"http {status}", status)

    async def get(self, counter: str) -> int:
        status, body = await self.conn.request("GET", f"/v1/counters/{self.namespace}/{counter}")
        if status != 200:
            raise RequestFailed(f"http {status}", status)
        return int(body["count"])

    def close(self) -> None:
        self.conn.close()


class RedisIncrClient:
    """INCR over RESP on one connection: the same load generator, aimed at Redis."""

    def __init__(self, url: str, namespace: str = "default") -> None:
        parsed = urlparse(url)
        self.conn = HttpConnection(parsed.hostname or "127.0.0.1", parsed.port or 6379)
        self.prefix = f"lbload:{namespace}:"

    async def add(self, counter: str, delta: int, token: dict[str, Any] | None, timeout: float) -> None:
        key = (self.prefix + counter).encode()
        try:
            if self.conn.writer is None:
                await self.conn.open()
            self.conn.writer.write(b"*3\r\n$6\r\nINCRBY\r\n$%d\r\n%s\r\n$%d\r\n%d\r\n" % (
                len(key), key, len(str(delta)), delta))
            line = await asyncio.wait_for(self.conn.reader.readline(), timeout)
        except asyncio.TimeoutError:
            self.conn.close()
            raise RequestFailed("timeout") from None
        except OSError:
            self.conn.close()
            raise RequestFailed("connection") from None
        if not line.startswith(b":"):
            raise RequestFailed("redis error")

    async def get(self, counter: str) -> int:
        key = (self.prefix + counter).encode()
        if self.conn.writer is None:
            await self.conn.open()
        self.conn.writer.write(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key))
        line = await self.conn.reader.readline()
        if line.startswith(b"$-1"):
            return 0
        value = await self.conn.reader.readline()
        return int(value)

    def close(self) -> None:
        self.conn.close()
