"""uvicorn's httptools protocol, with each loop turn's writes to a connection sent as one.

uvicorn writes a response in two ``transport.write`` calls: the status line and
headers at ``http.response.start``, the body at ``http.response.body``. Over
TCP_NODELAY each is its own system call and its own segment, and the client
wakes for a response that is not whole yet. Here the writes of one loop turn
are joined and written once, at the end of the turn (the same turn: nothing
waits for a timer). Everything else is uvicorn's own code.

Measured with wrk (64 connections) on a 2-core VM: see ``bench/bench_counter.py``.
The bench's bare ASGI hello runs on this same protocol, so its ceiling is the
counter's own stack.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _TurnWriter:
    """A transport whose ``write`` waits for the end of the loop turn; ``close`` sends what waits first."""

    __slots__ = ("_buffer", "_loop", "_transport", "is_closing", "pause_reading", "resume_reading")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._buffer: list[bytes] = []
        # called for every request: the real transport's own methods, without a Python call in between
        self.is_closing = transport.is_closing
        self.pause_reading = transport.pause_reading
        self.resume_reading = transport.resume_reading

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._buffer:
            self._loop.call_soon(self._flush)
        self._buffer.append(bytes(data))

    def _flush(self) -> None:
        buffer = self._buffer
        if not buffer:
            return
        self._buffer = []
        if not self._transport.is_closing():
            self._transport.write(buffer[0] if len(buffer) == 1 else b"".join(buffer))

    def writelines(self, data: Any) -> None:
        self.write(b"".join(data))

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # everything else is the real transport's
        return getattr(self._transport, name)


class TurnWriteHttpToolsProtocol(HttpToolsProtocol):
    """``uvicorn.run(..., http=TurnWriteHttpToolsProtocol)``: one write per connection per loop turn."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_TurnWriter(transport, self.loop))  # type: ignore[arg-type]
