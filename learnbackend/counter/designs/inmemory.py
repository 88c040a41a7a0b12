"""Per-instance in-memory aggregation: acknowledge at once, flush sums periodically.

Fast (an add is a dict update) but the buffer lives only in this process: a
crash between flushes loses every acknowledged increment in it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from learnbackend.counter.store_sqlite import connect
from learnbackend.counter.tokens import Token


class InMemoryAggregation:
    idempotent = False

    def __init__(self, path: Path, *, flush_s: float = 0.5, delay_s: float = 0.0) -> None:
        self.name = "in-memory"
        self.flush_s = flush_s
        self.delay_s = delay_s
        self.conn = connect(path)
        self.conn.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        self.buffer: dict[str, int] = {}
        self.lock = threading.Lock()
        self.flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flusher, name="counter-inmemory-flush", daemon=True)
        self._thread.start()

    def add(self, counter: str, delta: int, token: Token) -> None:
        with self.lock:
            self.buffer[counter] = self.buffer.get(counter, 0) + delta

    def flush(self) -> None:
        """Write the buffered sums to the store."""
        with self.flush_lock:
            with self.lock:
                pending, self.buffer = self.buffer, {}
            if not pending:
                return
            if self.delay_s:
                time.sleep(self.delay_s)
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany("INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value=value+excluded.value",
                                  list(pending.items()))
            self.conn.execute("COMMIT")

    def crash(self) -> int:
        """Lose the buffer as a crash would; returns the increments lost."""
        self._stop.set()
        with self.lock:
            lost, self.buffer = sum(self.buffer.values()), {}
        return lost

    def _flusher(self) -> None:
        while not self._stop.wait(self.flush_s):
            self.flush()

    def get(self, counter: str) -> int:
        with self.flush_lock:
            row = self.conn.execute("SELECT value FROM counters WHERE name=?", (counter,)).fetchone()
        return int(row[0]) if row else 0

    def settle(self) -> None:
        if not self._stop.is_set():
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.conn.close()
