"""Group commit in a writer process: the HTTP event loop hands rows over a socket and never runs SQLite.

Why a process and not a thread: SQLite releases the GIL around every row it
steps, so a writer *thread* competes with the event loop for the GIL once per
row (and waits up to the 5 ms switch interval each time), while running the
commit *on* the loop makes every request in flight wait for the disk. A process
has its own interpreter: the commit runs on the other core while the loop keeps
parsing and answering.

The protocol is a Unix socket pair with length-prefixed ``marshal`` frames:

- loop → writer: ``(batch id, [event rows])``: every AddCount parsed in one
  loop turn;
- writer → loop: ``(batch id, [refused indexes], [(index, kind, message)], busy)``
  once the transaction holding the batch has committed.

The writer drains every batch that arrived while it was committing into ONE
transaction (group commit: a batch grows with the load), runs the WAL's
checkpoints, and exits when the socket closes or its parent dies. A request is
acknowledged only after the reply for its batch: nothing is acknowledged that a
kill -9 could lose. If the writer dies, the requests in flight get 503 (their
rows may or may not be committed: a retry with the same token counts once) and
the next request starts a new writer.
"""

from __future__ import annotations

import asyncio
import logging
import marshal
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from learnbackend.containers.procs import set_parent_death_signal
from learnbackend.counter.counters import CounterEngine, EngineOptions, StoreUnavailable
from learnbackend.counter.store_sqlite import EventRow, StoreBusy, WriteOutcome

HEADER = struct.Struct("!I")
MAX_FRAME = 64 * 1024 * 1024  # a frame announcing more is a broken peer: the connection is dropped
MAX_BATCH = 4096  # rows per transaction in the writer (more waiting: the next transaction)
RECV = 1 << 16  # per recv; a 1 MiB buffer cost an mmap, mremap and munmap each time (strace)
RESTART_AFTER_S = 1.0  # a writer that died sooner after its start is not restarted at once (no fork storm)
#: A loop turn that has parsed this many AddCounts sends them at once instead of at its end: the writer
#: starts committing while the loop parses the rest (it merges what arrives meanwhile into one transaction).
EARLY_FLUSH_ROWS = 24


class ProtocolError(ValueError):
    """The peer sent something that is not this protocol's frames."""


def _frames(buffer: bytearray) -> list[Any]:
    """Complete frames at the start of ``buffer`` (removed from it), decoded; ProtocolError if not ours."""
    out = []
    start = 0
    while len(buffer) - start >= HEADER.size:
        (size,) = HEADER.unpack_from(buffer, start)
        if size > MAX_FRAME:
            raise ProtocolError(f"a frame of {size} bytes")
        if len(buffer) - start - HEADER.size < size:
            break
        try:
            out.append(marshal.loads(bytes(buffer[start + HEADER.size:start + HEADER.size + size])))
        except (ValueError, EOFError, TypeError) as exc:
            raise ProtocolError(f"an undecodable frame ({exc})") from None
        start += HEADER.size + size
    del buffer[:start]
    return out


def _frame(payload: Any) -> bytes:
    data = marshal.dumps(payload)
    return HEADER.pack(len(data)) + data


