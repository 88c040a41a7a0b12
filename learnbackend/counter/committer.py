"""Group commit for the HTTP service: never waiting for SQLite's lock on the event loop.

Every AddCount parsed in one loop turn joins one batch, committed at the end of
the turn *if the write lock is free right now* (busy timeout 0: no wait, no
thread hand-off, which costs a GIL switch per batch). When another connection
holds the lock (another process, a checkpoint, a rollup), the batch goes to ONE
writer thread that waits it out in short steps while the loop keeps answering
(``/healthz``, reads, other requests). Each request's future resolves after the
commit that holds its row.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from learnbackend.counter.counters import CounterEngine
from learnbackend.counter.store_sqlite import EventRow, StoreBusy, WriteOutcome

MAX_BATCH = 4096


class ThreadCommitter:
    """``await committer.submit(row)`` returns once the row is durable (or raises its own error)."""

    def __init__(self, engine: CounterEngine) -> None:
        self.engine = engine
        self.batches = 0
        self.rows = 0
        self.busy_batches = 0  # batches that met a held lock and went to the writer thread
        self._items: list[tuple[EventRow, asyncio.Future[None]]] = []  # for the writer thread
        self._pending: list[tuple[EventRow, asyncio.Future[None]]] = []  # this loop turn's rows
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
        self._pending.append((row, future))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        """End of a loop turn: commit the turn's rows now, or hand them to the writer thread if locked."""
        batch, self._pending = self._pending, []
        try:  # even while the writer thread waits for a lock: order does not matter (each event has its own key)
            outcome = self.engine.write_rows_each([row for row, _ in batch], wait=False)
        except StoreBusy:
            self._to_thread(batch)
            return
        except Exception as exc:  # noqa: BLE001 - a bug in the writer: every waiting request gets the error
            outcome = WriteOutcome(errors={i: exc for i in range(len(batch))})
        self.batches += 1
        self.rows += len(batch)
        self._resolve(batch, outcome)

    def _to_thread(self, batch: list[tuple[EventRow, asyncio.Future[None]]]) -> None:
        self.busy_batches += 1
        with self._lock:
            self._items.extend(batch)
        self._wake.set()

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
            except Exception as exc:  # noqa: BLE001 - a bug in the writer: every waiting request gets the error
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
