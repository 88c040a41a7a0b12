"""The counter API over HTTP: FastAPI on uvicorn, 127.0.0.1 only, OpenAPI docs at /docs.

Every error is JSON: ``{"error": kind, "message": ..., "fix": ...}`` with a 4xx
status (400 a generation time that is not a time or is too far ahead, 404 unknown
namespace, 409 late event or a namespace re-created with another config, 413 body
too large, 422 malformed or absurd, 503 database locked by another program).
AddCount answers only after the event is committed (group commit in a writer
process, see writer_process.py: the event loop never runs SQLite's writes nor
waits for its lock), so an acknowledged increment survives a kill -9 of this
process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from learnbackend.counter.counters import (
    CounterEngine,
    EngineOptions,
    NamespaceConflict,
    StoreUnavailable,
    UnknownNamespace,
)
from learnbackend.counter.eventlog import LateEvent
from learnbackend.counter.fastpath import replay_body, send_too_large
from learnbackend.counter.namespaces import COUNTER_TYPES, MAX_DELTA, NamespaceConfig
from learnbackend.counter.remote_committer import RemoteCommitter
from learnbackend.counter.store_postgres import is_postgres_url
from learnbackend.counter.store_sqlite import WAL_LIMIT_BYTES
from learnbackend.counter.tokens import (
    InvalidTime,
    InvalidToken,
    Token,
    now_us,
    parse_token,
)
from learnbackend.counter.writer_process import ProcessCommitter
from learnbackend.errors import EnvironmentMissing, LearnBackendError

MAX_BODY = 4096
#: Namespaces every service has (created when missing), scaled for a laptop demo.
DEFAULT_NAMESPACES = [
    NamespaceConfig("default", "eventual", accept_limit_s=1.0, skew_margin_s=0.2),
    NamespaceConfig("accurate", "accurate", accept_limit_s=1.0, skew_margin_s=0.2),
    NamespaceConfig("best-effort", "best_effort"),
]


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=8, max_length=64, pattern=r"^[!-~]+$",
                       description="A random UUID; the same on every retry (8-64 printable ASCII characters).")
    generation_time: float = Field(gt=0, description="Client clock when the token was made (s or µs since epoch); "
                                   "400 when not a time or further ahead of the server than the namespace allows.")


class AddIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delta: StrictInt = Field(default=1, ge=-MAX_DELTA, le=MAX_DELTA, description="How much to add.")
    token: TokenIn | None = Field(default=None, description="Idempotency token (recommended).")


class ClearIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: TokenIn | None = None


class NamespaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")  # checked again with \Z by the engine
    type: str = Field(default="eventual", description=f"One of {', '.join(COUNTER_TYPES)}.")
    accept_limit_s: float = Field(default=5.0, ge=0, le=3600)
    skew_margin_s: float = Field(default=1.0, ge=0, le=3600)
    event_buckets: int = Field(default=4, ge=1, le=1024)


class BodyLimit:
    """Refuse bodies over MAX_BODY bytes with 413, by Content-Length or by counting a chunked body.

    The body is read (at most MAX_BODY + one chunk) before the app runs, so the
    413 is answered here and never turns into a parse error inside the framework.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY:
                return await send_too_large(send, MAX_BODY)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_BODY:
                return await send_too_large(send, MAX_BODY)
            if not message.get("more_body"):
                break
        await self.app(scope, replay_body(b"".join(chunks), receive), send)


def _status(exc: LearnBackendError) -> int:
    if isinstance(exc, UnknownNamespace):
        return 404
    if isinstance(exc, (LateEvent, NamespaceConflict)):
        return 409
    if isinstance(exc, (InvalidTime, InvalidToken)):
        return 400
    if isinstance(exc, (StoreUnavailable, EnvironmentMissing)):  # locked, or a shared store out of reach
        return 503
    return 422


