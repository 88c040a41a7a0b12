"""The sandbox runner, tested with real misbehaving programs: each must fail clearly, the checker survives."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import need  # type: ignore[import-not-found]

from learnbackend.sandbox.cgroup import PidsCgroup
from learnbackend.sandbox.runner import (
    SandboxResult,
    _run,
    isolation_status,
    run_sandboxed,
)

PY = sys.executable


@pytest.fixture(autouse=True)
def _isolation(request: pytest.FixtureRequest) -> None:
    """Learner code runs only isolated (or when the instructor opts out): without isolation, a missing engine."""
    if request.node.name.startswith("test_the_opted_out_mode"):
        return
    status = isolation_status()
    need(status.available, f"the sandbox cannot isolate learner code here ({status.reason})")


def _py(code: str, cwd: Path, **kwargs: object) -> SandboxResult:
    return run_sandboxed([PY, "-c", code], cwd=cwd, **kwargs)  # type: ignore[arg-type]


def test_a_good_program_passes_with_its_output(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("41")
    result = _py("import pathlib; n = int(pathlib.Path('data.txt').read_text()); print(n + 1);"
                 "pathlib.Path('out.txt').write_text('done')", tmp_path)
    assert result.ok, result
    assert result.exit_code == 0 and result.stdout == "42\n" and result.killed_reason is None
    assert (tmp_path / "out.txt").read_text() == "done"


def test_exit_status_and_stderr_are_reported(tmp_path: Path) -> None:
    result = _py("import sys; print('bad', file=sys.stderr); sys.exit(3)", tmp_path)
    assert result.exit_code == 3 and result.stderr == "bad\n" and not result.ok
    assert result.killed_reason is None and not result.timed_out


def test_an_endless_loop_is_stopped_by_the_timeout(tmp_path: Path) -> None:
    result = _py("while True: pass", tmp_path, timeout=1.0)
    assert result.timed_out and result.exit_code is None
    assert result.killed_reason and result.killed_reason.startswith("timeout")
    assert result.duration_s >= 1.0  # it ran until the timeout, then was stopped (not a speed test)


def test_a_child_that_escapes_the_process_group_is_killed_too(tmp_path: Path) -> None:
    marker = tmp_path / "alive"
    code = ("import os, time, pathlib\n"
            "if os.fork() == 0:\n    os.setsid()\n    time.sleep(1.5)\n"
            f"    pathlib.Path({str(marker)!r}).write_text('escaped')\n    os._exit(0)\n"
            "time.sleep(60)")
    result = _py(code, tmp_path, timeout=0.5)
    assert result.timed_out
    import time
    time.sleep(1.6)
    assert not marker.exists(), "a process that left the process group outlived the sandbox"


def test_a_fork_storm_hits_the_process_limit_and_is_cleaned_up(tmp_path: Path) -> None:
    code = ("import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)")
    result = _py(code, tmp_path, timeout=1.5, max_procs=32)
    assert result.killed_reason is not None and "process limit" in result.killed_reason
    mine = f"learnbackend-sandbox-{os.getpid()}-"
    assert not any(p.name.startswith(mine) for p in Path("/sys/fs/cgroup/pids").glob("*"))


@pytest.mark.skipif(os.geteuid() != 0, reason="the dedicated-uid fallback is only used as root")
def test_fork_storm_with_the_dedicated_uid_fallback(tmp_path: Path) -> None:
    # /bin/sh because the fallback uid cannot read root's private Python install.
    script = "i=0; while [ $i -lt 100 ]; do sleep 30 & i=$((i+1)); done; wait"
    result = _run(["/bin/sh", "-c", script], cwd=tmp_path, timeout=3, memory_mb=256, max_procs=16, max_file_mb=10,
                  env=None, network=False, process_strategy="uid")
    assert result.killed_reason is not None and "process limit" in result.killed_reason, result
    assert "Cannot fork" in result.stderr


def test_filling_the_disk_with_one_file_hits_the_file_size_limit(tmp_path: Path) -> None:
    code = "f = open('big', 'wb')\nwhile True:\n    f.write(b'x' * 1024 * 1024)"
    result = _py(code, tmp_path, max_file_mb=8)
    assert result.killed_reason is not None and "disk limit" in result.killed_reason
    assert (tmp_path / "big").stat().st_size <= 8 * 1024 * 1024


def test_filling_the_disk_with_many_files_is_stopped_by_the_watchdog(tmp_path: Path) -> None:
    code = "i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * 2 * 1024 * 1024)\n    i += 1"
    result = _py(code, tmp_path, max_file_mb=10, timeout=20)
    assert not result.timed_out
    assert result.killed_reason is not None and "disk limit" in result.killed_reason


def test_a_memory_hog_hits_the_memory_limit(tmp_path: Path) -> None:
    result = _py("x = bytearray(1024 * 1024 * 1024)", tmp_path, memory_mb=128)
    assert result.exit_code == 1
    assert result.killed_reason is not None and "memory limit" in result.killed_reason


def test_the_network_is_unreachable_but_loopback_works(tmp_path: Path) -> None:
    if not isolation_status().available:
        pytest.skip(f"the sandbox cannot isolate here: {isolation_status().reason}")
    code = ("import socket\nsrv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()\n"
            "socket.create_connection(srv.getsockname(), timeout=2); print('loopback ok')\n"
            "socket.create_connection(('192.0.2.1', 80), timeout=2)")
    result = _py(code, tmp_path)
    assert result.network_isolated
    assert result.stdout == "loopback ok\n"
    assert result.killed_reason is not None and "network blocked" in result.killed_reason


def test_the_environment_is_clean_and_extendable(tmp_path: Path) -> None:
    os.environ["LEARNBACKEND_SECRET_TEST"] = "leak"
    try:
        result = _py("import os; print(os.environ.get('LEARNBACKEND_SECRET_TEST'), os.environ['MINE'])",
                     tmp_path, env={"MINE": "yes"})
    finally:
        del os.environ["LEARNBACKEND_SECRET_TEST"]
    assert result.stdout == "None yes\n"


def test_output_is_bounded(tmp_path: Path) -> None:
    result = _py("import sys\nfor _ in range(200): sys.stdout.write('x' * 10000)", tmp_path)
    assert result.exit_code == 0
    assert len(result.stdout) < 300 * 1024 and "truncated" in result.stdout


def test_cgroups_of_dead_runs_are_reaped() -> None:
    group = PidsCgroup.create(8)
    if group is None:
        pytest.skip("no pids cgroup can be made here")
    stale = group.path.with_name("learnbackend-sandbox-999999999-0")
    group.path.rename(stale)
    fresh = PidsCgroup.create(8)
    assert fresh is not None and not stale.exists()
    fresh.remove()


def test_ctrl_c_in_the_checker_kills_the_learner_code_and_cleans_up(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    started, survivor = tmp_path / "started", tmp_path / "survivor"
    learner = ("import os, time\nopen('started', 'w').write('x')\n"
               "if os.fork() == 0:\n    os.setsid()\n    time.sleep(1.5)\n    open('survivor', 'w').write('x')\n"
               "time.sleep(60)")
    script = (
        "import sys\nfrom pathlib import Path\nfrom learnbackend.sandbox import run_sandboxed\n"
        "print('started', flush=True)\n"
        f"run_sandboxed([sys.executable, '-c', {learner!r}], cwd=Path({str(tmp_path)!r}))\n"
    )
    checker = subprocess.Popen([PY, "-c", script], stdout=subprocess.PIPE, text=True)
    assert checker.stdout is not None and checker.stdout.readline() == "started\n"
    deadline = time.monotonic() + 10
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists()
    checker.send_signal(signal.SIGINT)
    checker.wait(timeout=10)
    time.sleep(2)
    assert not survivor.exists(), "a process of the learner outlived the checker's Ctrl-C"
    mine = f"learnbackend-sandbox-{checker.pid}-"
    assert not any(p.name.startswith(mine) for p in Path("/sys/fs/cgroup/pids").glob("*"))
    assert not any(p.name.startswith(mine) for p in Path(tempfile.gettempdir()).glob("*"))


def test_network_true_keeps_the_host_network_and_says_so(tmp_path: Path) -> None:
    result = _py("print('hi')", tmp_path, network=True)
    assert result.ok and not result.network_isolated


def test_a_missing_program_or_directory_raises_and_leaves_nothing_behind(tmp_path: Path) -> None:
    before = set(Path("/sys/fs/cgroup/pids").glob(f"learnbackend-sandbox-{os.getpid()}-*"))
    with pytest.raises(FileNotFoundError):
        run_sandboxed([str(tmp_path / "no-such-program")], cwd=tmp_path)
    with pytest.raises(FileNotFoundError):
        run_sandboxed([PY, "-c", "pass"], cwd=tmp_path / "no-such-dir")
    assert set(Path("/sys/fs/cgroup/pids").glob(f"learnbackend-sandbox-{os.getpid()}-*")) == before


def test_temporary_directories_of_killed_checkers_are_reaped(tmp_path: Path) -> None:
    import tempfile

    from learnbackend.sandbox import launch, runner

    stale = Path(tempfile.gettempdir()) / f"{runner.TMP_PREFIX}999999999-abc"
    stale.mkdir(exist_ok=True)
    (stale / "leftover").write_text("x")
    launch._reaped = False
    result = _py("import os; print(os.environ['TMPDIR'])", tmp_path)
    assert not stale.exists()
    assert f"{runner.TMP_PREFIX}{os.getpid()}-" in result.stdout and not Path(result.stdout.strip()).exists()


def test_pytest_plugins_of_the_host_do_not_autoload_unless_asked(tmp_path: Path) -> None:
    code = "import os; print(repr(os.environ.get('PYTEST_DISABLE_PLUGIN_AUTOLOAD')))"
    assert _py(code, tmp_path).stdout == "'1'\n"
    assert _py(code, tmp_path, env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": ""}).stdout == "''\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="the dedicated-uid fallback is only used as root")
def test_the_uid_fallback_says_clearly_when_it_cannot_run_the_program(tmp_path: Path) -> None:
    from learnbackend.errors import EnvironmentMissing

    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    program = private / "run.sh"
    program.write_text("#!/bin/sh\necho hi\n")
    program.chmod(0o700)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with pytest.raises(EnvironmentMissing) as caught:
        _run([str(program)], cwd=run_dir, timeout=5, memory_mb=128, max_procs=8, max_file_mb=5, env=None,
             network=False, process_strategy="uid")
    assert "unprivileged user" in caught.value.message and caught.value.fix


def test_an_interactive_program_answers_line_by_line_and_finish_reports_the_rest(tmp_path: Path) -> None:
    from learnbackend.sandbox import start_sandboxed

    code = ("import sys\nfor line in sys.stdin:\n    print(int(line) * 2, flush=True)\n"
            "print('bye'); print('oops', file=sys.stderr)")
    with start_sandboxed([PY, "-c", code], cwd=tmp_path, timeout=10) as running:
        for n in (1, 21):
            running.stdin.write(f"{n}\n".encode())
            assert running.stdout.readline() == f"{n * 2}\n".encode()
        result = running.finish()
    assert result.ok and result.stdout == "bye\n" and result.stderr == "oops\n"


def test_the_deadline_ends_a_read_that_would_block_forever(tmp_path: Path) -> None:
    from learnbackend.sandbox import start_sandboxed

    with start_sandboxed([PY, "-c", "import time; time.sleep(60)"], cwd=tmp_path, timeout=1) as running:
        assert running.stdout.readline() == b""  # EOF once the watchdog killed the program
        result = running.finish()
    assert result.timed_out and result.exit_code is None and result.killed_reason.startswith("timeout")


def test_finish_with_its_own_timeout_and_the_context_manager_kill(tmp_path: Path) -> None:
    from learnbackend.sandbox import start_sandboxed

    pidfile = tmp_path / "pid"
    code = "import os, time; open('pid', 'w').write(str(os.getpid())); print('up', flush=True); time.sleep(60)"
    with start_sandboxed([PY, "-c", code], cwd=tmp_path, timeout=30) as running:
        assert running.stdout.readline() == b"up\n"
        result = running.finish(timeout=0.2)
    assert result.timed_out and "0.2 s" in (result.killed_reason or "")
    with start_sandboxed([PY, "-c", code], cwd=tmp_path, timeout=30) as running:
        assert running.stdout.readline() == b"up\n"
        os.kill(running.pid, 0)
    # left without finish(): __exit__ killed it and removed its private temporary directory
    with pytest.raises(ProcessLookupError):
        os.kill(running.pid, 0)
    assert pidfile.read_text() and not running._run.base.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the run directory is lent to a dedicated uid only when the checker is root")
def test_the_run_directory_is_lent_for_the_run_and_given_back(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("learner's")
    locked = tmp_path / "expected.txt"
    locked.write_text("the instructor's")
    locked.chmod(0o444)
    code = ("import os\nopen('mine.txt', 'a').write('+more')\nopen('new.txt', 'w').write('new')\n"
            "for attempt in (lambda: open('expected.txt', 'a'), lambda: os.chmod('expected.txt', 0o666)):\n"
            "    try:\n        attempt()\n        print('changed')\n    except PermissionError:\n        print('refused')\n"
            "print(os.getuid())")
    result = _py(code, tmp_path)
    assert result.ok, result
    refused_write, refused_chmod, uid = result.stdout.split()
    assert (refused_write, refused_chmod) == ("refused", "refused") and int(uid) != 0
    assert (tmp_path / "mine.txt").read_text() == "learner's+more" and (tmp_path / "new.txt").read_text() == "new"
    assert locked.read_text() == "the instructor's"
    assert {p.stat().st_uid for p in [tmp_path, *tmp_path.iterdir()]} == {0}  # nothing left owned by the run's uid


@pytest.mark.skipif(os.geteuid() != 0, reason="without isolation only root runs learner code as a dedicated uid")
def test_the_opted_out_mode_runs_unisolated_as_a_dedicated_uid_and_says_when_it_cannot(tmp_path: Path) -> None:
    from learnbackend.errors import EnvironmentMissing

    with pytest.raises(EnvironmentMissing) as caught:  # pytest's tmp_path lies under a directory closed to others
        _run(["/bin/sh", "-c", "id -u"], cwd=tmp_path, timeout=5, memory_mb=64, max_procs=8, max_file_mb=5, env=None,
             network=False, mode="none")
    assert "cannot reach" in caught.value.message and "chmod o+x" in (caught.value.fix or "")
    open_dir = Path(tempfile.mkdtemp())
    try:
        open_dir.chmod(0o755)
        result = _run(["/bin/sh", "-c", "id -u; ls /root"], cwd=open_dir, timeout=5, memory_mb=64, max_procs=8,
                      max_file_mb=5, env=None, network=False, mode="none")
    finally:
        import shutil

        shutil.rmtree(open_dir)
    assert not result.isolated and int(result.stdout.split()[0]) >= 610_000


def test_a_checker_killed_by_sigkill_takes_its_runs_with_it(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    if not isolation_status().available:
        pytest.skip(f"the sandbox cannot isolate here: {isolation_status().reason}")
    started, survivor = tmp_path / "started", tmp_path / "survivor"
    learner = ("import os, time\nopen('started', 'w').write('x')\n"
               "if os.fork() == 0:\n    os.setsid()\n    time.sleep(3)\n    open('survivor', 'w').write('x')\n"
               "time.sleep(3)\nopen('survivor', 'w').write('x')")
    script = ("import sys\nfrom pathlib import Path\nfrom learnbackend.sandbox import run_sandboxed\n"
              f"run_sandboxed([sys.executable, '-c', {learner!r}], cwd=Path({str(tmp_path)!r}), timeout=60)\n")
    checker = subprocess.Popen([PY, "-c", script])
    deadline = time.monotonic() + 10
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert started.exists()
    checker.send_signal(signal.SIGKILL)  # no cleanup code of the checker runs
    checker.wait(timeout=10)
    time.sleep(4)  # the survivors would write at 3 s
    assert not survivor.exists(), "learner code outlived a checker killed with SIGKILL"
    # and the run directory lent to the run's uid is back with its owner
    assert {p.stat().st_uid for p in [tmp_path, *tmp_path.iterdir()]} == {os.geteuid()}


def test_a_program_outside_the_view_and_its_interpreter_are_shown_read_only(tmp_path: Path) -> None:
    import shutil

    tools, interpreters = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
    unrelated = Path(tempfile.mkdtemp(prefix="not-given-"))  # a sibling the program was not given
    try:
        for directory in (tools, interpreters, unrelated):
            directory.chmod(0o755)
        shutil.copy("/bin/sh", interpreters / "mysh")
        script = tools / "greet"
        script.write_text(f"#!{interpreters / 'mysh'}\necho hello from $0\nls -1 {tools.parent}\n")
        script.chmod(0o755)
        result = run_sandboxed([str(script)], cwd=tmp_path, timeout=10)
    finally:
        for directory in (tools, interpreters, unrelated):
            shutil.rmtree(directory)
    assert result.ok, result
    greeting, *visible = result.stdout.splitlines()
    assert greeting == f"hello from {script}"
    # Of its parent directory (the host's temporary directory) the program sees only what it was
    # given (the program, its interpreter, and paths the run itself needs), never a sibling.
    assert tools.name in visible and interpreters.name in visible, result.stdout
    assert unrelated.name not in visible, result.stdout
