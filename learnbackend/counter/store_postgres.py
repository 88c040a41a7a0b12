"""The shared store of the cluster: event log, rollups, namespaces and triggers in PostgreSQL.

Same engine contract as :class:`~learnbackend.counter.store_sqlite.SqliteStore`
(the engine, the rollup and the HTTP service run unchanged on either), so N
nodes on one machine, or on several, share one event log and one rollup store.

- **Event log, partitioned by time** (declarative partitioning, like the time
  slices of Netflix's TimeSeries store): ``events`` is ``PARTITION BY RANGE
  (event_time)``, one partition per :data:`SLICE_SECONDS`; the key is
  ``(cid, time_bucket, event_bucket, event_time, event_id)``, so a counter's
  events are spread over time buckets and event buckets (no wide partition) and
  the key is the idempotency key: ``ON CONFLICT DO NOTHING`` makes a replayed
  token a no-op, whichever node it reaches. Old slices can be dropped whole.
- **Rollups**: ``(count, last_rollup_ts)`` in one row, written together and only
  forwards; ``last_write_ts`` beside them, written in the same transaction as the
  events, so any node can find a counter whose rollup has not caught up (a
  trigger lost with a killed node's in-memory queue) and queue it again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from learnbackend.counter.namespaces import NamespaceConfig
from learnbackend.counter.store_sqlite import NOTE_STEP_US, ConfigMismatch, EventRow, StoreBusy, Trigger, WriteOutcome
from learnbackend.errors import EnvironmentMissing

#: Width of one partition of the event log (a time slice), in seconds.
SLICE_SECONDS = 3600
SLICE_US = SLICE_SECONDS * 1_000_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS namespaces (name TEXT PRIMARY KEY, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counter_ids (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, namespace TEXT NOT NULL, counter TEXT NOT NULL,
    UNIQUE (namespace, counter)
);
CREATE TABLE IF NOT EXISTS events (
    cid BIGINT NOT NULL,
    time_bucket BIGINT NOT NULL, event_bucket INTEGER NOT NULL,
    event_time BIGINT NOT NULL, event_id BYTEA NOT NULL,
    kind SMALLINT NOT NULL, delta BIGINT NOT NULL,
    PRIMARY KEY (cid, time_bucket, event_bucket, event_time, event_id)
) PARTITION BY RANGE (event_time);
CREATE TABLE IF NOT EXISTS rollups (
    namespace TEXT NOT NULL, counter TEXT NOT NULL,
    count BIGINT NOT NULL, last_rollup_ts BIGINT NOT NULL,
    last_write_ts BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (namespace, counter)
);
CREATE INDEX IF NOT EXISTS rollups_behind ON rollups (namespace, counter) WHERE last_write_ts > last_rollup_ts;
CREATE TABLE IF NOT EXISTS rollup_triggers (
    namespace TEXT NOT NULL, counter TEXT NOT NULL, due BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (namespace, counter)
);
"""
INSERT_EVENTS = ("INSERT INTO events SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::bigint[], "
                 "%s::bytea[], %s::smallint[], %s::bigint[]) ON CONFLICT DO NOTHING")
NOTE_WRITES = ("INSERT INTO rollups (namespace, counter, count, last_rollup_ts, last_write_ts) "
               "SELECT n, c, 0, 0, w FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS t(n, c, w) "
               "ON CONFLICT (namespace, counter) DO UPDATE SET "
               "last_write_ts = GREATEST(rollups.last_write_ts, excluded.last_write_ts)")
INSERT_TRIGGERS = ("INSERT INTO rollup_triggers (namespace, counter, due) "
                   "SELECT n, c, d FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS t(n, c, d) "
                   "ON CONFLICT (namespace, counter) DO UPDATE SET due = LEAST(rollup_triggers.due, excluded.due)")
