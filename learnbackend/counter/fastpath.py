"""A lean ASGI path for the hot request, AddCount, in front of the FastAPI app.

FastAPI's routing and validation cost several times the work of the AddCount
itself. This middleware serves well-formed ``POST /v1/counters/{ns}/{c}/add``
requests directly (same checks, same answer, same group commit); anything
else, and every request that would be an error, goes to the FastAPI app, which
stays the documented API (OpenAPI) and the one place errors are shaped.
"""

from __future__ import annotations

import json
import re
from typing import Any

from learnbackend.counter.namespaces import MAX_DELTA
from learnbackend.counter.tokens import now_us, parse_token
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


class FastAdd:
    """Serve AddCount without the framework; delegate everything else to ``app``."""

    def __init__(self, app: Any, engine: Any, committer: Any, max_body: int,
                 render_error: Any = None) -> None:
        self.app = app
        self.engine = engine
        self.committer = committer
        self.max_body = max_body
        #: exception -> (status, JSON body): the app's own error shape, for errors met after the write began
        self.render_error = render_error

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        match = ADD_PATH.match(scope["path"])
        if match is None:
            return await self.app(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            chunks.append(chunk)
            if size > self.max_body:
                return await send_too_large(send, self.max_body)  # by Content-Length or chunked alike
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        replay = replay_body(raw, receive)
        body: Any
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if not _well_formed(body):
            return await self.app(scope, replay, send)
        token = body.get("token")
        try:
            row = self.engine.prepare_add(match.group(1), match.group(2), body.get("delta", 1),
                                          parse_token(token, default_time=now_us()) if token else None)
        except LearnBackendError:
            return await self.app(scope, replay, send)  # FastAPI shapes the error the documented way
        if row is not None and not isinstance(row, int):
            try:
                await self.committer.submit(row)
            except LearnBackendError as exc:  # late while queued (409), database locked (503)
                if self.render_error is None:
                    raise
                status, payload = self.render_error(exc)
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(payload)).encode())]})
                await send({"type": "http.response.body", "body": payload})
                return
        await send({"type": "http.response.start", "status": 200, "headers": OK_HEADERS})
        await send({"type": "http.response.body", "body": OK_BODY})
