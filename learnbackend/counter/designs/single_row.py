"""One row per counter: every increment serialises on the row.

``cas=False``: the row lock is held across the store round trip (``delay_s``).
``cas=True``: read, round trip, then ``UPDATE ... WHERE value = old``; a lost
race retries. Both are exact without retries and double-count a retried request.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from learnbackend.counter.store_sqlite import connect
from learnbackend.counter.tokens import Token


class SingleRowDesign:
    idempotent = False

    def __init__(self, path: Path, *, cas: bool = False, delay_s: float = 0.0) -> None:
        self.name = "cas-row" if cas else "single-row"
        self.cas = cas
        self.delay_s = delay_s
        self.conn = connect(path)
        self.conn.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        self.statement_lock = threading.Lock()  # one connection: statements take turns (microseconds)
        self.row_locks: dict[str, threading.Lock] = {}
        self.cas_retries = 0

    def _row_lock(self, counter: str) -> threading.Lock:
        return self.row_locks.setdefault(counter, threading.Lock())

    def _read(self, counter: str) -> int:
        with self.statement_lock:
            row = self.conn.execute("SELECT value FROM counters WHERE name=?", (counter,)).fetchone()
        return int(row[0]) if row else 0

    def add(self, counter: str, delta: int, token: Token) -> None:
        if not self.cas:
            with self._row_lock(counter):
                if self.delay_s:
                    time.sleep(self.delay_s)  # the round trip while the row lock is held
                with self.statement_lock:
                    self.conn.execute("INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value=value+?",
                                      (counter, delta, delta))
            return
        while True:
            old = self._read(counter)
            if self.delay_s:
                time.sleep(self.delay_s)  # the round trip between read and write: the race window
            with self.statement_lock:
                if old == 0:
                    self.conn.execute("INSERT OR IGNORE INTO counters VALUES (?, 0)", (counter,))
                cur = self.conn.execute("UPDATE counters SET value=? WHERE name=? AND value=?", (old + delta, counter, old))
            if cur.rowcount == 1:
                return
            self.cas_retries += 1

    def get(self, counter: str) -> int:
        return self._read(counter)

    def settle(self) -> None:
        pass

    def close(self) -> None:
        self.conn.close()
