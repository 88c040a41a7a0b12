"""The cluster's gateway (the Data Gateway's role): one address on 127.0.0.1, N counter nodes behind it.

A request for a counter (``/v1/counters/{namespace}/{counter}...``) goes to the
node its name hashes to, so a counter's rollup triggers mostly land in one
node's queues; anything else goes round robin. A node that refuses the
connection is marked down for a moment and the request goes to the next node
(it never reached the first, so this is always safe). A node that dies with a
request in flight answers 502 for that request: only the client knows whether
a retry is safe, and with its idempotency token it is (the shared event log
counts the token once, whichever node it reaches).

``python -m learnbackend.counter.gateway --port P --node http://127.0.0.1:P1 ...``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

HOST = "127.0.0.1"
MAX_HEAD = 16 * 1024
MAX_BODY = 64 * 1024
#: Idle pooled connections older than this are not reused (the node may have closed them meanwhile).
IDLE_S = 20.0
DOWN_S = 0.5


@dataclass
class Node:
    host: str
    port: int
    idle: list[tuple[Any, Any, float]] = field(default_factory=list)
    down_until: float = 0.0
    requests: int = 0
    failures: int = 0


def _answer(status: int, payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request", 411: "Length Required", 413: "Payload Too Large",
              502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Error")
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
            .encode() + body)


class Gateway:
    def __init__(self, nodes: list[str], timeout_s: float = 10.0) -> None:
        self.nodes = [Node(urlsplit(u).hostname or HOST, urlsplit(u).port or 80) for u in nodes]
        self.timeout_s = timeout_s
        self._rr = 0
        self.requests = 0
        self.failovers = 0

    def order(self, path: str) -> list[int]:
        n = len(self.nodes)
        if path.startswith("/v1/counters/"):
            parts = path.split("/", 5)
            first = zlib.crc32(f"{parts[3]}/{parts[4].split('?')[0]}".encode()) % n if len(parts) > 4 else 0
        else:
            first = self._rr = (self._rr + 1) % n
        ring = [(first + i) % n for i in range(n)]
        now = time.monotonic()
        up = [i for i in ring if self.nodes[i].down_until <= now]
        return up + [i for i in ring if i not in up]  # all down: try them anyway

    async def _conn(self, node: Node) -> tuple[Any, Any]:
        now = time.monotonic()
        while node.idle:
            reader, writer, since = node.idle.pop()
            if now - since < IDLE_S and not writer.is_closing() and not reader.at_eof():  # not closed by the node
                return reader, writer
            writer.close()
        return await asyncio.open_connection(node.host, node.port)

    async def forward(self, method: str, path: str, body: bytes) -> bytes:
        self.requests += 1
        head = (f"{method} {path} HTTP/1.1\r\nhost: {HOST}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\n\r\n").encode()
        for index in self.order(path):
            node = self.nodes[index]
            try:
                reader, writer = await self._conn(node)
            except OSError:  # refused: the request never reached it, so another node may take it
                node.down_until = time.monotonic() + DOWN_S
                node.failures += 1
                self.failovers += 1
                self._drop(node)
                continue
            node.requests += 1
            try:
                writer.write(head + body)
                lines, data = await asyncio.wait_for(self._response(reader, method), self.timeout_s)
            except (OSError, asyncio.IncompleteReadError, ValueError, asyncio.TimeoutError) as exc:
                writer.close()
                late = isinstance(exc, asyncio.TimeoutError)
                # A node that let a request time out (frozen, overloaded) rests as long as it made the client
                # wait: sending it the next request sooner would likely cost another whole timeout.
                node.down_until = time.monotonic() + (max(DOWN_S, self.timeout_s) if late else DOWN_S)
                node.failures += 1
                self._drop(node)
                if method == "GET":  # a read is always safe to send again
                    self.failovers += 1
                    continue
                return _answer(504 if late else 502, {
                    "error": "node_timeout" if late else "node_failed",
                    "message": f"Node {index} " + (f"did not answer in {self.timeout_s:g} s" if late else "failed")
                               + " with the request in flight; it may or may not have been applied.",
                    "fix": "Retry with the same idempotency token: it is counted once."})
            node.idle.append((reader, writer, time.monotonic()))
            return b"".join(lines) + b"x-counter-node: %d\r\n\r\n" % index + data
        return _answer(503, {"error": "no_node", "message": "No counter node answers.",
                             "fix": "Wait for the nodes to restart, then retry with the same token."})

    @staticmethod
    async def _response(reader: Any, method: str) -> tuple[list[bytes], bytes]:
        """A node's answer: (status line + headers without the blank line, body)."""
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("closed")
        lines = [status_line]
        length = 0
        while True:
            line = await reader.readline()
            if not line:
                raise ConnectionResetError("closed")
            if line == b"\r\n":
                break
            lines.append(line)
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        data = await reader.readexactly(length) if length and method != "HEAD" else b""
        return lines, data

    def _drop(self, node: Node) -> None:
        for _, writer, _ in node.idle:
            writer.close()
        node.idle.clear()

    def health(self) -> bytes:
        now = time.monotonic()
        return _answer(200, {"ok": True, "gateway": True, "requests": self.requests, "failovers": self.failovers,
                             "nodes": [{"url": f"http://{n.host}:{n.port}", "up": n.down_until <= now,
                                        "requests": n.requests, "failures": n.failures} for n in self.nodes]})

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                    return
                lines = head.split(b"\r\n")
                try:
                    method, target, _ = lines[0].decode("latin-1").split(" ", 2)
                except ValueError:
                    writer.write(_answer(400, {"error": "bad_request", "message": "Malformed request line."}))
                    return
                length, chunked, close = 0, False, False
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length" and value.strip().isdigit():
                        length = int(value)
                    elif name == b"transfer-encoding":
                        chunked = True
                    elif name == b"connection" and value.strip().lower() == b"close":
                        close = True
                if chunked:
                    writer.write(_answer(411, {"error": "length_required",
                                               "message": "The gateway needs a Content-Length (no chunked bodies)."}))
                    return
                if length > MAX_BODY:
                    writer.write(_answer(413, {"error": "body_too_large", "message": f"Body over {MAX_BODY} bytes."}))
                    return
                body = await reader.readexactly(length) if length else b""
                if target == "/gateway/health":
                    writer.write(self.health())
                else:
                    writer.write(await self.forward(method, target, body))
                if close:
                    return
                if writer.transport.get_write_buffer_size() > 65536:
                    await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


async def serve(port: int, nodes: list[str], timeout_s: float = 10.0) -> None:
    gateway = Gateway(nodes, timeout_s)
    server = await asyncio.start_server(gateway.handle, HOST, port, limit=MAX_HEAD, backlog=1024)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    import os
    import signal

    parser = argparse.ArgumentParser(prog="learnbackend-counter-gateway")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--node", action="append", required=True, help="http://127.0.0.1:PORT of a node (repeat).")
    parser.add_argument("--timeout", type=float, default=10.0, help="Seconds to wait for a node's answer (then 504).")
    args = parser.parse_args(argv)
    if os.environ.get("LEARNBACKEND_COUNTER_CHILD"):
        from learnbackend.counter.server import _exit_with_parent

        _exit_with_parent()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(serve(args.port, args.node, args.timeout))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
