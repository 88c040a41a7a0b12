"""A lean ASGI path for the hot request, AddCount, in front of the FastAPI app.

FastAPI's routing and validation cost several times the work of the AddCount
itself. This middleware serves well-formed ``POST /v1/counters/{ns}/{c}/add``
requests directly (same checks, same answer, same group commit); anything
else, and every request that would be an error, goes to the FastAPI app, which
stays the documented API (OpenAPI) and the one place errors are shaped.

Below ASGI, :mod:`~learnbackend.counter.raw_add` calls :meth:`FastAdd.submit_raw`
for a plain AddCount read straight from the connection: same admission, same
group commit, same answer.
"""

from __future__ import annotations

import json
import re
from time import time_ns
from typing import Any
from zlib import crc32

import orjson

from learnbackend.counter.eventlog import hex_id
from learnbackend.counter.namespaces import MAX_DELTA, check_name
from learnbackend.counter.tokens import US, now_us, parse_token
from learnbackend.errors import LearnBackendError

ADD_PATH = re.compile(r"^/v1/counters/([^/]+)/([^/]+)/add$")
OK_BODY = b'{"acknowledged":true}'
OK_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(OK_BODY)).encode())]


def replay_body(raw: bytes, receive: Any) -> Any:
    """An ASGI ``receive`` that yields an already read body once, then defers to the real one."""
    replayed = False

    async def replay() -> Any:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return replay


async def send_too_large(send: Any, max_body: int) -> None:
    """The documented 413 (JSON like every error)."""
    body = (b'{"error":"body_too_large","message":"Request body over %d bytes.",'
            b'"fix":"Send one counter update per request."}' % max_body)
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _parse(raw: bytes) -> Any:
    """The JSON body, or None. orjson first (several times faster); what it refuses and Python's json
    accepts (NaN, integers past 64 bits) is parsed the standard way, so the careful path answers it."""
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except ValueError:
        pass
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _well_formed(body: Any) -> bool:
    if not isinstance(body, dict) or not set(body) <= {"delta", "token"}:
        return False
    delta = body.get("delta", 1)
    if type(delta) is not int or abs(delta) > MAX_DELTA:
        return False
    token = body.get("token")
    if token is None:
        return True
    return (isinstance(token, dict) and set(token) == {"token", "generation_time"}
            and isinstance(token["token"], str) and 8 <= len(token["token"]) <= 64
            and type(token["generation_time"]) in (int, float) and token["generation_time"] > 0)


class _Route:
    """What one ``/v1/counters/{ns}/{c}/add`` path needs per request, validated once."""

    __slots__ = ("accept_us", "ahead_us", "bucket_us", "buckets", "counter", "key", "namespace", "store")

    def __init__(self, engine: Any, namespace: str, counter: str) -> None:
        config = engine.namespace(namespace)
        check_name(counter, "counter")
        self.namespace, self.counter = namespace, counter
        self.store = engine.read_store
        self.key: Any = engine.read_store.lookup_cid(namespace, counter) or (namespace, counter)
        self.bucket_us = config.bucket_seconds * US
        self.buckets = config.event_buckets
        self.accept_us = config.accept_us
        self.ahead_us = config.ahead_us


