"""One sandboxed worker process holding the learner's module, and the requests the tests make to it."""

from __future__ import annotations

import os
import secrets
import select
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from learnbackend.coding import protocol
from learnbackend.coding.protocol import LearnerExited, ProtocolError, RemoteFunction, WorkerGone, WorkerTimeout
from learnbackend.sandbox.runner import SandboxResult, start_sandboxed

#: Limits of one worker (one test): enough for the exercises, small enough for two cores.
MEMORY_MB = 512
MAX_PROCS = 16
MAX_FILE_MB = 10


@lru_cache(maxsize=1)
def worker_source() -> str:
    """The worker script, passed with ``-c`` so that nothing of it lies in the learner's directory."""
    return (Path(__file__).with_name("worker.py")).read_text(encoding="utf-8")


class WorkerSession:
    """A worker that imported the learner's module; ``getattr``/``call`` on its objects, until ``close``."""

    def __init__(self, run_dir: Path, module_file: str, *, deadline: float) -> None:
        self.deadline = deadline
        self.nonce = secrets.token_hex(16)
        self._next_id = 1
        self._buffer = bytearray()
        self._callables: set[tuple[int, str]] = set()
        self._state: dict[str, Any] | None = None
        self.result: SandboxResult | None = None
        argv = [sys.executable, "-I", "-S", "-c", worker_source(), module_file]
        self.proc = start_sandboxed(
            argv, cwd=run_dir, timeout=max(0.5, deadline - time.monotonic()) + 1.0, memory_mb=MEMORY_MB,
            max_procs=MAX_PROCS, max_file_mb=MAX_FILE_MB, env=None, network=False, readable=[run_dir])
        self._fd = self.proc.stdout.fileno()
        self._send({"nonce": self.nonce})

    # --- frames -----------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.proc.stdin.write(protocol.frame(message))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self._exited("before it read the next request") from None

    def _receive(self, *, exiting: str = "while running") -> dict[str, Any]:
        while True:
            if len(self._buffer) >= protocol.HEADER.size:
                (size,) = protocol.HEADER.unpack_from(self._buffer)
                if size > protocol.MAX_FRAME:
                    raise ProtocolError("the worker sent a message larger than 16 MB")
                end = protocol.HEADER.size + size
                if len(self._buffer) >= end:
                    payload = bytes(self._buffer[protocol.HEADER.size:end])
                    del self._buffer[:end]
                    message = protocol.parse_payload(payload)
                    if message.get("n") != self.nonce:
                        raise ProtocolError("the worker sent a message without this run's nonce")
                    return message
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerTimeout("the learner's code did not answer in time")
            ready, _, _ = select.select([self._fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._fd, 1 << 20)
            if not chunk:
                raise self._exited(exiting)
            self._buffer += chunk

    def _exited(self, when: str) -> WorkerGone:
        result = self.close()
        if result.timed_out:
            return WorkerTimeout("the learner's code did not answer in time")
        reason = result.killed_reason
        what = f"stopped by the sandbox: {reason}" if reason else f"exit code {result.exit_code}"
        tail = result.stderr.strip().splitlines()[-1:]
        return LearnerExited(f"your code exited {when} ({what})" + (f"; last output: {protocol.clean(tail[0], 200)}" if tail else ""))

    # --- the protocol -----------------------------------------------------------------

    def ready(self) -> dict[str, Any]:
        """The worker's first message: ``ready``, ``import_error`` or ``exited`` (read once)."""
        if self._state is None:
            try:
                self._state = self._receive(exiting="while it was imported")
            except LearnerExited as exc:
                self._state = {"exited_message": str(exc)}
        return self._state

    @property
    def alive(self) -> bool:
        """Not closed: the worker may still answer (a closed session never does)."""
        return self.result is None

    def reset(self) -> dict[str, Any]:
        """Give the next test a fresh module in the same process (handles of earlier tests are dropped).

        Returns the state, like :meth:`ready`; raises LearnerExited when the worker is gone.
        """
        if self.ready().get("ready") is not True or not self.alive:
            raise LearnerExited("the worker is gone")
        request_id = self._next_id
        self._next_id += 1
        self._send({"id": request_id, "op": "reset"})
        reply = self._receive()
        if reply.get("id") != request_id:
            raise ProtocolError("the worker answered another question than the one asked")
        self._callables.clear()
        return reply

    def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        state = self.ready()
        if state.get("ready") is not True:
            raise LearnerExited("your module did not import")
        request_id = self._next_id
        self._next_id += 1
        self._send({"id": request_id, **message})
        reply = self._receive()
        if reply.get("id") != request_id:
            raise ProtocolError("the worker answered another question than the one asked")
        if "exited" in reply:
            raise LearnerExited(f"your code exited (sys.exit({protocol.clean(str(reply['exited']), 100)}))")
        if "error" in reply:
            error = reply["error"]
            if not isinstance(error, dict):
                raise ProtocolError("the worker sent a malformed error")
            where = error.get("where")
            raise protocol.learner_error(str(error.get("type", "Exception"))[:100], str(error.get("message", ""))[:2000],
                                         [str(w)[:200] for w in where][:5] if isinstance(where, list) else [])
        return reply

    def getattr(self, handle: int, name: str) -> Any:
        """An attribute of a worker object: a plain value, or a callable proxy for methods and classes."""
        if (handle, name) in self._callables:
            return RemoteFunction(self, handle, name)
        reply = self._request({"op": "getattr", "target": handle, "name": name})
        if reply.get("callable") is True:
            self._callables.add((handle, name))
            return RemoteFunction(self, handle, name)
        if "ok" not in reply:
            raise ProtocolError("the worker sent an answer without a value")
        return protocol.decode(reply["ok"], self)

    def call(self, handle: int, name: str | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call a worker object (or its method ``name``) with plain-data arguments; the decoded result."""
        message = {"op": "call", "target": handle, "name": name, "args": protocol.encode(list(args), self),
                   "kwargs": protocol.encode(dict(kwargs), self)}
        reply = self._request(message)
        if "ok" not in reply:
            raise ProtocolError("the worker sent an answer without a value")
        return protocol.decode(reply["ok"], self)

    def close(self) -> SandboxResult:
        """Stop the worker (it is never reused) and return its SandboxResult.

        Closing its stdin ends a well-behaved worker at once (its exit status is kept); one
        that keeps running (learner threads) is killed after half a second.
        """
        if self.result is None:
            self.result = self.proc.finish(0.5)
        return self.result

    def stderr_tail(self, lines: int = 5) -> str:
        return "\n".join(self.close().stderr.strip().splitlines()[-lines:])
