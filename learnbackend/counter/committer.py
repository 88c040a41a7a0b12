"""Group commit for the HTTP service: the event loop hands rows to ONE writer thread.

The loop never touches the write lock: a request's row is appended to a list
and its asyncio future resolved (all futures of a batch in one loop callback)
once the batch holding it has committed. While another connection holds the
database's write lock, the writer waits in short steps and the loop keeps
answering (``/healthz``, reads, other requests). The writer thread also keeps
the WAL bounded (see :meth:`CounterEngine.write_rows_each`).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from learnbackend.counter.counters import CounterEngine
from learnbackend.counter.store_sqlite import EventRow, WriteOutcome

MAX_BATCH = 4096


class ThreadCommitter:
    """``await committer.submit(row)`` returns once the row is durable (or raises its own error)."""

    def __init__(self, engine: CounterEngine) -> None:
        self.engine = engine
        self.batches = 0
        self._items: list[tuple[EventRow, asyncio.Future[None]]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="counter-writer", daemon=True)
        self._thread.start()

    def submit(self, row: EventRow) -> asyncio.Future[None]:
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._items.append((row, future))
            first = len(self._items) == 1
        if first:
            self._wake.set()
        return future

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                batch, self._items = self._items[:MAX_BATCH], self._items[MAX_BATCH:]
                if self._items:
                    self._wake.set()
            if not batch:
                continue
            try:
                outcome = self.engine.write_rows_each([row for row, _ in batch])
            except Exception as exc:  # a bug in the writer: every waiting request gets the error
                outcome = WriteOutcome(errors={i: exc for i in range(len(batch))})
            self.batches += 1
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._resolve, batch, outcome)

    def _resolve(self, batch: list[tuple[EventRow, asyncio.Future[None]]], outcome: WriteOutcome) -> None:
        errors, refused = outcome.errors, outcome.refused
        for i, (_, fut) in enumerate(batch):
            if fut.done():  # the client went away: its row is written (or not) all the same
                continue
            if i in errors:
                fut.set_exception(errors[i])
            elif i in refused:
                fut.set_exception(self.engine.late_error())  # became late while queued: never acknowledged
            else:
                fut.set_result(None)


def attach(app: Any, engine: CounterEngine) -> ThreadCommitter:
    """One committer per app (per worker process), closed with it."""
    committer = ThreadCommitter(engine)
    app.state.committer = committer
    return committer