class FastAdd:
    """Serve AddCount without the framework; delegate everything else to ``app``.

    The common request (an eventual/accurate namespace, a 32-hex-digit token, a
    time inside the window) is admitted inline with the same checks as
    ``CounterEngine.prepare_add``; anything else takes the engine's own path
    (through FastAPI, which shapes every error).
    """

    MAX_ROUTES = 10_000

    def __init__(self, app: Any, engine: Any, committer: Any, max_body: int,
                 render_error: Any = None) -> None:
        self.app = app
        self.engine = engine
        self.committer = committer
        self.max_body = max_body
        #: exception -> (status, JSON body): the app's own error shape, for errors met after the write began
        self.render_error = render_error
        self._routes: dict[str, _Route | None] = {}  # path -> route (None: not served here)
        self.raw_served = 0  # AddCounts served below ASGI (raw_add.CounterHttpProtocol)

    def _route(self, path: str) -> _Route | None:
        route = self._routes.get(path, False)
        if route is not False:
            return route  # type: ignore[return-value]
        match = ADD_PATH.match(path)
        found = None
        if match is not None:
            try:
                if self.engine.namespace(match.group(1)).type != "best_effort":
                    found = _Route(self.engine, match.group(1), match.group(2))
            except LearnBackendError:
                found = None
        if found is not None or match is None:  # an unknown namespace may be created later: not cached
            if len(self._routes) >= self.MAX_ROUTES:
                self._routes.clear()
            self._routes[path] = found
        return found

    def _admit(self, route: _Route, body: Any) -> Any:
        """The event row for a common request, or None when the engine's full path must decide.

        Common: exactly ``{"delta": int, "token": {"token": 32 lower-case hex digits, "generation_time":
        seconds}}`` with the time inside the namespace's window. This runs for every AddCount
        on the event loop, so it reads the four fields at once (any other shape raises and
        goes to the careful path) and checks their types after.
        """
        try:
            delta = body["delta"]
            token = body["token"]
            text = token["token"]
            gen = token["generation_time"]
        except (TypeError, KeyError, IndexError):  # not a dict of dicts with these keys
            return None
        if (type(body) is not dict or type(token) is not dict or len(body) != 2 or len(token) != 2
                or type(delta) is not int or not -MAX_DELTA <= delta <= MAX_DELTA
                or type(text) is not str):
            return None
        kind = type(gen)
        if (kind is not float and kind is not int) or not 0 < gen < 1e11:  # seconds (µs, absurd, non-finite: careful)
            return None
        eid = hex_id(text)
        if eid is None:  # another token form: the careful path stores it (eventlog.event_id)
            return None
        t = int(gen * US)
        now = time_ns() // 1000
        if t < now - route.accept_us or t > now + route.ahead_us:
            return None  # late (maybe a stored replay) or too far ahead: the engine decides and explains
        key = route.key
        if type(key) is not int:
            cid = route.store.lookup_cid(route.namespace, route.counter)
            if cid is not None:
                key = route.key = cid
        return (key, t // route.bucket_us, crc32(text.encode()) % route.buckets, t, eid, 0, delta)

    def submit_raw(self, path: str, raw: bytes) -> Any:
        """For :mod:`~learnbackend.counter.raw_add`: the commit (a future) of a common AddCount given as its
        path and body, or None when the ASGI path must serve the request (it was not submitted)."""
        route = self._route(path)
        if route is None:
            return None
        row = self._admit(route, _parse(raw))
        if row is None:
            return None
        self.raw_served += 1
        return self.committer.submit(row)

    def raw_answer(self, committed: Any) -> tuple[int, bytes]:
        """Status and JSON body for a commit from :meth:`submit_raw`: what the ASGI path answers."""
        if committed.cancelled():
            raise RuntimeError("the commit was cancelled")
        exc = committed.exception()
        if exc is None:
            return 200, OK_BODY
        if isinstance(exc, LearnBackendError) and self.render_error is not None:
            return self.render_error(exc)
        raise exc

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        route = self._route(scope["path"])
        if route is None:
            return await self.app(scope, receive, send)
        message = await receive()
        if message["type"] != "http.request":
            return  # the client went away
        raw = message.get("body", b"")
        if message.get("more_body"):
            chunks, size = [raw], len(raw)
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > self.max_body:
                    return await send_too_large(send, self.max_body)  # chunked: counted as it comes
                if not message.get("more_body"):
                    break
            raw = b"".join(chunks)
        if len(raw) > self.max_body:
            return await send_too_large(send, self.max_body)
        body = _parse(raw)
        row = self._admit(route, body)
        if row is None:  # not the common case: the engine's full path (stored replays, errors, odd tokens)
            return await self._careful(scope, receive, send, raw, body, route)
        try:
            await self.committer.submit(row)
        except LearnBackendError as exc:  # late while queued (409), database locked (503)
            return await self._error(send, exc)
        await send({"type": "http.response.start", "status": 200, "headers": OK_HEADERS})
        await send({"type": "http.response.body", "body": OK_BODY})

    async def _careful(self, scope: Any, receive: Any, send: Any, raw: bytes, body: Any, route: _Route) -> None:
        replay = replay_body(raw, receive)
        if not _well_formed(body):
            return await self.app(scope, replay, send)
        token = body.get("token")
        try:
            row = self.engine.prepare_add(route.namespace, route.counter, body.get("delta", 1),
                                          parse_token(token, default_time=now_us()) if token else None)
        except LearnBackendError:
            return await self.app(scope, replay, send)  # FastAPI shapes the error the documented way
        if row is not None and not isinstance(row, int):
            try:
                await self.committer.submit(row)
            except LearnBackendError as exc:
                return await self._error(send, exc)
        await send({"type": "http.response.start", "status": 200, "headers": OK_HEADERS})
        await send({"type": "http.response.body", "body": OK_BODY})

    async def _error(self, send: Any, exc: LearnBackendError) -> None:
        if self.render_error is None:
            raise exc
        status, payload = self.render_error(exc)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})
