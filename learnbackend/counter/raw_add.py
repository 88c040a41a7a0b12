"""AddCount served at the HTTP protocol level, below ASGI; every other request goes through uvicorn.

The counter's hot request is small and always the same shape. On the ASGI path,
uvicorn spends about 25 µs of the event loop on each request whatever the app
does (a request-response object, an ``asyncio.Event``, a task and its steps,
the ASGI messages, the headers), more than the counter's own work. Here a
connection's bytes are looked at first: when they are exactly one plain
``POST /v1/counters/{ns}/{c}/add`` (HTTP/1.1, a Content-Length, nothing unusual)
that :class:`~learnbackend.counter.fastpath.FastAdd` admits as a common add,
the row goes to the same group commit and the answer is written when it
commits. Anything else (another route, a replay, a late or odd token, chunked
bodies, ``Expect``, ``Connection: close``, HTTP/1.0, a request split across
reads, pipelined requests) is handed to uvicorn's parser untouched, and the
ASGI app serves it, errors included. The answers are the same bytes either way.

The bench measures this path against a hello served the same way
(``bench/bench_counter.py``), as well as against the bare ASGI hello.
"""

from __future__ import annotations

import http
import logging
import re
from typing import Any

from learnbackend.counter.http_protocol import TurnWriteHttpToolsProtocol

#: The request line of an AddCount: names are checked again by FastAdd (percent-escapes, queries: uvicorn's path)
REQUEST_LINE = re.compile(rb"POST (/v1/counters/[A-Za-z0-9._~:@!$&'()*+,;=-]+/[A-Za-z0-9._~:@!$&'()*+,;=-]+/add)"
                          rb" HTTP/1\.1\r\n")
#: Header lines: a token, a colon, a value without control characters (no obs-fold, no bare CR or LF)
HEADER_LINES = re.compile(rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*\r\n)*")
LENGTH = re.compile(rb"\ncontent-length:[ \t]*([0-9]{1,9})[ \t]*\r", re.IGNORECASE)
#: Headers whose meaning uvicorn handles (a body's framing, an interim answer, a protocol switch, a close)
SPECIAL = re.compile(rb"\n(?:transfer-encoding|expect|upgrade|connection|content-length)[ \t]*:", re.IGNORECASE)
KEEP_ALIVE = re.compile(rb"\nconnection:[ \t]*keep-alive[ \t]*\r", re.IGNORECASE)
#: Bytes a client may send ahead while its AddCount is being committed; beyond, reading pauses.
HELD_MAX = 64 * 1024
_LOG = logging.getLogger("learnbackend.counter")


def parse_add(data: bytes, max_body: int) -> tuple[str, bytes] | None:
    """``(path, body)`` when ``data`` is exactly one plain AddCount request, else None (uvicorn parses it).

    Plain: HTTP/1.1, one Content-Length (and the body, all of it, nothing after), no
    Transfer-Encoding, Expect or Upgrade, no Connection header but ``keep-alive``.
    """
    line = REQUEST_LINE.match(data)
    if line is None:
        return None
    end = data.find(b"\r\n\r\n", line.end() - 2)
    if end < 0 or HEADER_LINES.fullmatch(data, line.end(), end + 2) is None:
        return None
    block = data[line.end() - 2:end + 2]  # every header line starts after a "\n" and ends at a "\r"
    lengths = LENGTH.findall(block)
    if len(lengths) != 1 or len(SPECIAL.findall(block)) != 1 + len(KEEP_ALIVE.findall(block)):
        return None  # no length, two lengths, a length that is no plain number, or a header uvicorn must see
    length = int(lengths[0])
    if length > max_body or len(data) - end - 4 != length:
        return None
    return line.group(1).decode("ascii"), data[end + 4:]


_HEADS: dict[tuple[int, int], tuple[Any, bytes]] = {}


def _head(status: int, length: int, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """Status line and headers as uvicorn writes them (its date and server headers first)."""
    cached = _HEADS.get((status, length))
    if cached is not None and cached[0] is default_headers:  # uvicorn replaces the list every second
        return cached[1]
    head = (b"HTTP/1.1 %d %s\r\n" % (status, http.HTTPStatus(status).phrase.encode())
            + b"".join(name + b": " + value + b"\r\n" for name, value in default_headers)
            + b"content-type: application/json\r\ncontent-length: %d\r\n\r\n" % length)
    if len(_HEADS) > 64:
        _HEADS.clear()
    _HEADS[(status, length)] = (default_headers, head)
    return head


class CounterHttpProtocol(TurnWriteHttpToolsProtocol):
    """``uvicorn.run(app, http=CounterHttpProtocol)``: common AddCounts at the protocol level when ``app``
    offers ``submit_raw`` / ``raw_answer`` / ``max_body`` (FastAdd does); everything else as uvicorn does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        app = self.app
        self._adder = app if hasattr(app, "submit_raw") and self.limit_concurrency is None else None
        self._between = True  # uvicorn's parser is between two messages
        self._inflight = False  # an AddCount of this connection waits for its commit
        self._close_after = False
        self._held = bytearray()

    def on_message_begin(self) -> None:
        self._between = False
        super().on_message_begin()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._between = True

    def data_received(self, data: bytes) -> None:
        if self._inflight:  # sent ahead of the answer: kept, so answers leave in the order of the requests
            self._held += data
            if len(self._held) > HELD_MAX:
                self.flow.pause_reading()
            return
        adder = self._adder
        if (adder is not None and self._between and not self.pipeline
                and (self.cycle is None or self.cycle.response_complete)):
            found = parse_add(data, adder.max_body)
            if found is not None:
                committed = adder.submit_raw(*found)
                if committed is not None:
                    self._unset_keepalive_if_required()
                    self._inflight = True
                    committed.add_done_callback(self._answer)
                    return
        super().data_received(data)

    def _answer(self, committed: Any) -> None:
        self._inflight = False
        if self.transport.is_closing():  # the client left: the row is stored (or not) all the same
            return
        assert self._adder is not None
        try:
            status, body = self._adder.raw_answer(committed)
        except Exception:  # noqa: BLE001 - a bug must cost this request a 500, not the connection's loop
            _LOG.exception("counter: answering an AddCount failed")
            status, body = 500, b'{"error":"internal_error","message":"The counter service failed on this request."}'
        self.transport.write(_head(status, len(body), self.server_state.default_headers) + body)
        if self._close_after:
            self.transport.close()
            return
        self.on_response_complete()  # uvicorn's own: count it, resume reading, arm the keep-alive timeout
        if self._held:
            data = bytes(self._held)
            self._held.clear()
            self.data_received(data)

    def shutdown(self) -> None:
        if self._inflight:  # the server stops: answer this AddCount, then close
            self._close_after = True
            return
        super().shutdown()