# (url, namespace, counter) <-> id: ids never change once given, so every store of this process shares them.
_IDS: dict[tuple[str, str, str], int] = {}
_NAMES: dict[tuple[str, int], tuple[str, str]] = {}
_SCHEMA_LOCK = threading.Lock()


def is_postgres_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def slice_of(event_time_us: int) -> int:
    """The partition (time slice) an event time falls in: its first microsecond."""
    return event_time_us - event_time_us % SLICE_US


def connect(url: str) -> Any:
    """An autocommit psycopg connection; EnvironmentMissing (exit 3) when PostgreSQL does not answer."""
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EnvironmentMissing(f"Cannot reach PostgreSQL at {redact(url)}: {first}",
                                 fix="Start it, or leave --store out: `counter cluster` starts its own.") from None


def redact(url: str) -> str:
    """The URL without its password (for messages)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresStore:
    """One connection to the shared counter database, serialised by a lock (open several for parallelism)."""

    kind = "postgresql"

    def __init__(self, url: str, *, store_delay_s: float = 0.0, timeout: float = 30.0) -> None:
        self.url = url
        self.conn = connect(url)
        self.lock = threading.RLock()
        self.store_delay_s = store_delay_s
        self.timeout = timeout
        self._noted: dict[int, int] = {}
        self._slices: set[int] = set()  # partitions known to exist
        with _SCHEMA_LOCK, self.lock:
            self._create_schema()

    def _create_schema(self) -> None:
        import psycopg

        for _ in range(5):  # nodes starting together race on CREATE ... IF NOT EXISTS (catalog unique index)
            try:
                with self.conn.transaction():
                    self.conn.execute("SELECT pg_advisory_xact_lock(7011)")
                    self.conn.execute(SCHEMA)
                return
            except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject):
                time.sleep(0.05)

    def _q(self, sql: Any, args: Any = None) -> Any:
        """Execute one statement; a connection broken under it (PostgreSQL restarted, a failover, the backend
        terminated) is reopened and the statement sent once more. Every statement sent here is idempotent."""
        import psycopg

        with self.lock:
            try:
                return self.conn.execute(sql, args)
            except psycopg.OperationalError:
                if not (self.conn.broken or self.conn.closed):
                    raise
                self.conn = connect(self.url)
                return self.conn.execute(sql, args)

    @property
    def path(self) -> str:
        """Where the store is, for messages (the URL without its password)."""
        return redact(self.url)

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # --- partitions -----------------------------------------------------------------------
    def ensure_slices(self, event_times: Iterable[int]) -> None:
        """Create the partitions these event times fall in (outside any write transaction)."""
        import psycopg

        for start in {slice_of(t) for t in event_times} - self._slices:
            name = f"events_s{start // SLICE_US}"
            for _ in range(5):
                try:
                    with self.lock, self.conn.transaction():
                        self.conn.execute("SELECT pg_advisory_xact_lock(7012)")
                        if self.conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is None:
                            self.conn.execute(f"CREATE TABLE {name} PARTITION OF events "
                                              f"FOR VALUES FROM ({start}) TO ({start + SLICE_US})")
                    break
                except (psycopg.errors.DuplicateTable, psycopg.errors.UniqueViolation):
                    time.sleep(0.02)
            self._slices.add(start)

    def partitions(self) -> list[str]:
        """The event log's partitions (time slices), oldest first."""
        with self.lock:
            rows = self._q("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                     "WHERE i.inhparent = 'events'::regclass ORDER BY c.relname").fetchall()
        return [r[0] for r in rows]

    # --- namespaces -------------------------------------------------------------------
    def put_namespace(self, config: NamespaceConfig) -> bool:
        """Create a namespace; True if created, False if an identical one exists; ConfigMismatch otherwise."""
        with self.lock:
            cur = self._q("INSERT INTO namespaces VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                    (config.name, json.dumps(config.to_dict())))
            if cur.rowcount:
                return True
            row = self._q("SELECT config FROM namespaces WHERE name=%s", (config.name,)).fetchone()
        existing = NamespaceConfig(**json.loads(row[0]))
        if existing != config:
            raise ConfigMismatch(existing)
        return False

    def namespaces(self) -> dict[str, NamespaceConfig]:
        with self.lock:
            rows = self._q("SELECT config FROM namespaces").fetchall()
        configs = [NamespaceConfig(**json.loads(r[0])) for r in rows]
        return {c.name: c for c in configs}

    # --- counter ids ---------------------------------------------------------------------
    def cid(self, namespace: str, counter: str) -> int:
        found = self.lookup_cid(namespace, counter)
        if found is not None:
            return found
        with self.lock:
            self._q("INSERT INTO counter_ids (namespace, counter) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                              (namespace, counter))
        found = self.lookup_cid(namespace, counter)
        assert found is not None
        return found

    def lookup_cid(self, namespace: str, counter: str) -> int | None:
        key = (self.url, namespace, counter)
        found = _IDS.get(key)
        if found is not None:
            return found
        with self.lock:
            row = self._q("SELECT id FROM counter_ids WHERE namespace=%s AND counter=%s",
                                    (namespace, counter)).fetchone()
        if row is None:
            return None
        found = _IDS[key] = int(row[0])
        _NAMES[(self.url, found)] = (namespace, counter)
        return found

    def names(self, cid: int) -> tuple[str, str]:
        found = _NAMES.get((self.url, cid))
        if found is None:
            with self.lock:
                row = self._q("SELECT namespace, counter FROM counter_ids WHERE id=%s", (cid,)).fetchone()
            found = _NAMES[(self.url, cid)] = (row[0], row[1])
        return found

    def counters(self, namespace: str) -> list[str]:
        with self.lock:
            return [r[0] for r in self._q("SELECT counter FROM counter_ids WHERE namespace=%s", (namespace,))]

    # --- events -----------------------------------------------------------------------
    def write_batch(self, events: Sequence[EventRow], triggers: Iterable[Trigger] = (), *,
                    oldest: Callable[[int], int] | None = None) -> list[int]:
        """Append events (replays ignored by the key), last-write notes and triggers in ONE transaction.

        Rows are written in key order (two nodes writing the same keys lock them in
        the same order: no deadlock). ``oldest(cid)`` is checked just before the
        insert: a row that became late while queued is refused (its index returned).
        """
        if self.store_delay_s:
            time.sleep(self.store_delay_s)
        if any(type(row[0]) is not int for row in events):
            events = [row if type(row[0]) is int else (self.cid(*row[0]),) + tuple(row[1:])  # type: ignore[misc]
                      for row in events]
        self.ensure_slices(row[3] for row in events)
        order = sorted(range(len(events)), key=lambda i: events[i][:5])
        triggers = sorted(triggers)
        refused: list[int] = []
        with self.lock, self.conn.transaction():
            keep: list[EventRow] = []
            if oldest is not None and events:
                limits = {cid: oldest(cid) for cid in {row[0] for row in events}}
                for i in order:
                    row = events[i]
                    if row[3] < limits[row[0]] and not self.event_exists(row[:5]):
                        refused.append(i)
                    else:
                        keep.append(row)
            else:
                keep = [events[i] for i in order]
            if keep:
                self.conn.execute(INSERT_EVENTS, [list(col) for col in zip(*keep, strict=True)])
            newest: dict[int, int] = {}
            for row in keep:
                if row[3] > self._noted.get(row[0], -1) and row[3] > newest.get(row[0], -1):
                    newest[row[0]] = row[3]
            if newest:  # rounded up to the next step: a busy counter is noted about once per step per node
                notes = sorted((*self.names(cid), (ts // NOTE_STEP_US + 1) * NOTE_STEP_US) for cid, ts in newest.items())
                self.conn.execute(NOTE_WRITES, [list(col) for col in zip(*notes, strict=True)])
            if triggers:
                self.conn.execute(INSERT_TRIGGERS, [list(col) for col in zip(*triggers, strict=True)])
        for cid, ts in newest.items():
            self._noted[cid] = (ts // NOTE_STEP_US + 1) * NOTE_STEP_US
        return sorted(refused)

    def write_isolated(self, events: Sequence[EventRow], triggers: Callable[[Sequence[EventRow]], list[Trigger]], *,
                       oldest: Callable[[], Callable[[int], int]] | None = None,
                       busy_deadline_s: float = 30.0, raise_busy: bool = False) -> WriteOutcome:
        """Write a batch; one bad row never fails its neighbours (a failed batch is retried row by row).

        A lost connection (PostgreSQL restarted) is reopened once; when it cannot be,
        every row fails with StoreBusy (HTTP 503: retry with the same token).
        """
        import psycopg

        try:
            return WriteOutcome(set(self.write_batch(events, triggers(events), oldest=oldest() if oldest else None)))
        except psycopg.OperationalError as exc:
            if not self._reconnect():
                busy = StoreBusy(f"PostgreSQL is unreachable: {str(exc).strip()[:200]}")
                if raise_busy:
                    raise busy from None
                return WriteOutcome(errors={i: busy for i in range(len(events))})
        except Exception as exc:  # noqa: BLE001 (any other failure: retried row by row below)
            if len(events) == 1:
                return WriteOutcome(errors={0: exc})
        outcome = WriteOutcome()
        for i, row in enumerate(events):
            one = self.write_isolated([row], triggers, oldest=oldest, busy_deadline_s=busy_deadline_s,
                                      raise_busy=raise_busy)
            if one.refused:
                outcome.refused.add(i)
            if one.errors:
                outcome.errors[i] = one.errors[0]
        return outcome

    def _reconnect(self) -> bool:
        with self.lock:
            if not self.conn.closed and not self.conn.broken:
                return True
            try:
                self.conn = connect(self.url)
            except EnvironmentMissing:
                return False
        return True

    def event_exists(self, key: tuple[int, int, int, int, bytes]) -> bool:
        with self.lock:
            row = self._q("SELECT 1 FROM events WHERE cid=%s AND time_bucket=%s AND event_bucket=%s "
                                    "AND event_time=%s AND event_id=%s", key).fetchone()
        return row is not None

    def aggregate(self, namespace: str, counter: str, lo_us: int, hi_us: int, bucket_us: int,
                  event_buckets: int | None = None) -> tuple[int, bool, int]:
        """Events in ``(lo_us, hi_us]``: (sum since the last clear, whether a clear was seen, events read).

        (``event_buckets`` is for SQLite's seeks; here the time-bucket partitions bound the read.)"""
        cid = self.lookup_cid(namespace, counter)
        if cid is None:
            return 0, False, 0
        where = "cid=%s AND time_bucket BETWEEN %s AND %s AND event_time>%s AND event_time<=%s"
        args: tuple[int, ...] = (cid, lo_us // bucket_us, hi_us // bucket_us, lo_us, hi_us)
        with self.lock:
            clear = self._q(f"SELECT MAX(event_time) FROM events WHERE {where} AND kind=1", args).fetchone()[0]
            if clear is not None:
                args = (cid, clear // bucket_us, hi_us // bucket_us, clear, hi_us)
            total, n = self._q(f"SELECT COALESCE(SUM(delta),0), COUNT(*) FROM events WHERE {where} "
                                         "AND kind=0", args).fetchone()
        return int(total), clear is not None, int(n)

    def purge_events(self, namespace: str, before_us: int, bucket_us: int | None = None) -> int:
        """Delete events older than ``before_us`` that every rollup of the namespace has covered.

        (``bucket_us`` is for SQLite's sake: PostgreSQL's DELETE does not block inserts.)"""
        with self.lock:
            cur = self._q(
                "DELETE FROM events e USING counter_ids c, rollups r WHERE c.id = e.cid AND c.namespace = %s "
                "AND r.namespace = c.namespace AND r.counter = c.counter AND e.event_time < %s "
                "AND e.event_time <= r.last_rollup_ts", (namespace, before_us))
            return int(cur.rowcount)

    def count_events(self, namespace: str | None = None) -> int:
        with self.lock:
            if namespace is None:
                return int(self._q("SELECT COUNT(*) FROM events").fetchone()[0])
            return int(self._q("SELECT COUNT(*) FROM events WHERE cid IN "
                                         "(SELECT id FROM counter_ids WHERE namespace=%s)", (namespace,)).fetchone()[0])

    # --- rollups ---------------------------------------------------------------------------
    def get_rollup(self, namespace: str, counter: str) -> tuple[int, int]:
        count, last, _ = self.rollup_state(namespace, counter)
        return count, last

    def rollup_state(self, namespace: str, counter: str) -> tuple[int, int, int]:
        """(count, last_rollup_ts, last_write_ts); zeros before the first write."""
        with self.lock:
            row = self._q("SELECT count, last_rollup_ts, last_write_ts FROM rollups WHERE namespace=%s "
                                    "AND counter=%s", (namespace, counter)).fetchone()
        return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)

    def put_rollup(self, namespace: str, counter: str, count: int, last_ts: int, *, forward_only: bool = True) -> bool:
        """Store (count, checkpoint) as one row; with forward_only a rollup never moves it backwards."""
        guard = " WHERE excluded.last_rollup_ts > rollups.last_rollup_ts" if forward_only else ""
        with self.lock:
            cur = self._q(
                "INSERT INTO rollups (namespace, counter, count, last_rollup_ts) VALUES (%s,%s,%s,%s) "
                "ON CONFLICT (namespace, counter) DO UPDATE SET "
                "count=excluded.count, last_rollup_ts=excluded.last_rollup_ts" + guard,
                (namespace, counter, count, last_ts))
            return int(cur.rowcount) > 0

    def behind(self, limit: int = 1000) -> list[tuple[str, str, int]]:
        """Counters whose checkpoint is behind their last write: (namespace, counter, last_write_ts)."""
        with self.lock:
            rows = self._q("SELECT namespace, counter, last_write_ts FROM rollups "
                                     "WHERE last_write_ts > last_rollup_ts LIMIT %s", (limit,)).fetchall()
        return [(r[0], r[1], int(r[2])) for r in rows]

    # --- durable rollup triggers ---------------------------------------------------------------
    def pending_triggers(self, limit: int = 1000) -> list[Trigger]:
        with self.lock:
            rows = self._q("SELECT namespace, counter, due FROM rollup_triggers ORDER BY due LIMIT %s",
                                     (limit,)).fetchall()
        return [(r[0], r[1], int(r[2])) for r in rows]

    def done_trigger(self, namespace: str, counter: str, started_us: int) -> None:
        with self.lock:
            self._q("DELETE FROM rollup_triggers WHERE namespace=%s AND counter=%s AND due<=%s",
                              (namespace, counter, started_us))

    def add_triggers(self, triggers: Iterable[Trigger]) -> None:
        rows = sorted(triggers)
        if rows:
            with self.lock:
                self._q(INSERT_TRIGGERS, [list(col) for col in zip(*rows, strict=True)])

    # --- what the SQLite store reports about its WAL -------------------------------------------
    def wal_bytes(self) -> int:
        """0: PostgreSQL manages its own WAL (checkpoints and recycling are the server's job)."""
        return 0

    def checkpoint(self, mode: str = "TRUNCATE") -> tuple[int, int, int]:
        return 0, 0, 0


def open_stores(url: str, store_delay_s: float = 0.0) -> tuple[PostgresStore, PostgresStore, PostgresStore]:
    """The engine's three connections (writer, reader, rollup), as SqliteStore gives it three."""
    return (PostgresStore(url, store_delay_s=store_delay_s), PostgresStore(url), PostgresStore(url))
