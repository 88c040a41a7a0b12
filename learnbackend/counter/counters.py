"""The counter engine: AddCount, AddAndGetCount, GetCount, ClearCount over namespaces.

Write path (eventual / accurate): admit the event (late check) → write it
durably (group commit) → acknowledge → fire-and-forget rollup trigger. Read path:
the cached ``(count, checkpoint)`` value, plus a rollup trigger so a lost trigger
heals on the next read. Best-effort counters go to Redis ``INCRBY`` (or, with no
Redis, to this process's memory).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

from learnbackend.counter.cache import MemoryCache, RollupCache
from learnbackend.counter.eventlog import EventLog, GroupCommitWriter, LateEvent, hex_id
from learnbackend.counter.namespaces import (
    MAX_DELTA,
    NamespaceConfig,
    check_config,
    check_delta,
    check_name,
)
from learnbackend.counter.rollup import RollupResult, accurate_count, rollup_counter
from learnbackend.counter.rollup_queue import RollupQueues
from learnbackend.counter.store_postgres import is_postgres_url
from learnbackend.counter.store_sqlite import (
    ADD,
    CLEAR,
    WAL_CHECKPOINT_BYTES,
    Checkpointer,
    ConfigMismatch,
    EventRow,
    SqliteStore,
    StoreBusy,
    Trigger,
    WriteOutcome,
)
from learnbackend.counter.tokens import US, Token, new_token, now_us
from learnbackend.errors import EnvironmentMissing, NotFoundError, UsageError

T = TypeVar("T")


class UnknownNamespace(NotFoundError):
    """No namespace of that name."""


class NamespaceConflict(UsageError):
    """A namespace of that name exists with another configuration (HTTP 409)."""


class StoreUnavailable(EnvironmentMissing):
    """The database stayed locked by another connection (HTTP 503)."""


@dataclass
class CountResult:
    """A GetCount answer."""

    namespace: str
    counter: str
    count: int
    type: str
    last_rollup_ts: int = 0
    events_read: int = 0


@dataclass
class EngineOptions:
    """How the engine runs its rollups and writes."""

    queues: int = 8
    batch: int = 32
    coalesce_s: float = 0.05
    capacity: int | None = 10_000
    rollup: str = "thread"  # thread | process (durable triggers, rolled up elsewhere) | off
    group_commit: bool = True
    store_delay_s: float = 0.0
    retention_check_s: float = 60.0  # how often events past their namespace's retention are purged
    sweep_s: float = 2.0  # how often counters whose checkpoint is behind their last write are re-queued
    #: The writer connection's SQLite busy timeout. The service's writer process uses 0 and retries a
    #: busy batch in short steps (so it can count the batches that met another connection's lock).
    writer_busy_timeout_s: float = 5.0
    #: Run the WAL checkpointer thread (off in an HTTP process whose writer process checkpoints).
    checkpoints: bool = True


class CounterEngine:
    """One process's view of the counter service over one SQLite file (and maybe Redis)."""

    def __init__(self, db_path: Path | str, *, redis_url: str | None = None, options: EngineOptions | None = None,
                 clock: Callable[[], int] = now_us) -> None:
        self.options = options or EngineOptions()
        self.clock = clock
        self.checkpointer: Checkpointer | None = None
        if is_postgres_url(db_path):  # the cluster's shared store: same contract, several nodes
            from learnbackend.counter.store_postgres import open_stores

            self.store, self.read_store, self.rollup_store = cast(
                "tuple[SqliteStore, SqliteStore, SqliteStore]", open_stores(str(db_path), self.options.store_delay_s))
        else:
            #: The writer's connection: event batches, namespaces, triggers. Short busy timeout, retried.
            self.store = SqliteStore(db_path, store_delay_s=self.options.store_delay_s,
                                     timeout=self.options.writer_busy_timeout_s)
            self.store.conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints happen off the write path
            if self.options.checkpoints:
                self.checkpointer = Checkpointer(Path(db_path))
            #: Reads only (admission, GetCount): never waits for the write lock.
            self.read_store = SqliteStore(db_path)
            #: The rollup threads' connection (reads events, writes checkpoints).
            self.rollup_store = SqliteStore(db_path)
        self.log = EventLog(self.read_store, clock)
        self.cache: RollupCache = MemoryCache()
        self.redis_counters = None
        self._memory_best_effort: dict[tuple[str, str], int] = {}
        self._be_lock = threading.Lock()
        if redis_url:
            from learnbackend.counter.store_redis import (
                RedisCache,
                RedisCounters,
                connect,
            )

            client = connect(redis_url)
            self.redis_counters = RedisCounters(client)
            self.cache = RedisCache(client)
        self._namespaces = self.store.namespaces()
        self._next_wal_check = 0.0
        #: counter id -> its namespace's accept limit (µs), for the late check inside each write
        self._accept_us: dict[int, int] = {}
        #: counter key (id or names) -> (namespace, counter, lag µs), for the rollup trigger after each commit
        self._trigger_keys: dict[tuple[str, str] | int, tuple[str, str, int]] = {}
        self.writer = (GroupCommitWriter(self.write_rows_each, late_error=self.late_error)
                       if self.options.group_commit else None)
        self._stop_retention = threading.Event()
        if self.options.rollup != "off" and self.options.retention_check_s > 0:
            threading.Thread(target=self._retention_loop, name="counter-retention", daemon=True).start()
        self.queues = (RollupQueues(self._rollup_by_name, queues=self.options.queues, batch=self.options.batch,
                                    coalesce_s=self.options.coalesce_s, capacity=self.options.capacity)
                       if self.options.rollup == "thread" else None)
        if self.queues is not None and self.options.sweep_s > 0:
            threading.Thread(target=self._sweep_loop, name="counter-sweep", daemon=True).start()

    # --- namespaces ---------------------------------------------------------------------
    def create_namespace(self, config: NamespaceConfig) -> NamespaceConfig:
        return self.ensure_namespace(config)[0]

    def ensure_namespace(self, config: NamespaceConfig) -> tuple[NamespaceConfig, bool]:
        """Create a namespace: (config, True if new). The same config again is a no-op;
        another config under the same name raises NamespaceConflict (never a silent replace)."""
        check_config(config)
        try:
            created = retry_busy(lambda: self.store.put_namespace(config))
        except ConfigMismatch as exc:
            raise NamespaceConflict(f"Namespace {config.name!r} exists with another configuration.",
                                  fix="Use another name, or the existing configuration: "
                                      + ", ".join(f"{k}={v}" for k, v in exc.existing.to_dict().items()
                                                  if k not in ("name", "extra"))) from None
        self._namespaces[config.name] = config
        return config, created

    def namespace(self, name: str) -> NamespaceConfig:
        config = self._namespaces.get(name)
        if config is None:
            self._namespaces = self.read_store.namespaces()  # another process may have created it
            config = self._namespaces.get(name)
        if config is None:
            raise UnknownNamespace(f"Unknown namespace {name!r}.", fix="Create it first (POST /v1/namespaces).")
        return config

    # --- writes ------------------------------------------------------------------------
    def prepare_add(self, namespace: str, counter: str, delta: int, token: Token | None = None, *,
                    kind: int = ADD) -> EventRow | int | None:
        """Validate an AddCount/ClearCount: the event row to write, ``None`` for a stored replay,
        or (best effort, applied at once) the new value."""
        config = self.namespace(namespace)
        check_name(counter, "counter")
        check_delta(delta)
        if config.type == "best_effort":
            return self._best_effort(config.name, counter, delta, kind)
        return self.log.admit(config, counter, kind, delta, token or new_token(self.clock()))

    def write_rows_each(self, rows: list[EventRow], *, wait: bool = True) -> WriteOutcome:
        """Write prepared rows in one transaction (a failing batch is retried row by row), then trigger
        the rollups of what was written. ``wait=False`` (on an event loop): never wait for a lock held
        by another connection, raise StoreBusy at once instead; ``wait=True`` (a writer thread): wait
        it out in short steps, up to 30 s."""
        outcome = self.store.write_isolated(rows, self._durable_triggers, oldest=self.oldest_accepted,
                                            busy_deadline_s=30.0 if wait else 0.0, raise_busy=not wait)
        if wait:
            self.bound_wal()
        for i, exc in list(outcome.errors.items()):
            if isinstance(exc, StoreBusy):
                outcome.errors[i] = StoreUnavailable(str(exc), fix="Another program holds the database's write "
                                                     "lock; stop it and retry with the same token.")
        self.committed([r for i, r in enumerate(rows) if i not in outcome.refused and i not in outcome.errors])
        return outcome

    def committed(self, rows: Iterable[EventRow]) -> None:
        """Rows now durable (written here or by a writer process): queue their counters' rollups."""
        if self.queues is not None:
            self._after_commit(self._newest(rows))

    def bound_wal(self) -> None:
        """Keep the WAL small, from the writer (no write of ours is in flight), without stalling it.

        The checkpointer thread has just copied nearly every frame into the database; once
        the WAL holds more than WAL_CHECKPOINT_BYTES, a PASSIVE checkpoint here, within
        10 ms of the thread's, copies the few frames committed since, so the next commit starts
        the WAL again from its beginning (journal_size_limit truncates a larger file).
        A RESTART checkpoint would do the same but block every writer for the whole
        copy and sync: under load that was the p99. Without a checkpointer thread
        (another process checkpoints), the file's size decides and a RESTART is tried.
        """
        import time

        now = time.monotonic()
        checkpointer = self.checkpointer
        try:
            if checkpointer is None:
                if now >= self._next_wal_check and self.store.wal_bytes() > WAL_CHECKPOINT_BYTES:
                    self._next_wal_check = now + 0.25
                    self.store.checkpoint("RESTART")
            elif checkpointer.log_bytes > WAL_CHECKPOINT_BYTES and now - checkpointer.done_at < 0.01:
                busy, log, done = self.store.checkpoint("PASSIVE")
                if not busy and done == log:
                    checkpointer.log_frames = 0  # the next commit restarts the WAL
        except Exception:  # noqa: BLE001, S110 - busy or closing: the next check tries again
            pass

    @staticmethod
    def _newest(rows: Iterable[EventRow]) -> dict[tuple[str, str] | int, int]:
        newest: dict[tuple[str, str] | int, int] = {}
        for row in rows:
            key = row[0]
            if row[3] > newest.get(key, -1):
                newest[key] = row[3]
        return newest

    def _durable_triggers(self, rows: Iterable[EventRow]) -> list[Trigger]:
        """With a rollup process: one durable trigger per counter, due when its newest event leaves the mutable window."""
        if self.options.rollup != "process":
            return []
        triggers = []
        for key, ts in self._newest(rows).items():
            namespace, counter = key if isinstance(key, tuple) else self.store.names(key)
            triggers.append((namespace, counter, ts + self.namespace(namespace).lag_us))
        return triggers

    def oldest_accepted(self) -> Callable[[int], int]:
        """For write_batch: counter id -> oldest event time its namespace still accepts, read at commit time
        (the first call, inside the write lock, reads the clock once for the transaction)."""
        accept = self._accept_us
        now: list[int] = []

        def oldest(cid: int) -> int:
            if not now:
                now.append(self.clock())
            found = accept.get(cid)
            if found is None:  # a namespace's config never changes: its accept limit is kept per counter id
                if len(accept) >= 100_000:
                    accept.clear()
                found = accept[cid] = self.namespace(self.store.names(cid)[0]).accept_us
            return now[0] - found

        return oldest

    def submit_add(self, namespace: str, counter: str, delta: int, token: Token | None = None, *,
                   kind: int = ADD) -> Future[None] | int:
        """Start an AddCount: a Future resolved once durable, or (best effort) the new value."""
        row = self.prepare_add(namespace, counter, delta, token, kind=kind)
        if isinstance(row, int):
            return row
        if row is not None and self.writer is not None:
            return self.writer.submit(row)
        if row is not None:
            outcome = self.write_rows_each([row])
            if outcome.errors:
                raise outcome.errors[0]
            if outcome.refused:
                raise self.late_error()
        done: Future[None] = Future()
        done.set_result(None)
        return done

    def add_count(self, namespace: str, counter: str, delta: int, token: Token | None = None) -> None:
        """AddCount: returns once the event is durable (or counted, for best effort)."""
        pending = self.submit_add(namespace, counter, delta, token)
        if isinstance(pending, Future):
            pending.result()

    def add_counts(self, items: Iterable[tuple[str, str, int, Token]]) -> int:
        """Many AddCounts in one transaction (a client-side batch); returns events written.

        The hot loop is inlined (same rows as :func:`event_row`): at 150,000
        events/s every function call per event shows.
        """
        rows: list[EventRow] = []
        ids: dict[tuple[str, str], int] = {}
        now = self.clock()
        configs: dict[str, tuple[NamespaceConfig, int, int, int]] = {}
        late: list[tuple[NamespaceConfig, str, int, Token]] = []
        crc, append = zlib.crc32, rows.append
        for namespace, counter, delta, token in items:
            known = configs.get(namespace)
            if known is None:
                c = self.namespace(namespace)
                known = configs[namespace] = (c, now - c.accept_us, c.bucket_seconds * US, c.event_buckets)
            config, oldest, bucket_us, buckets = known
            if abs(delta) > MAX_DELTA:
                check_delta(delta)
            text = token.token
            t = token.generation_time
            eid = hex_id(text) if t >= oldest else None
            if eid is None:
                late.append((config, counter, delta, token))  # the careful path (late check, other token forms)
                continue
            cid = ids.get((namespace, counter))
            if cid is None:
                cid = ids[(namespace, counter)] = self.store.cid(namespace, counter)
            append((cid, t // bucket_us, crc(text.encode()) % buckets, t, eid, ADD, delta))
        for config, counter, delta, token in late:
            row = self.log.admit(config, counter, ADD, delta, token, now)
            if row is not None:
                rows.append(row)
                ids[(config.name, counter)] = row[0]
        rows.sort()  # key order: each B-tree page is touched once per batch, not once per row
        refused = self.store.write_batch(rows, self._durable_triggers(rows), oldest=self.oldest_accepted())
        self.bound_wal()
        self.committed(rows)
        return len(rows) - len(refused)

    @staticmethod
    def late_error() -> LateEvent:
        return LateEvent("Event rejected: it became older than the accept limit before it could be written.",
                         fix="Retry with a fresh token (a new generation time).")

    def add_and_get_count(self, namespace: str, counter: str, delta: int, token: Token | None = None) -> int:
        """AddAndGetCount: the write, then the value including it (read-your-write)."""
        pending = self.submit_add(namespace, counter, delta, token)
        if not isinstance(pending, Future):
            return pending
        pending.result()
        return self.add_and_get_count_read(namespace, counter)

    def add_and_get_count_read(self, namespace: str, counter: str) -> int:
        """The read half of AddAndGetCount: checkpoint + events since (includes the write just made)."""
        return accurate_count(self.read_store, self.namespace(namespace), counter)[0]

    def clear_count(self, namespace: str, counter: str, token: Token | None = None) -> None:
        """ClearCount: itself an event, so it is ordered and idempotent like the adds."""
        pending = self.submit_add(namespace, counter, 0, token, kind=CLEAR)
        if isinstance(pending, Future):
            pending.result()

    # --- reads -------------------------------------------------------------------------
    def get_count(self, namespace: str, counter: str) -> CountResult:
        """GetCount: the cached rollup (eventual), checkpoint + recent events (accurate)."""
        config = self.namespace(namespace)
        check_name(counter, "counter")
        if config.type == "best_effort":
            value = (self.redis_counters.get(namespace, counter) if self.redis_counters
                     else self._memory_best_effort.get((namespace, counter), 0))
            return CountResult(namespace, counter, value, config.type)
        self.trigger(namespace, counter)  # reads self-heal a lost rollup trigger
        if config.type == "accurate":
            count, last, n = accurate_count(self.read_store, config, counter)
            return CountResult(namespace, counter, count, config.type, last, n)
        cached = self.cache.get(namespace, counter)
        if cached is None:
            cached = self.read_store.get_rollup(namespace, counter)
        return CountResult(namespace, counter, cached[0], config.type, cached[1])

    # --- rollups -----------------------------------------------------------------------
    def trigger(self, namespace: str, counter: str) -> None:
        """A read's rollup trigger: due now (it rolls up what is already immutable)."""
        if self.queues is not None:
            self.queues.trigger(namespace, counter)
        elif self.options.rollup == "process":
            retry_busy(lambda: self.store.add_triggers([(namespace, counter, self.clock())]))

    def rollup(self, namespace: str, counter: str, *, now: int | None = None) -> RollupResult:
        """Roll one counter up now and refresh the cache with (count, checkpoint) as one value.

        When the counter's last write is still ahead of the new checkpoint, the
        counter is queued again for when that write leaves the mutable window: a
        burst of writes followed by silence is rolled up completely, read or not.
        """
        config = self.namespace(namespace)
        now = self.clock() if now is None else now
        result = rollup_counter(self.rollup_store, config, counter, now)
        self.cache.put(namespace, counter, result.count, result.last_rollup_ts)
        if self.queues is not None and result.last_write_ts > result.last_rollup_ts:
            self.queues.trigger(namespace, counter, max(0.0, (result.last_write_ts + config.lag_us - now) / US))
        return result

    def sweep_behind(self) -> int:
        """Queue every counter whose checkpoint is behind its last write (triggers lost with a
        killed process or a full queue are found again here). Returns how many were queued."""
        if self.queues is None:
            return 0
        now = self.clock()
        behind = self.rollup_store.behind()
        for namespace, counter, last_write in behind:
            config = self._namespaces.get(namespace) or self.namespace(namespace)
            self.queues.trigger(namespace, counter, max(0.0, (last_write + config.lag_us - now) / US))
        return len(behind)

    def _sweep_loop(self) -> None:
        while not self._stop_retention.wait(self.options.sweep_s):
            try:
                self.sweep_behind()
            except Exception:  # noqa: BLE001, S110 - deliberate: any failure here is retried or reported per row
                pass  # busy or closing: the next round will do it

    def purge_expired(self, now: int | None = None) -> int:
        """Delete events older than their namespace's retention (only those already rolled up)."""
        now = self.clock() if now is None else now
        return sum(self.store.purge_events(config.name, now - int(config.retention_s * US), config.bucket_seconds * US)
                   for config in self.store.namespaces().values())

    def _retention_loop(self) -> None:
        while not self._stop_retention.wait(self.options.retention_check_s):
            try:
                self.purge_expired()
            except Exception:  # noqa: BLE001, S110 - deliberate: any failure here is retried or reported per row
                pass  # busy or closing: the next round will do it

    def _rollup_by_name(self, namespace: str, counter: str) -> None:
        self.rollup(namespace, counter)

    def _after_commit(self, newest: dict[tuple[str, str] | int, int]) -> None:
        queues = self.queues
        if queues is None or not newest:
            return
        now = self.clock()
        known = self._trigger_keys
        for key, ts in newest.items():  # due once the newest event is out of the mutable window
            found = known.get(key)
            if found is None:  # (namespace, counter, lag µs): a namespace's config never changes
                if len(known) >= 100_000:
                    known.clear()
                namespace, counter = key if isinstance(key, tuple) else self.store.names(key)
                found = known[key] = (namespace, counter, self.namespace(namespace).lag_us)
            queues.trigger(found[0], found[1], max(0.0, (ts + found[2] - now) / US))

    def _best_effort(self, namespace: str, counter: str, delta: int, kind: int) -> int:
        if self.redis_counters is not None:
            if kind == CLEAR:
                self.redis_counters.clear(namespace, counter)
                return 0
            return self.redis_counters.incr(namespace, counter, delta)
        with self._be_lock:
            key = (namespace, counter)
            value = 0 if kind == CLEAR else self._memory_best_effort.get(key, 0) + delta
            self._memory_best_effort[key] = value
            return value

    def close(self) -> None:
        self._stop_retention.set()
        if self.queues is not None:
            self.queues.stop()
        if self.writer is not None:
            self.writer.close()
        if self.checkpointer is not None:
            self.checkpointer.close()
        self.store.close()
        self.read_store.close()
        self.rollup_store.close()


def retry_busy(action: Callable[[], T], deadline_s: float = 30.0) -> T:
    """Run a small write, waiting out a lock held by another connection (never call it on an event loop)."""
    import time

    from learnbackend.counter.store_sqlite import is_busy

    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return action()
        except Exception as exc:
            if not is_busy(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)
