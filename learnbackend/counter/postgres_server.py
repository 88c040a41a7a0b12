"""A throw-away PostgreSQL for the counter cluster: initdb in a temp dir, postgres on 127.0.0.1.

The server listens on a free 127.0.0.1 port (TCP, password authentication) and
on a unix socket inside its own temp dir; ``stop()`` shuts it down and removes
the directory. PostgreSQL refuses to run as root, so when the lab runs as root
the server runs as an unprivileged user (``learnbackend-pg`` when the setup
script created it, else ``nobody``) that owns the temp dir; a learner's own
account just runs it. A lab process killed with -9 leaves an ``owner.pid``
behind: the next start reaps such leftovers (like the throw-away Redis).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from learnbackend.counter.redis_server import free_port
from learnbackend.errors import EnvironmentMissing
from learnbackend.liveness import process_alive

PREFIX = "learnbackend-counter-pg-"
#: Unprivileged accounts the server runs as when the lab runs as root, in order of preference.
SERVICE_USERS = ("learnbackend-pg", "nobody")
DATABASE = "counter"
ROLE = "lab"
INSTALL_FIX = ("Install PostgreSQL's server: apt-get install -y postgresql (or run .ci/setup-postgres.sh), "
               "or point the lab at one with --store postgresql://USER:PASSWORD@HOST:PORT/DB.")


def find_bindir() -> Path | None:
    """The directory holding initdb and postgres (the newest Debian version first, then PATH)."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "postgres").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres"):
        return Path(initdb).parent
    return None


def _version_key(path: str) -> tuple[int, ...]:
    part = Path(path).parent.name
    return tuple(int(p) for p in part.split(".") if p.isdigit()) or (0,)


def postgres_available() -> bool:
    return find_bindir() is not None


@dataclass
class PostgresServer:
    """A running postgres we own (in its own session), its data in ``directory``."""

    process: subprocess.Popen[bytes]
    port: int
    directory: Path
    password: str

    @property
    def url(self) -> str:
        return f"postgresql://{ROLE}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """Fast shutdown (SIGINT: abort sessions, clean exit), SIGKILL after 10 s; then remove the directory."""
        if self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGINT)
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _kill_group(self.process.pid)
                self.process.wait(timeout=5)
        _kill_group(self.process.pid)  # backends left by a postmaster that died abruptly
        shutil.rmtree(self.directory, ignore_errors=True)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _service_account() -> tuple[int, int] | None:
    """(uid, gid) to run postgres as, or None when we are not root (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in SERVICE_USERS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise EnvironmentMissing("The lab runs as root and PostgreSQL refuses to; no unprivileged account to run it as.",
                             fix="Run .ci/setup-postgres.sh (it creates the learnbackend-pg user), or run the lab "
                                 "as a normal user.")


def _as_account(account: tuple[int, int] | None) -> dict[str, Any]:
    if account is None:
        return {}
    return {"user": account[0], "group": account[1], "extra_groups": []}


def reap_orphans() -> int:
    """Stop postgres servers left by a lab process that died without cleaning up; returns how many."""
    reaped = 0
    for directory in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            owner = int((directory / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if process_alive(owner):
            continue
        try:
            server = int((directory / "server.pid").read_text())
        except (OSError, ValueError):
            server = 0
        if server and process_alive(server):
            _kill_group(server)
            reaped += 1
        shutil.rmtree(directory, ignore_errors=True)
    return reaped


def start_postgres(timeout: float = 60.0, *, settings: dict[str, str] | None = None) -> PostgresServer:
    """initdb a fresh cluster in a temp dir, start postgres on a free 127.0.0.1 port, create the database."""
    reap_orphans()
    bindir = find_bindir()
    if bindir is None:
        raise EnvironmentMissing("PostgreSQL's server (initdb, postgres) is not installed.", fix=INSTALL_FIX)
    account = _service_account()
    directory = Path(tempfile.mkdtemp(prefix=PREFIX))
    try:
        return _start(bindir, directory, account, timeout, settings or {})
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _start(bindir: Path, directory: Path, account: tuple[int, int] | None, timeout: float,
           settings: dict[str, str]) -> PostgresServer:
    (directory / "owner.pid").write_text(str(os.getpid()))
    password = secrets.token_hex(16)
    pwfile = directory / "pwfile"
    pwfile.write_text(password + "\n")
    if account is not None:
        os.chown(directory, *account)
        os.chown(pwfile, *account)
    os.chmod(pwfile, 0o600)
    data = directory / "data"
    log = directory / "postgres.log"
    init = subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", ROLE, f"--pwfile={pwfile}",
                           "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
                          capture_output=True, text=True, cwd=directory, **_as_account(account))
    pwfile.unlink()
    if init.returncode != 0:
        tail = " | ".join((init.stderr or init.stdout).strip().splitlines()[-3:])
        raise EnvironmentMissing(f"initdb failed: {tail}", fix=INSTALL_FIX)
    port = free_port()
    options = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(directory),
               "max_connections": "200", "shared_buffers": "128MB", "wal_level": "minimal", "max_wal_senders": "0",
               "logging_collector": "off", "log_min_messages": "warning", **settings}
    argv = [str(bindir / "postgres"), "-D", str(data)] + [a for k, v in options.items() for a in ("-c", f"{k}={v}")]
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    if account is not None:
        os.fchown(log_fd, *account)
    try:
        process = subprocess.Popen(argv, stdout=log_fd, stderr=log_fd, stdin=subprocess.DEVNULL, cwd=directory,
                                   start_new_session=True, **_as_account(account))
    finally:
        os.close(log_fd)
    (directory / "server.pid").write_text(str(process.pid))
    server = PostgresServer(process, port, directory, password)
    try:
        _wait_ready(server, log, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: PostgresServer, log: Path, timeout: float) -> None:
    import psycopg

    admin = f"postgresql://{ROLE}:{server.password}@127.0.0.1:{server.port}/postgres"
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
            raise EnvironmentMissing(f"postgres exited (code {server.process.returncode}): {tail}", fix=INSTALL_FIX)
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=2) as conn:
                conn.execute(f"CREATE DATABASE {DATABASE}")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise EnvironmentMissing(f"postgres did not answer on 127.0.0.1:{server.port} in {timeout:g} s.",
                                         fix=f"See its log: {log}") from None
            time.sleep(0.1)
