"""Cleanup touches only what the lab made: its own private state, its own QEMU, its own work dirs."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_cli

from learnbackend.containers import engine, state, vm
from learnbackend.errors import EnvironmentMissing
from learnbackend.liveness import identity, identity_alive, start_time

SLEEPER = "import time; time.sleep(300)"


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private state directory for this test only (other runs on the machine keep theirs)."""
    path = tmp_path / "state"
    monkeypatch.setenv(state.STATE_ENV, str(path))
    return path


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def fake_qemu(procs: list[subprocess.Popen[bytes]], *args: str) -> subprocess.Popen[bytes]:
    """A process whose command line reads like QEMU's (argv[0] qemu-system-x86_64), that merely sleeps."""
    proc = subprocess.Popen(["qemu-system-x86_64", "-c", SLEEPER, *args], executable=sys.executable)
    procs.append(proc)
    for _ in range(100):  # until /proc shows the new argv
        if b"qemu-system" in Path(f"/proc/{proc.pid}/cmdline").read_bytes():
            break
    return proc


def test_a_fake_qemu_and_a_record_pointing_at_a_foreign_dir_are_left_alone(
        run_dir: Path, tmp_path: Path, spawned: list[subprocess.Popen[bytes]]) -> None:
    foreign = tmp_path / "someone-else" / "vms"
    foreign.mkdir(parents=True)
    disk = foreign / "disk.img"
    disk.write_bytes(b"not yours")
    victim = fake_qemu(spawned, "-initrd", str(disk))
    # The old shared record directory, as anyone on the machine could write it.
    legacy = Path(tempfile.gettempdir()) / "learnbackend-vm-pids"
    legacy.mkdir(exist_ok=True)
    legacy_record = legacy / f"{victim.pid}.pid"
    legacy_record.write_text(f"{victim.pid}\n{disk}\n0\n")
    # Records in our own state dir of a dead run, naming that process: once with the wrong start time,
    # once with the right one (its command line still does not name our own work dir).
    run_dir.mkdir(mode=0o700)
    wrong = run_dir / "vm-99999999.1-aaaaaaaa"
    right_time = run_dir / "vm-99999999.1-bbbbbbbb"
    for workdir, started in ((wrong, 1), (right_time, start_time(victim.pid))):
        workdir.mkdir()
        (workdir / "qemu").write_text(f"{victim.pid}.{started}\n")
    try:
        result = run_cli("containers", "clean", "--json")
    finally:
        legacy_record.unlink(missing_ok=True)
    assert result.exit_code == 0, result.stderr
    assert victim.poll() is None, "a process the lab did not start was killed"
    assert disk.read_bytes() == b"not yours" and foreign.is_dir()
    assert result.json["vms"] == []
    # What it did delete: only the two dead runs' own work dirs inside the private state dir.
    assert sorted(result.json["vm_dirs"]) == sorted([str(wrong), str(right_time)])


def test_the_exact_qemu_of_a_dead_run_is_killed_and_its_work_dir_removed(
        run_dir: Path, spawned: list[subprocess.Popen[bytes]]) -> None:
    run_dir.mkdir(mode=0o700)
    dead = run_dir / "vm-99999999.1-cccccccc"
    dead.mkdir()
    (dead / "initrd.cpio").write_bytes(b"x" * 4096)
    ours = fake_qemu(spawned, "-initrd", str(dead / "initrd.cpio"))
    (dead / "qemu").write_text(f"{ours.pid}.{start_time(ours.pid)}\n")
    # A work dir whose owner still runs (this test process) is not touched.
    alive = run_dir / f"vm-{identity(ours.pid)}-dddddddd"
    alive.mkdir()
    reaped = vm.reap_leftovers()
    assert reaped.killed == [ours.pid]
    assert ours.wait(timeout=10) != 0
    assert reaped.dirs == [str(dead)] and not dead.exists() and alive.is_dir()
    assert reaped.freed_bytes >= 4096


def test_the_state_dir_is_private_and_refused_when_it_is_someone_elses(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    mine = tmp_path / "mine"
    monkeypatch.setenv(state.STATE_ENV, str(mine))
    assert state.state_dir() == mine
    assert mine.stat().st_mode & 0o777 == 0o700
    os.chmod(mine, 0o755)
    state.state_dir()
    assert mine.stat().st_mode & 0o777 == 0o700  # tightened again
    if os.geteuid() == 0:
        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o700)
        os.chown(theirs, 65534, 65534)
        monkeypatch.setenv(state.STATE_ENV, str(theirs))
        with pytest.raises(EnvironmentMissing, match="belongs to uid 65534"):
            state.state_dir()
    link = tmp_path / "link"
    link.symlink_to(mine)
    monkeypatch.setenv(state.STATE_ENV, str(link))
    with pytest.raises(EnvironmentMissing, match="not a directory"):
        state.state_dir()


def test_a_reused_pid_is_not_the_same_run(spawned: list[subprocess.Popen[bytes]]) -> None:
    me = os.getpid()
    assert identity_alive(identity())
    assert not identity_alive(f"{me}.{(start_time(me) or 0) + 1}")  # same PID, another start: a reuse
    assert engine.run_alive(engine.RUN_ID)
    assert not engine.run_alive(f"{me}-{(start_time(me) or 0) + 1}-deadbeef")
    assert not engine.run_alive("99999999-crashedrun")


def test_start_time_survives_a_process_name_with_parentheses(spawned: list[subprocess.Popen[bytes]]) -> None:
    code = "import ctypes, time; ctypes.CDLL(None).prctl(15, b'x) 1 2 (y', 0, 0, 0); print(1, flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    spawned.append(proc)
    assert proc.stdout is not None and proc.stdout.readline() == b"1\n"
    assert "x) 1 2 (y" in Path(f"/proc/{proc.pid}/stat").read_text()
    started = start_time(proc.pid)
    assert started is not None and started >= (start_time(os.getpid()) or 0)
    assert identity_alive(identity(proc.pid))
    proc.kill()
    proc.wait()
    assert start_time(proc.pid) is None and not identity_alive(f"{proc.pid}.{started}")
