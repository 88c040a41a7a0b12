"""`counter serve` then `counter load` in real 80x24 terminals: the load hits that server; Ctrl-C reports."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pexpect
from conftest import ANSI, spawn_cli

SERVE_URL = "http://127.0.0.1:8700"


def _spawn(*args: str) -> pexpect.spawn:
    return spawn_cli(*args, rows=24, cols=80, timeout=60)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_load_hits_the_served_service_and_ctrl_c_prints_a_partial_report(isolated_env: Path) -> None:
    deadline = time.monotonic() + 20
    while not _port_free(8700):
        assert time.monotonic() < deadline, "port 8700 stays busy: cannot play `counter serve` on its default port"
        time.sleep(0.5)
    server = _spawn("counter", "serve")
    try:
        server.expect("counter service on")
        for _ in range(100):
            try:
                if httpx.get(SERVE_URL + "/healthz", timeout=1).json().get("ok"):
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        served_pid = httpx.get(SERVE_URL + "/healthz", timeout=2).json()["pid"]

        load = _spawn("counter", "load", "--duration", "30", "--concurrency", "4")
        try:
            load.expect("loading the counter service at http://127.0.0.1:8700")
            load.expect("Ctrl-C stops")
            time.sleep(1.5)
            load.sendintr()
            load.expect("load report", timeout=60)
            load.expect("stopped with Ctrl-C after")
            load.expect("count vs acknowledged increments")
            load.expect(pexpect.EOF, timeout=30)
            screen = ANSI.sub("", load.before or "")
        finally:
            load.close(force=True)
        assert load.exitstatus == 130
        assert "╭─ counter load" not in screen  # the live dashboard left nothing behind
        # The served process (not one started for the run) took the load: it is still the same one and up.
        assert httpx.get(SERVE_URL + "/healthz", timeout=2).json()["pid"] == served_pid
        namespaces = httpx.get(SERVE_URL + "/v1/namespaces", timeout=2)
        assert namespaces.status_code == 200
    finally:
        server.sendintr()
        server.expect(pexpect.EOF, timeout=30)
        server.close(force=True)
