"""The counter API over HTTP: FastAPI on uvicorn, 127.0.0.1 only, OpenAPI docs at /docs.

Every error is JSON: ``{"error": kind, "message": ..., "fix": ...}`` with a 4xx
status (404 unknown namespace, 409 late event, 413 body too large, 422 malformed
or absurd). AddCount answers only after the event is committed (group commit),
so an acknowledged increment survives a kill -9 of this process.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from learnbackend.counter.counters import CounterEngine, EngineOptions, UnknownNamespace
from learnbackend.counter.eventlog import LateEvent
from learnbackend.counter.namespaces import COUNTER_TYPES, MAX_DELTA, NamespaceConfig
from learnbackend.counter.tokens import Token, now_us, parse_token
from learnbackend.errors import LearnBackendError

MAX_BODY = 4096
#: Namespaces every service has (created when missing), scaled for a laptop demo.
DEFAULT_NAMESPACES = [
    NamespaceConfig("default", "eventual", accept_limit_s=1.0, skew_margin_s=0.2),
    NamespaceConfig("accurate", "accurate", accept_limit_s=1.0, skew_margin_s=0.2),
    NamespaceConfig("best-effort", "best_effort"),
]


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=8, max_length=64, description="A random UUID; the same on every retry.")
    generation_time: float = Field(gt=0, description="Client clock when the token was made (s or µs since epoch).")


class AddIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delta: StrictInt = Field(default=1, ge=-MAX_DELTA, le=MAX_DELTA, description="How much to add.")
    token: Optional[TokenIn] = Field(default=None, description="Idempotency token (recommended).")


class ClearIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: Optional[TokenIn] = None


class NamespaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
    type: str = Field(default="eventual", description=f"One of {', '.join(COUNTER_TYPES)}.")
    accept_limit_s: float = Field(default=5.0, ge=0, le=3600)
    skew_margin_s: float = Field(default=1.0, ge=0, le=3600)
    event_buckets: int = Field(default=4, ge=1, le=1024)


class BodyLimit:
    """Refuse bodies over MAX_BODY bytes with 413, by Content-Length or while streaming."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY:
                return await _too_large(send)
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _too_large(send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Any) -> None:
    body = b'{"error":"body_too_large","message":"Request body over %d bytes.","fix":"Send one counter update per request."}' % MAX_BODY
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class LoopGroupCommit:
    """Group commit inside the event loop: every AddCount parsed in one loop turn shares one transaction.

    No thread hand-off (which costs a GIL switch per batch); the loop is blocked
    only for the commit itself. Each request's future resolves after the commit.
    """

    def __init__(self, engine: CounterEngine) -> None:
        self.engine = engine
        self.pending: list[tuple[Any, asyncio.Future[None]]] = []
        self.scheduled = False
        self.batches = 0

    def submit(self, row: Any) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self.pending.append((row, future))
        if not self.scheduled:
            self.scheduled = True
            loop.call_soon(self.flush)
        return future

    def flush(self) -> None:
        batch, self.pending, self.scheduled = self.pending, [], False
        try:
            refused = set(self.engine.write_rows([row for row, _ in batch]))
        except Exception as exc:
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        self.batches += 1
        for i, (_, fut) in enumerate(batch):
            if fut.done():
                continue
            if i in refused:
                fut.set_exception(self.engine.late_error())  # became late while queued: never acknowledged
            else:
                fut.set_result(None)


def _status(exc: LearnBackendError) -> int:
    if isinstance(exc, UnknownNamespace):
        return 404
    if isinstance(exc, LateEvent):
        return 409
    return 422


