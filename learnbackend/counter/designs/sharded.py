"""K rows per counter: an add picks a random shard, a read sums all K.

Writers on different shards do not wait for each other, so throughput grows
with K; a read costs K row reads; a retried add still double-counts.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from learnbackend.counter.store_sqlite import connect
from learnbackend.counter.tokens import Token


class ShardedDesign:
    idempotent = False

    def __init__(self, path: Path, *, shards: int = 8, delay_s: float = 0.0) -> None:
        self.name = "sharded"
        self.shards = shards
        self.delay_s = delay_s
        self.conn = connect(path)
        self.conn.execute("CREATE TABLE IF NOT EXISTS shards (name TEXT, shard INTEGER, value INTEGER NOT NULL,"
                          " PRIMARY KEY (name, shard)) WITHOUT ROWID")
        self.statement_lock = threading.Lock()
        self.locks = [threading.Lock() for _ in range(shards)]
        self.rows_read = 0

    def add(self, counter: str, delta: int, token: Token) -> None:
        shard = random.randrange(self.shards)
        with self.locks[shard]:  # the row lock of this shard only
            if self.delay_s:
                time.sleep(self.delay_s)
            with self.statement_lock:
                self.conn.execute("INSERT INTO shards VALUES (?,?,?) ON CONFLICT(name, shard) DO UPDATE SET value=value+?",
                                  (counter, shard, delta, delta))

    def get(self, counter: str) -> int:
        total = 0
        for shard in range(self.shards):  # K reads: the price of spreading the writes
            with self.statement_lock:
                row = self.conn.execute("SELECT value FROM shards WHERE name=? AND shard=?", (counter, shard)).fetchone()
            self.rows_read += 1
            total += int(row[0]) if row else 0
        return total

    def settle(self) -> None:
        pass

    def close(self) -> None:
        self.conn.close()
