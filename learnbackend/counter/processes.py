"""Child processes the lab starts (design hosts, rollup workers, services): started, killed, reaped.

Every child gets ``LEARNBACKEND_COUNTER_CHILD=1`` in its environment and its own
process group, and is killed when the lab is done with it, also on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from learnbackend.counter.tokens import Token

_CHILDREN: set[subprocess.Popen[Any]] = set()


def spawn(argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """Start a labelled child in its own session; it is tracked for cleanup."""
    env = dict(kwargs.pop("env", None) or os.environ)
    env["LEARNBACKEND_COUNTER_CHILD"] = "1"
    proc = subprocess.Popen(argv, env=env, start_new_session=True, **kwargs)
    _CHILDREN.add(proc)
    return proc


def kill9(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the child (no chance to flush anything) and reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _CHILDREN.discard(proc)


def stop(proc: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill9(proc)
    _CHILDREN.discard(proc)


def stop_all() -> None:
    """Kill every child still running (called on the way out, also after Ctrl-C)."""
    for proc in list(_CHILDREN):
        kill9(proc)


class Refused(Exception):
    """The design refused the request (it was not applied)."""


class DesignProcess:
    """A design running in a child process (see designs/host.py)."""

    def __init__(self, design: str, directory: Path, options: dict[str, Any] | None = None) -> None:
        self.proc = spawn([sys.executable, "-m", "learnbackend.counter.designs.host", design, str(directory),
                           json.dumps(options or {})], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self._call_raw(None)

    def _call_raw(self, request: dict[str, Any] | None) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if request is not None:
            try:
                self.proc.stdin.write(json.dumps(request) + "\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                raise ConnectionError("the design process is gone") from None
        line = self.proc.stdout.readline()
        if not line:
            raise ConnectionError("the design process is gone")
        return json.loads(line)

    def add(self, counter: str, delta: int, token: Token) -> None:
        """Raises ConnectionError when the process died, Refused when the design said no."""
        answer = self._call_raw({"op": "add", "c": counter, "d": delta, "t": token.token, "g": token.generation_time})
        if "error" in answer:
            raise Refused(answer["error"], answer.get("message", ""))

    def get(self, counter: str) -> int:
        return int(self._call_raw({"op": "get", "c": counter})["count"])

    def settle(self) -> None:
        self._call_raw({"op": "settle"})

    def kill9(self) -> None:
        kill9(self.proc)

    def close(self) -> None:
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        stop(self.proc)