def create_app(db_path: str, *, redis_url: str | None = None, rollup: str = "thread") -> FastAPI:
    """The ASGI app over one engine (one per worker process)."""
    engine = CounterEngine(db_path, redis_url=redis_url, options=EngineOptions(rollup=rollup, group_commit=False))
    committer = LoopGroupCommit(engine)
    known = engine.store.namespaces()
    for config in DEFAULT_NAMESPACES:
        if config.name not in known:
            engine.create_namespace(config)
    app = FastAPI(title="learnbackend counter", version="1",
                  description="Netflix-style distributed counter: AddCount, AddAndGetCount, GetCount, ClearCount.")
    app.state.engine = engine
    app.state.committer = committer
    app.add_middleware(BodyLimit)

    @app.exception_handler(LearnBackendError)
    async def _lb_error(request: Request, exc: LearnBackendError) -> JSONResponse:
        return JSONResponse({"error": type(exc).__name__, "message": exc.message, "fix": exc.fix}, status_code=_status(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in exc.errors()]
        return JSONResponse({"error": "invalid_request", "message": "The request is malformed.", "detail": detail},
                            status_code=422)

    @app.on_event("shutdown")
    def _close() -> None:
        engine.close()

    def token_of(raw: TokenIn | None) -> Token | None:
        return parse_token(raw.model_dump(), default_time=now_us()) if raw is not None else None

    async def write(row: Any) -> Any:
        """Commit a prepared row (None = a stored replay; int = best effort, already applied)."""
        if row is not None and not isinstance(row, int):
            await committer.submit(row)
        return row

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"ok": True, "pid": os.getpid()}

    @app.post("/v1/namespaces", status_code=201)
    def create_namespace(body: NamespaceIn) -> dict[str, Any]:
        return engine.create_namespace(NamespaceConfig(**body.model_dump())).to_dict()

    @app.get("/v1/namespaces")
    def list_namespaces() -> list[dict[str, Any]]:
        return [c.to_dict() for c in engine.store.namespaces().values()]

    @app.post("/v1/counters/{namespace}/{counter}/add")
    async def add_count(namespace: str, counter: str, body: AddIn) -> dict[str, Any]:
        """AddCount: acknowledged once the event is durable; a replayed token counts once."""
        await write(engine.prepare_add(namespace, counter, body.delta, token_of(body.token)))
        return {"acknowledged": True}

    @app.post("/v1/counters/{namespace}/{counter}/add-and-get")
    async def add_and_get(namespace: str, counter: str, body: AddIn) -> dict[str, Any]:
        row = await write(engine.prepare_add(namespace, counter, body.delta, token_of(body.token)))
        if isinstance(row, int):
            return {"count": row}
        return {"count": engine.add_and_get_count_read(namespace, counter)}

    @app.get("/v1/counters/{namespace}/{counter}")
    def get_count(namespace: str, counter: str) -> dict[str, Any]:
        r = engine.get_count(namespace, counter)
        return {"namespace": r.namespace, "counter": r.counter, "count": r.count, "type": r.type,
                "last_rollup_ts": r.last_rollup_ts}

    @app.post("/v1/counters/{namespace}/{counter}/clear")
    async def clear_count(namespace: str, counter: str, body: ClearIn) -> dict[str, Any]:
        await write(engine.prepare_add(namespace, counter, 0, token_of(body.token), kind=1))
        return {"acknowledged": True}

    return app


def create_asgi(db_path: str, *, redis_url: str | None = None, rollup: str = "thread") -> Any:
    """The served ASGI app: the FastAPI app behind the lean AddCount path."""
    from learnbackend.counter.fastpath import FastAdd

    app = create_app(db_path, redis_url=redis_url, rollup=rollup)
    return FastAdd(app, app.state.engine, app.state.committer, MAX_BODY)


def app_from_env() -> Any:
    """Factory for ``uvicorn --factory`` with several workers (settings from the environment)."""
    return create_asgi(os.environ["LEARNBACKEND_COUNTER_DB"], redis_url=os.environ.get("LEARNBACKEND_COUNTER_REDIS") or None,
                      rollup=os.environ.get("LEARNBACKEND_COUNTER_ROLLUP", "thread"))