class ProcessCommitter:
    """``await committer.submit(row)`` returns once the row is durable (or raises its own error)."""

    def __init__(self, engine: CounterEngine, db_path: str | Path, *, durable_triggers: bool = False) -> None:
        self.engine = engine
        self.db_path = str(db_path)
        self.flags = ["--durable-triggers"] if durable_triggers else []
        self.batches = 0
        self.rows = 0
        self.busy_batches = 0  # batches that met a write lock held by another connection
        self.writer_starts = 0
        self._rows: list[EventRow] = []  # this loop turn's rows
        self._futures: list[asyncio.Future[None]] = []  # and their requests' futures, in the same order
        self._inflight: dict[int, tuple[list[EventRow], list[asyncio.Future[None]]]] = {}
        self._next_id = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._out = bytearray()  # bytes the socket did not take yet
        self._in = bytearray()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._watching = False
        self._closed = False
        self._started_at = 0.0
        self._start()

    # --- the writer process -------------------------------------------------------------
    def _start(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            argv = [sys.executable, "-m", "learnbackend.counter.writer_process", self.db_path, str(theirs.fileno()),
                    "--parent", str(os.getpid()), *self.flags]
            self._proc = subprocess.Popen(argv, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        mine.setblocking(False)
        self._sock = mine
        self._watching = False
        self._started_at = time.monotonic()
        self.writer_starts += 1

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._sock is not None and not self._watching:
            loop.add_reader(self._sock.fileno(), self._readable)
            self._watching = True

    @property
    def writer_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def close(self) -> None:
        """Stop the writer: it commits what it has, then exits on the closed socket."""
        self._closed = True
        self._drop_socket()
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def _drop_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        if self._watching and self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(sock.fileno())
            self._loop.remove_writer(sock.fileno())
        self._watching = False
        sock.close()
        self._out.clear()
        self._in.clear()

    # --- the loop side --------------------------------------------------------------------
    def submit(self, row: EventRow) -> asyncio.Future[None]:
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        rows = self._rows
        rows.append(row)
        self._futures.append(future)
        if len(rows) == 1:
            loop.call_soon(self._flush)
        elif len(rows) >= EARLY_FLUSH_ROWS:
            self._flush()
        return future

    def _flush(self) -> None:
        """End of a loop turn (or EARLY_FLUSH_ROWS into it): send the rows to the writer as one batch."""
        rows, futures = self._rows, self._futures
        if not rows:  # sent early; this was the turn's end
            return
        self._rows, self._futures = [], []
        if self._closed:
            self._fail(futures, StoreUnavailable("The counter service is stopping.", fix="Retry with the same token."))
            return
        if self._sock is None:  # the last writer died: a new one for this batch (not more than once a second)
            if time.monotonic() - self._started_at < RESTART_AFTER_S:
                self._fail(futures, StoreUnavailable("The counter's writer process keeps stopping.",
                                                   fix="See the service log; retry with the same token."))
                return
            self._start()
        loop = self._loop
        assert loop is not None and self._sock is not None
        self._watch(loop)
        batch_id = self._next_id
        self._next_id += 1
        self._inflight[batch_id] = (rows, futures)
        self._send(_frame((batch_id, rows)))

    def _send(self, data: bytes) -> None:
        assert self._sock is not None and self._loop is not None
        if self._out:  # earlier bytes still wait: keep the order
            self._out += data
            return
        try:
            sent = self._sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._lost()
            return
        if sent < len(data):
            self._out += data[sent:]
            self._loop.add_writer(self._sock.fileno(), self._writable)

    def _writable(self) -> None:
        assert self._sock is not None and self._loop is not None
        try:
            sent = self._sock.send(self._out)
        except BlockingIOError:
            return
        except OSError:
            self._lost()
            return
        del self._out[:sent]
        if not self._out:
            self._loop.remove_writer(self._sock.fileno())

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            data = sock.recv(RECV)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._lost()
            return
        self._in += data
        try:
            replies = _frames(self._in)
        except ProtocolError:
            self._lost()
            return
        for reply in replies:
            self._resolve(*reply)

    def _resolve(self, batch_id: int, refused: list[int], errors: list[tuple[int, str, str]], busy: bool) -> None:
        batch = self._inflight.pop(batch_id, None)
        if batch is None:
            return
        rows, futures = batch
        self.batches += 1
        self.rows += len(rows)
        self.busy_batches += bool(busy)
        if not refused and not errors:  # the common case: every row committed
            for fut in futures:
                if not fut.done():  # done: the request was cancelled; its row is written all the same
                    fut.set_result(None)
            self.engine.committed(rows)
            return
        failed = {i: StoreUnavailable(message, fix="Another program holds the database's write lock; stop it and "
                                      "retry with the same token." if kind == "busy" else
                                      "Retry with the same token; if it persists, see the service log.")
                  for i, kind, message in errors}
        late = set(refused)
        written = []
        for i, (row, fut) in enumerate(zip(rows, futures, strict=True)):
            if i not in failed and i not in late:
                written.append(row)
            if fut.done():  # the client went away: its row is written (or not) all the same
                continue
            if i in failed:
                fut.set_exception(failed[i])
            elif i in late:
                fut.set_exception(self.engine.late_error())  # became late while queued: never acknowledged
            else:
                fut.set_result(None)
        self.engine.committed(written)

    def _lost(self) -> None:
        """The writer is gone: every request in flight gets 503; the next batch starts a new writer."""
        code = self._proc.poll() if self._proc is not None else None
        self._drop_socket()
        inflight, self._inflight = self._inflight, {}
        error = StoreUnavailable(f"The counter's writer process stopped (exit code {code}) before confirming "
                                 "this write; it may or may not be stored.",
                                 fix="Retry with the same token: a retried token counts once.")
        for _, futures in inflight.values():
            self._fail(futures, error)

    @staticmethod
    def _fail(futures: list[asyncio.Future[None]], error: Exception) -> None:
        for fut in futures:
            if not fut.done():
                fut.set_exception(error)


# --- the writer process ---------------------------------------------------------------------
def _write(engine: CounterEngine, rows: list[EventRow]) -> tuple[WriteOutcome, bool]:
    """One transaction: at once if the lock is free, else waiting it out in short steps (busy=True)."""
    try:
        return engine.write_rows_each(rows, wait=False), False
    except StoreBusy:
        return engine.write_rows_each(rows, wait=True), True


def serve(db: str, fd: int, *, parent: int, durable_triggers: bool) -> None:
    # Dies with the HTTP process (a commit is atomic). Set here, not in a preexec_fn: that process has threads.
    if not set_parent_death_signal(parent):
        return
    engine = CounterEngine(db, options=EngineOptions(rollup="process" if durable_triggers else "off",
                                                     group_commit=False, writer_busy_timeout_s=0.0,
                                                     retention_check_s=0, sweep_s=0))
    import gc

    gc.collect()
    gc.freeze()
    sock = socket.socket(fileno=fd)
    buffer = bytearray()
    waiting: list[tuple[int, list[EventRow]]] = []
    rows: list[EventRow]
    eof = False
    try:
        while not eof or waiting:
            if not waiting:
                data = sock.recv(RECV)  # block until work (or the end) arrives
                eof = not data
                buffer += data
            while not eof:  # and whatever else is already here: one transaction for all of it
                try:
                    data = sock.recv(RECV, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                eof = not data
                buffer += data
            waiting += _frames(buffer)  # ProtocolError: not our protocol (main logs it; the HTTP side starts a new writer)
            if not waiting:
                continue
            take, rows = 0, []  # whole batches, up to MAX_BATCH rows (at least one batch)
            while take < len(waiting) and (not rows or len(rows) + len(waiting[take][1]) <= MAX_BATCH):
                rows += waiting[take][1]
                take += 1
            batches, waiting = waiting[:take], waiting[take:]
            try:
                outcome, busy = _write(engine, rows)
            except Exception as exc:  # noqa: BLE001 - a bug in the writer: every row of the batch gets the error
                outcome, busy = WriteOutcome(errors={i: exc for i in range(len(rows))}), False
            replies, base = [], 0
            for batch_id, batch_rows in batches:
                n = len(batch_rows)
                refused = [i - base for i in outcome.refused if base <= i < base + n]
                errors = [(i - base, "busy" if isinstance(exc, StoreUnavailable) else "error", str(exc))
                          for i, exc in outcome.errors.items() if base <= i < base + n]
                replies.append(_frame((batch_id, refused, errors, busy)))
                base += n
            try:
                sock.sendall(b"".join(replies))
            except OSError:
                eof = True  # the HTTP process is gone: finish what was received, then stop
            engine.bound_wal()  # after the replies: a WAL catch-up delays the next batch, not this one
    finally:
        engine.close()
        sock.close()


def main(argv: list[str] | None = None) -> int:
    """Started by ProcessCommitter only: the database, the socket's descriptor, the HTTP process's pid."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m learnbackend.counter.writer_process")
    parser.add_argument("db")
    parser.add_argument("fd", type=int)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--durable-triggers", action="store_true")
    args = parser.parse_args(argv)
    # A Ctrl-C or SIGTERM reaches the whole process group: the HTTP process closes the socket once its
    # requests are answered, and this process commits what it received, then exits (or dies with it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        serve(args.db, args.fd, parent=args.parent, durable_triggers=args.durable_triggers)
    except ProtocolError as exc:  # into the service's log (stderr): this process has no terminal of its own
        logging.getLogger("learnbackend.counter.writer").error("counter writer: %s from the HTTP process; stopping", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
