"""Group commit against a store over the network (PostgreSQL): the event loop never waits on a socket.

Every AddCount row goes to ONE writer thread that commits whatever has gathered
while the previous commit was in flight (a batch grows with the load: group
commit), then resolves each request's future on the loop. Same interface as
:class:`~learnbackend.counter.writer_process.ProcessCommitter`.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from learnbackend.counter.store_sqlite import EventRow, WriteOutcome

MAX_BATCH = 4096


class RemoteCommitter:
    """``await committer.submit(row)`` returns once the row is committed (or raises its own error)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.batches = 0
        self.rows = 0
        self.busy_batches = 0
        self._items: list[tuple[EventRow, asyncio.Future[None]]] = []
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="counter-remote-writer", daemon=True)
        self._thread.start()

    def submit(self, row: EventRow) -> asyncio.Future[None]:
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            self._items.append((row, future))
            if len(self._items) == 1:
                self._cond.notify()
        return future

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._stopping:
                    self._cond.wait()
                if self._stopping and not self._items:
                    return
                batch, self._items = self._items[:MAX_BATCH], self._items[MAX_BATCH:]
            try:
                outcome = self.engine.write_rows_each([row for row, _ in batch])
            except Exception as exc:  # noqa: BLE001 (a bug in the writer: every waiting request gets it)
                outcome = WriteOutcome(errors={i: exc for i in range(len(batch))})
            self.batches += 1
            self.rows += len(batch)
            loop = self._loop
            if loop is not None and not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(self._resolve, batch, outcome)
                except RuntimeError:  # the loop closed meanwhile (shutdown)
                    return

    def _resolve(self, batch: list[tuple[EventRow, asyncio.Future[None]]], outcome: WriteOutcome) -> None:
        for i, (_, fut) in enumerate(batch):
            if fut.done():
                continue
            if i in outcome.errors:
                fut.set_exception(outcome.errors[i])
            elif i in outcome.refused:
                fut.set_exception(self.engine.late_error())
            else:
                fut.set_result(None)
