"""A throw-away redis-server on a free loopback port (tests, experiments, bench).

Started with no persistence (``--save '' --appendonly no``) in a temp dir, and
killed on ``stop()``. Never touches a system Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from learnbackend.errors import EnvironmentMissing
from learnbackend.liveness import process_alive

#: Ports free_port handed out lately in this process: a port is free until its server binds it, so the kernel
#: may offer it again meanwhile (a cluster picks ports for its nodes, gateway, Redis and PostgreSQL in a row).
_HANDED: dict[int, None] = {}
_HANDED_MAX = 4096


def free_port() -> int:
    """A free TCP port on 127.0.0.1, not one this process was handed lately."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED:
            break
    _HANDED[port] = None
    if len(_HANDED) > _HANDED_MAX:
        del _HANDED[next(iter(_HANDED))]  # the oldest: long bound by its server, or long gone
    return port


@dataclass
class RedisServer:
    """A running redis-server process we own."""

    process: subprocess.Popen[bytes]
    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


PREFIX = "learnbackend-counter-redis-"


_alive = process_alive


def reap_orphans() -> int:
    """Kill redis-servers left by a lab process that died without cleaning up (kill -9); returns how many."""
    reaped = 0
    for directory in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            owner = int((directory / "owner.pid").read_text())
            server = int((directory / "server.pid").read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        if _alive(server):
            os.kill(server, signal.SIGKILL)
            reaped += 1
        shutil.rmtree(directory, ignore_errors=True)
    return reaped


def start_redis(timeout: float = 10.0) -> RedisServer:
    """Start redis-server on a free 127.0.0.1 port and wait until it answers PING."""
    reap_orphans()
    binary = shutil.which("redis-server")
    if binary is None:
        raise EnvironmentMissing("redis-server is not installed.",
                                 fix="Install it: apt-get install redis-server (or run .ci/setup-redis.sh).")
    directory = Path(tempfile.mkdtemp(prefix=PREFIX))
    (directory / "owner.pid").write_text(str(os.getpid()))
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory), "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (directory / "server.pid").write_text(str(process.pid))
    server = RedisServer(process, port, directory)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise EnvironmentMissing(f"redis-server did not start on 127.0.0.1:{port}.", fix="Run redis-server by hand to see why.")
