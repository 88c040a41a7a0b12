"""Every exit cleans: SIGINT, SIGTERM, SIGHUP and SIGKILL sent to a real `learnbackend containers` process.

At two moments (containers running, a QEMU guest booting) each signal is sent; after SIGINT, SIGTERM and
SIGHUP nothing is left once the command has exited; after SIGKILL the QEMU dies with its owner
(parent-death signal) and the next command (`containers clean`) removes the rest.
"""

# ruff: noqa: F811  (pytest fixtures imported by name from lab_fixtures)
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, run_cli
from lab_fixtures import docker_client, labelled, vm_setup  # noqa: F401  (fixtures)

from learnbackend.containers import state
from learnbackend.liveness import same_process

MOMENTS = {
    "container-run": ["demo", "density", "--yes", "--count", "40"],
    "vm-boot": ["compare", "--runs", "1", "--vm-runs", "2", "--json"],
}


def _default_sighup() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _vm_record(run_dir: Path) -> tuple[int, int] | None:
    for record in run_dir.glob("vm-*/qemu"):
        try:
            pid, started = record.read_text().split(".")
            return int(pid), int(started)
        except (OSError, ValueError):
            continue
    return None


def _wait_for(moment: str, proc: subprocess.Popen[bytes], client: Any, run_dir: Path) -> tuple[int, int] | None:
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"never reached the moment {moment}"
        if moment == "container-run" and len(labelled(client, f"{proc.pid}-")) >= 2:
            return None
        if moment == "vm-boot" and (qemu := _vm_record(run_dir)) and same_process(*qemu):
            return qemu
        time.sleep(0.05)


@pytest.mark.parametrize("moment", sorted(MOMENTS))
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL],
                         ids=lambda s: signal.Signals(s).name)
def test_a_signal_leaves_nothing_behind(moment: str, sig: int, docker_client: Any, vm_setup: Any,
                                        tmp_path: Path) -> None:
    run_dir = tmp_path / "state"
    env = {**os.environ, "PYTHONPATH": str(REPO), state.STATE_ENV: str(run_dir)}
    # SIGHUP at its default in the child, whatever this run inherited: under nohup it is ignored, and the command
    # rightly keeps it ignored, so the case would test nothing.
    proc = subprocess.Popen([sys.executable, "-m", "learnbackend", "containers", *MOMENTS[moment]], cwd=REPO,
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=_default_sighup)
    prefix = f"{proc.pid}-"
    try:
        qemu = _wait_for(moment, proc, docker_client, run_dir)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if qemu is not None:  # the guest dies with its owner, whatever the signal
        deadline = time.monotonic() + 10
        while same_process(*qemu) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not same_process(*qemu), "QEMU outlived the command"
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
        assert run_cli("containers", "clean", env={state.STATE_ENV: str(run_dir)}).exit_code == 0
    else:
        assert proc.returncode == 130, err
        assert b"Traceback" not in err and b"Interrupted" in err
    assert labelled(docker_client, prefix) == []
    assert list(run_dir.glob("vm-*")) == []
    assert list(run_dir.glob("session-*")) == []
