"""Running the HTTP service: in the foreground (``counter serve``) or as a child process we own.

Always binds 127.0.0.1. With ``workers > 1`` uvicorn forks worker processes
sharing the SQLite file; with ``rollup_process`` the API processes only write
durable rollup triggers and a separate rollup process (rollup_worker.py) does
the rollups.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from learnbackend.counter.processes import spawn, stop
from learnbackend.errors import EnvironmentMissing, UsageError

HOST = "127.0.0.1"


@dataclass
class ServeConfig:
    db: Path
    port: int = 8700
    workers: int = 1
    rollup_process: bool = False
    redis_url: str | None = None


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def run_server(config: ServeConfig) -> None:
    """Serve until interrupted (blocking). The rollup child, if any, is stopped on the way out."""
    import uvicorn

    from learnbackend.counter.raw_add import CounterHttpProtocol

    if not port_free(config.port):
        raise UsageError(f"Port {config.port} on {HOST} is in use.", fix="Pick another with --port.")
    config.db.parent.mkdir(parents=True, exist_ok=True)
    os.environ["LEARNBACKEND_COUNTER_DB"] = str(config.db)
    os.environ["LEARNBACKEND_COUNTER_REDIS"] = config.redis_url or ""
    os.environ["LEARNBACKEND_COUNTER_ROLLUP"] = "process" if config.rollup_process else "thread"
    from learnbackend.counter.store_sqlite import SqliteStore

    SqliteStore(config.db).close()  # create the schema once, before workers race to
    supervisor = RollupSupervisor(config) if config.rollup_process else None
    try:
        # proxy_headers off: the service never reads the client's address, so X-Forwarded-* buys nothing
        uvicorn.run("learnbackend.counter.service:app_from_env", factory=True, host=HOST, port=config.port,
                    workers=config.workers, log_level="warning", access_log=False, proxy_headers=False,
                    http=CounterHttpProtocol)
    finally:
        if supervisor is not None:
            supervisor.close()


class RollupSupervisor:
    """Runs the rollup process and starts a new one if it dies (its durable triggers wait for it)."""

    def __init__(self, config: ServeConfig, check_s: float = 0.5) -> None:
        import threading

        self.argv = [sys.executable, "-m", "learnbackend.counter.rollup_worker", str(config.db)]
        if config.redis_url:
            self.argv += ["--redis", config.redis_url]
        self.check_s = check_s
        self.restarts = 0
        self._stop = threading.Event()
        self.proc = self._start()
        self._thread = threading.Thread(target=self._watch, name="counter-rollup-supervisor", daemon=True)
        self._thread.start()

    def _start(self) -> Any:
        import subprocess

        # Same process group as the server (a kill -9 of the group takes it too); it also exits
        # by itself when orphaned.
        return subprocess.Popen(self.argv, env={**os.environ, "LEARNBACKEND_COUNTER_CHILD": "1"})

    def _watch(self) -> None:
        while not self._stop.wait(self.check_s):
            code = self.proc.poll()
            if code not in (None, 0) and not self._stop.is_set():  # 0: stopped on purpose (SIGTERM to the group)
                self.restarts += 1
                self.proc = self._start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        stop(self.proc)


@dataclass
class ServiceProcess:
    """A service running as a child process group (so kill -9 reaches every worker)."""

    config: ServeConfig
    proc: Any = None
    log: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.config.port}"

    def start(self, timeout: float = 20.0) -> ServiceProcess:
        argv = [sys.executable, "-m", "learnbackend.counter.server", str(self.config.db), "--port", str(self.config.port),
                "--workers", str(self.config.workers)]
        if self.config.rollup_process:
            argv.append("--rollup-process")
        if self.config.redis_url:
            argv += ["--redis", self.config.redis_url]
        self.config.db.parent.mkdir(parents=True, exist_ok=True)
        self.log = self.config.db.with_suffix(".log")
        with open(self.log, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = spawn(argv, stdout=log, stderr=subprocess_stdout())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-3:])
                raise EnvironmentMissing(f"The counter service exited (code {self.proc.returncode}): {tail}",
                                         fix=f"See its log: {self.log}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.kill9()
        raise EnvironmentMissing("The counter service did not answer in time.", fix=f"See its log: {self.log}")

    def kill9(self) -> None:
        """SIGKILL the whole process group: master, workers and rollup process, no goodbyes."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - a group that will not stop politely is killed
                self.kill9()
        if self.proc is not None:
            stop(self.proc)


def subprocess_stdout() -> int:
    import subprocess

    return subprocess.STDOUT


def _exit_with_parent() -> None:
    """Started by the lab (load, tests): stop when the lab process is gone, even after its kill -9."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="counter-parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="learnbackend-counter-server")
    parser.add_argument("db", type=Path)
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rollup-process", action="store_true")
    parser.add_argument("--redis", default=None)
    args = parser.parse_args(argv)
    if os.environ.get("LEARNBACKEND_COUNTER_CHILD"):
        _exit_with_parent()
    run_server(ServeConfig(args.db, args.port, args.workers, args.rollup_process, args.redis))
    return 0


if __name__ == "__main__":
    sys.exit(main())
