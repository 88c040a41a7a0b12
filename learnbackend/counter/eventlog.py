"""The event log write path: one event per AddCount/ClearCount, keyed for idempotency.

An event's key is ``(namespace, counter, time_bucket, event_bucket, event_time,
event_id)`` where ``event_id`` is the token and ``event_time`` its generation
time, so a replay of the same token is the same key: ``INSERT OR IGNORE`` makes
it a no-op. Events older than ``now - accept_limit`` are *late*: the window they
would land in is immutable (maybe already rolled up), so they are rejected
loudly rather than dropped silently.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from learnbackend.counter.namespaces import NamespaceConfig
from learnbackend.counter.store_sqlite import (
    ADD,
    CLEAR,
    EventRow,
    SqliteStore,
    WriteOutcome,
)
from learnbackend.counter.tokens import MAX_TIME_US, US, InvalidTime, Token
from learnbackend.errors import UsageError


class LateEvent(UsageError):
    """The token's generation time is behind the immutable window."""


def event_row(config: NamespaceConfig, cid: int | tuple[str, str], kind: int, delta: int, token: Token) -> EventRow:
    """The stored row of one event of counter ``cid``; equal tokens give equal keys.

    ``cid`` may be ``(namespace, counter)`` for a counter without an id yet: the
    writer gives it one (a write) so that admitting an event never writes.
    """
    t = token.generation_time
    return (cid, t // (config.bucket_seconds * US), token.bucket(config.event_buckets), t,  # type: ignore[return-value]
            event_id(token.token), kind, delta)


def hex_id(token: str) -> bytes | None:
    """The 16 bytes of a token of 32 lower-case hex digits (a UUID's usual form), else None.

    Upper case or spaces make another token string, so another id (see :func:`event_id`).
    """
    if len(token) != 32:
        return None
    try:
        raw = bytes.fromhex(token)
    except ValueError:
        return None
    return raw if raw.hex() == token else None


def event_id(token: str) -> bytes:
    """The stored event id, one per token string.

    A :func:`hex_id` token is stored as its 16 bytes (compact keys insert faster);
    any other as its ASCII bytes, with a NUL appended when that would be 16 bytes
    too (no token holds a NUL), so the two forms never meet. Before, ``"4142...56"``
    and ``"ABCDEFGHIPQRSTUV"`` (or ``"aa"*16`` and ``"AA"*16``) were one event: two
    acknowledged adds, one counted.
    """
    raw = hex_id(token)
    if raw is not None:
        return raw
    text = token.encode()
    return text + b"\0" if len(text) == 16 else text


def is_late(config: NamespaceConfig, token: Token, now_us: int) -> bool:
    """True when the event would land in the immutable window (older than now - accept_limit)."""
    return token.generation_time < now_us - config.accept_us


class EventLog:
    """Synchronous appends: each call is one durable transaction."""

    def __init__(self, store: SqliteStore, clock: Callable[[], int]) -> None:
        self.store = store
        self.clock = clock

    def admit(self, config: NamespaceConfig, counter: str, kind: int, delta: int, token: Token,
              now_us: int | None = None) -> EventRow | None:
        """The row to write, ``None`` for a late replay already stored; raises LateEvent for a new late event.

        Reads only (no write, so never waits for the write lock): a new counter's id
        is assigned by the writer. Raises InvalidTime for an event stamped further
        ahead than the namespace allows.
        """
        now = self.clock() if now_us is None else now_us
        if not 0 < token.generation_time < MAX_TIME_US or token.generation_time > now + config.ahead_us:
            ahead = (token.generation_time - now) / US
            raise InvalidTime(f"Event rejected: its generation time is {ahead:.3f} s ahead of the server's clock, more "
                              f"than the {config.ahead_us / US:g} s this namespace allows.",
                              fix="Fix the client's clock (NTP) and send a fresh token.")
        cid = self.store.lookup_cid(config.name, counter)
        row = event_row(config, (config.name, counter) if cid is None else cid, kind, delta, token)
        if is_late(config, token, now):
            if cid is not None and self.store.event_exists(row[:5]):
                return None  # a late *retry* of a stored event: acknowledge it again, count it once
            age = (self.clock() - token.generation_time) / US
            raise LateEvent(f"Event rejected: its generation time is {age:.3f} s old, beyond the accept limit "
                            f"of {config.accept_limit_s} s.", fix="Retry with a fresh token (a new generation time).")
        return row

    def append(self, config: NamespaceConfig, counter: str, delta: int, token: Token, *, kind: int = ADD,
               trigger: bool = False) -> None:
        row = self.admit(config, counter, kind, delta, token)
        if row is not None:
            self.store.write_batch([row], [(config.name, counter, row[3] + config.lag_us)] if trigger else ())

    def clear(self, config: NamespaceConfig, counter: str, token: Token) -> None:
        self.append(config, counter, 0, token, kind=CLEAR)


class GroupCommitWriter:
    """Many concurrent writers, one transaction per batch: the acknowledgement waits for the commit.

    ``submit`` returns a Future resolved after the batch holding the event has
    committed, so nothing is acknowledged before it is durable. ``write(rows)``
    writes a batch and says what became of each row (a bad row fails alone).
    """

    def __init__(self, write: Callable[[list[EventRow]], WriteOutcome], *, max_batch: int = 2048,
                 late_error: Callable[[], Exception] | None = None) -> None:
        self.write = write
        self.late_error = late_error
        self.max_batch = max_batch
        self.batches = 0
        self.events = 0
        self._queue: queue.SimpleQueue[tuple[EventRow, Future[None]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="counter-group-commit", daemon=True)
        self._thread.start()

    def submit(self, row: EventRow) -> Future[None]:
        future: Future[None] = Future()
        self._queue.put((row, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[tuple[EventRow, Future[None]]]) -> None:
        try:
            outcome = self.write([row for row, _ in batch])
        except Exception as exc:  # noqa: BLE001 - a bug in the writer itself: every waiting request gets the error
            for _, fut in batch:
                fut.set_exception(exc)
            return
        self.batches += 1
        self.events += len(batch) - len(outcome.refused) - len(outcome.errors)
        for i, (_, fut) in enumerate(batch):
            if i in outcome.errors:
                fut.set_exception(outcome.errors[i])
            elif i in outcome.refused and self.late_error is not None:
                fut.set_exception(self.late_error())
            else:
                fut.set_result(None)
