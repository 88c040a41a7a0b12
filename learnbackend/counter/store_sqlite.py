"""The embedded store: events, rollups, namespaces and durable rollup triggers in SQLite.

WAL mode with ``synchronous=NORMAL``: a committed transaction survives the death
of the process (kill -9) because it is in the WAL file; only an OS crash or power
loss could lose the last commits. Writes are batched (``executemany`` in one
transaction) because a commit, not a row, is what costs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from learnbackend.counter.namespaces import NamespaceConfig

SCHEMA = """
CREATE TABLE IF NOT EXISTS namespaces (name TEXT PRIMARY KEY, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counter_ids (
    id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, counter TEXT NOT NULL, UNIQUE (namespace, counter)
);
CREATE TABLE IF NOT EXISTS events (
    cid INTEGER NOT NULL,
    time_bucket INTEGER NOT NULL, event_bucket INTEGER NOT NULL,
    event_time INTEGER NOT NULL, event_id BLOB NOT NULL,
    kind INTEGER NOT NULL, delta INTEGER NOT NULL,
    PRIMARY KEY (cid, time_bucket, event_bucket, event_time, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollups (
    namespace TEXT NOT NULL, counter TEXT NOT NULL,
    count INTEGER NOT NULL, last_rollup_ts INTEGER NOT NULL,
    PRIMARY KEY (namespace, counter)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_triggers (
    namespace TEXT NOT NULL, counter TEXT NOT NULL, PRIMARY KEY (namespace, counter)
) WITHOUT ROWID;
"""
ADD, CLEAR = 0, 1
INSERT_EVENT = "INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?)"
INSERT_TRIGGER = "INSERT OR IGNORE INTO rollup_triggers VALUES (?,?)"
#: (counter id, time_bucket, event_bucket, event_time, event_id, kind, delta); the first five are the key.
EventRow = tuple[int, int, int, int, bytes, int, int]
# (namespace, counter) <-> small integer id, per database file: ids never change once given, so
# every connection in this process can share them (compact keys make the event log faster).
_IDS: dict[tuple[str, str, str], int] = {}
_NAMES: dict[tuple[str, int], tuple[str, str]] = {}


def connect(path: Path | str, *, timeout: float = 30.0) -> sqlite3.Connection:
    """A tuned autocommit connection (WAL, NORMAL sync, big cache), usable from any thread."""
    conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False,
                           cached_statements=256)
    conn.execute("PRAGMA page_size=16384")  # only takes effect on a new database
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint=4000")  # fewer, larger checkpoints: the fsyncs amortise
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


class Checkpointer:
    """Moves WAL checkpoints (the only fsyncs in WAL + NORMAL) off the write path into a thread.

    The writer connection runs with ``wal_autocheckpoint=0``; this thread runs a
    PASSIVE checkpoint every ``interval_s`` on its own connection, never blocking
    writers or readers.
    """

    def __init__(self, path: Path, interval_s: float = 0.5) -> None:
        self.conn = connect(path)
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="counter-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                pass  # busy or closing: the next round will do it

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.conn.close()


class SqliteStore:
    """One connection to the counter database, serialised by a lock.

    Open several stores on the same file for parallel readers; SQLite itself
    serialises writers (busy timeout 30 s).
    """

    def __init__(self, path: Path | str, *, store_delay_s: float = 0.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = connect(self.path)
        self.lock = threading.RLock()
        #: An injected round trip per write batch, to model a remote or slowed store (E9).
        self.store_delay_s = store_delay_s
        with self.lock:
            columns = [r[1] for r in self.conn.execute("PRAGMA table_info(events)")]
            if columns and "cid" not in columns:
                self.conn.close()
                from learnbackend.errors import UsageError

                raise UsageError(f"The counter database {self.path} was made by an older version of the lab.",
                                 fix=f"Delete it (rm {self.path}*) and start again; it holds only lab data.")
            self.conn.executescript(SCHEMA)

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # --- namespaces -------------------------------------------------------------------
    def put_namespace(self, config: NamespaceConfig) -> None:
        with self.lock:
            self.conn.execute("INSERT OR REPLACE INTO namespaces VALUES (?,?)", (config.name, json.dumps(config.to_dict())))

    def namespaces(self) -> dict[str, NamespaceConfig]:
        with self.lock:
            rows = self.conn.execute("SELECT config FROM namespaces").fetchall()
        configs = [NamespaceConfig(**json.loads(r[0])) for r in rows]
        return {c.name: c for c in configs}

    # --- counter ids ---------------------------------------------------------------------
    def cid(self, namespace: str, counter: str) -> int:
        """The counter's integer id in this database (created on first use)."""
        key = (str(self.path), namespace, counter)
        found = _IDS.get(key)
        if found is not None:
            return found
        with self.lock:
            self.conn.execute("INSERT OR IGNORE INTO counter_ids (namespace, counter) VALUES (?, ?)", (namespace, counter))
            found = int(self.conn.execute("SELECT id FROM counter_ids WHERE namespace=? AND counter=?",
                                          (namespace, counter)).fetchone()[0])
        _IDS[key] = found
        _NAMES[(str(self.path), found)] = (namespace, counter)
        return found

    def names(self, cid: int) -> tuple[str, str]:
        """(namespace, counter) of an id."""
        found = _NAMES.get((str(self.path), cid))
        if found is None:
            with self.lock:
                row = self.conn.execute("SELECT namespace, counter FROM counter_ids WHERE id=?", (cid,)).fetchone()
            found = _NAMES[(str(self.path), cid)] = (row[0], row[1])
        return found

    def counters(self, namespace: str) -> list[str]:
        with self.lock:
            return [r[0] for r in self.conn.execute("SELECT counter FROM counter_ids WHERE namespace=?", (namespace,))]

    # --- events -----------------------------------------------------------------------
    def write_batch(self, events: Sequence[EventRow], triggers: Iterable[tuple[str, str]] = (), *,
                    oldest: Callable[[int], int] | None = None) -> list[int]:
        """Append events (duplicates ignored by the idempotency key) and triggers in ONE transaction.

        ``oldest(cid)`` gives, at commit time, the oldest event time still accepted
        for that counter: a row that became late while waiting to be written (a stall,
        a slow store) is refused here, inside the write lock, so no rollup can have
        passed it. Returns the indexes of the refused rows (not written).
        """
        if self.store_delay_s:
            time.sleep(self.store_delay_s)
        refused: list[int] = []
        with self.lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                if oldest is not None and events:
                    limits = {cid: oldest(cid) for cid in {row[0] for row in events}}
                    if min(row[3] for row in events) < max(limits.values()):  # else: nothing can be late
                        keep = []
                        for i, row in enumerate(events):
                            if row[3] < limits[row[0]] and not self.event_exists(row[:5]):
                                refused.append(i)
                            else:
                                keep.append(row)
                        events = keep
                conn.executemany(INSERT_EVENT, events)
                if triggers:
                    conn.executemany(INSERT_TRIGGER, triggers)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return refused

    def event_exists(self, key: tuple[int, int, int, int, bytes]) -> bool:
        with self.lock:
            row = self.conn.execute(
                "SELECT 1 FROM events WHERE cid=? AND time_bucket=? AND event_bucket=? AND event_time=? AND event_id=?",
                key).fetchone()
        return row is not None

    def aggregate(self, namespace: str, counter: str, lo_us: int, hi_us: int, bucket_us: int) -> tuple[int, bool, int]:
        """Events in ``(lo_us, hi_us]``: (sum since the last clear, whether a clear was seen, events read)."""
        cid = self.cid(namespace, counter)
        args = (cid, lo_us // bucket_us, hi_us // bucket_us, lo_us, hi_us)
        where = "cid=? AND time_bucket BETWEEN ? AND ? AND event_time>? AND event_time<=?"
        with self.lock:
            clear = self.conn.execute(f"SELECT MAX(event_time) FROM events WHERE {where} AND kind=1", args).fetchone()[0]
            if clear is not None:
                args = (cid, clear // bucket_us, hi_us // bucket_us, clear, hi_us)
            total, n = self.conn.execute(f"SELECT COALESCE(SUM(delta),0), COUNT(*) FROM events WHERE {where} AND kind=0",
                                         args).fetchone()
        return int(total), clear is not None, int(n)

    def purge_events(self, namespace: str, before_us: int) -> int:
        """Delete events older than ``before_us`` that every rollup of the namespace has covered."""
        with self.lock:
            cur = self.conn.execute(
                "DELETE FROM events WHERE cid IN (SELECT id FROM counter_ids WHERE namespace=?) AND event_time<? "
                "AND event_time <= COALESCE((SELECT r.last_rollup_ts FROM rollups r JOIN counter_ids c "
                "ON r.namespace=c.namespace AND r.counter=c.counter WHERE c.id=events.cid), -1)",
                (namespace, before_us))
            return cur.rowcount

    def count_events(self, namespace: str | None = None) -> int:
        with self.lock:
            if namespace is None:
                return int(self.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
            return int(self.conn.execute("SELECT COUNT(*) FROM events WHERE cid IN "
                                         "(SELECT id FROM counter_ids WHERE namespace=?)", (namespace,)).fetchone()[0])

    # --- rollups (count and checkpoint: one row, written together) ----------------------
    def get_rollup(self, namespace: str, counter: str) -> tuple[int, int]:
        """(count, last_rollup_ts); (0, 0) before the first rollup."""
        with self.lock:
            row = self.conn.execute("SELECT count, last_rollup_ts FROM rollups WHERE namespace=? AND counter=?",
                                    (namespace, counter)).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def put_rollup(self, namespace: str, counter: str, count: int, last_ts: int, *, forward_only: bool = True) -> bool:
        """Store (count, checkpoint) as one row; with forward_only a rollup never moves it backwards."""
        guard = " WHERE excluded.last_rollup_ts > rollups.last_rollup_ts" if forward_only else ""
        with self.lock:
            cur = self.conn.execute(
                "INSERT INTO rollups VALUES (?,?,?,?) ON CONFLICT(namespace, counter) DO UPDATE SET "
                "count=excluded.count, last_rollup_ts=excluded.last_rollup_ts" + guard,
                (namespace, counter, count, last_ts))
            return cur.rowcount > 0

    # --- durable rollup triggers (used when rollup runs in its own process) -------------
    def take_triggers(self, limit: int = 1000) -> list[tuple[str, str]]:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                rows = self.conn.execute("SELECT namespace, counter FROM rollup_triggers LIMIT ?", (limit,)).fetchall()
                self.conn.executemany("DELETE FROM rollup_triggers WHERE namespace=? AND counter=?", rows)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return [(r[0], r[1]) for r in rows]