def create_app(db_path: str, *, redis_url: str | None = None, rollup: str = "thread", sweep_s: float = 2.0) -> FastAPI:
    """The ASGI app over one engine (one per worker process); ``db_path`` may be a postgresql:// URL (a cluster node)."""
    remote = is_postgres_url(db_path)
    # checkpoints=False: SQLite's are run by the writer process, PostgreSQL runs its own
    engine = CounterEngine(db_path, redis_url=redis_url, options=EngineOptions(rollup=rollup, group_commit=False,
                                                                                writer_busy_timeout_s=0.0,
                                                                                sweep_s=sweep_s, checkpoints=False))
    committer: Any = (RemoteCommitter(engine) if remote
                      else ProcessCommitter(engine, db_path, durable_triggers=rollup == "process"))
    known = engine.store.namespaces()
    for config in DEFAULT_NAMESPACES:
        if config.name not in known:
            try:
                engine.create_namespace(config)
            except NamespaceConflict:
                pass  # another worker made it first (the same defaults, or the learner's own)
    app = FastAPI(title="learnbackend counter", version="1",
                  description="Netflix-style distributed counter: AddCount, AddAndGetCount, GetCount, ClearCount.")
    app.state.engine = engine
    app.state.committer = committer
    app.add_middleware(BodyLimit)

    @app.exception_handler(LearnBackendError)
    async def _lb_error(request: Request, exc: LearnBackendError) -> JSONResponse:
        return JSONResponse(error_body(exc), status_code=_status(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in exc.errors()]
        return JSONResponse({"error": "invalid_request", "message": "The request is malformed.", "detail": detail},
                            status_code=422)

    @app.on_event("shutdown")
    def _close() -> None:
        committer.close()
        engine.close()

    def token_of(raw: TokenIn | None) -> Token | None:
        return parse_token(raw.model_dump(), default_time=now_us()) if raw is not None else None

    async def write(row: Any) -> Any:
        """Commit a prepared row (None = a stored replay; int = best effort, already applied)."""
        if row is not None and not isinstance(row, int):
            await committer.submit(row)
        return row

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness (answered by the event loop itself) and the size of the database's WAL."""
        db = engine.store.path
        fast = getattr(app.state, "fast", None)
        below = fast.raw_served if fast is not None else 0  # AddCounts served below ASGI (raw_add)
        if not isinstance(db, Path):  # a cluster node: PostgreSQL manages its own WAL
            return {"ok": True, "pid": os.getpid(), "store": "postgresql", "store_at": str(db),
                    "commits": {"batches": committer.batches, "rows": committer.rows}, "adds_below_asgi": below}
        return {"ok": True, "pid": os.getpid(), "adds_below_asgi": below, "wal_bytes": engine.store.wal_bytes(),
                "wal_limit_bytes": WAL_LIMIT_BYTES,
                "db_bytes": db.stat().st_size if db.exists() else 0,
                "commits": {"batches": committer.batches, "rows": committer.rows, "busy": committer.busy_batches,
                            "writer_pid": committer.writer_pid, "writer_starts": committer.writer_starts}}

    @app.post("/v1/namespaces", status_code=201)
    def create_namespace(body: NamespaceIn, response: Response) -> dict[str, Any]:
        """Create a namespace (201); the same config again is a no-op (200); another config under the name: 409."""
        config, created = engine.ensure_namespace(NamespaceConfig(**body.model_dump()))
        if not created:
            response.status_code = 200
        return config.to_dict()

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


def create_asgi(db_path: str, *, redis_url: str | None = None, rollup: str = "thread", sweep_s: float = 2.0) -> Any:
    """The served ASGI app: the FastAPI app behind the lean AddCount path."""
    from learnbackend.counter.fastpath import FastAdd

    app = create_app(db_path, redis_url=redis_url, rollup=rollup, sweep_s=sweep_s)
    fast = app.state.fast = FastAdd(app, app.state.engine, app.state.committer, MAX_BODY, render_error)
    return fast


def error_body(exc: LearnBackendError) -> dict[str, Any]:
    return {"error": type(exc).__name__, "message": exc.message, "fix": exc.fix}


def render_error(exc: LearnBackendError) -> tuple[int, bytes]:
    """(status, JSON body) of an error, as the app's exception handler answers it."""
    import json

    return _status(exc), json.dumps(error_body(exc)).encode()


def app_from_env() -> Any:
    """Factory for ``uvicorn --factory`` with several workers (settings from the environment)."""
    app = create_asgi(os.environ["LEARNBACKEND_COUNTER_DB"], redis_url=os.environ.get("LEARNBACKEND_COUNTER_REDIS") or None,
                      rollup=os.environ.get("LEARNBACKEND_COUNTER_ROLLUP", "thread"))
    tune_interpreter()
    return app


def tune_interpreter() -> None:
    """Take the start-up heap out of the collector's sight, collect the young generation less often, and
    let background threads hold the GIL for 1 ms at most.

    Without the first two, full (gen-2) collections of 18-26 ms ran every ~0.5 s under
    load and stalled every request in flight: the p99 was the GC pause. The rollup and
    sweep threads share this interpreter with the event loop: with the default switch
    interval (5 ms) a rollup's Python work could hold the loop that long. Measured with
    rollups running (wrk, 64 connections, 4 runs of 10 s): p99 5.55-5.66 ms at 5 ms,
    4.98-5.30 ms at 1 ms.
    """
    import gc
    import sys

    gc.collect()
    gc.freeze()  # modules, the app, the schema: never garbage, never scanned again
    gc.set_threshold(50_000, 50, 100)
    sys.setswitchinterval(0.001)
