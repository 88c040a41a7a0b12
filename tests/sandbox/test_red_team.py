"""The red-team examples of issue 13 (items 3-6) against the code sandbox, in each mode the machine provides.

Each test runs ``redteam/driver.py`` (the checker's side) as the user of a mode, which runs
``redteam/attacker.py`` (learner code) in the sandbox and reports what the attacker reached
and what the host shows afterwards. Modes:

* ``root``: root with a pids cgroup (the default here), namespaces made in a user namespace of its own;
* ``root-direct``: the same root, namespaces made directly (where user namespaces are disabled);
* ``nobody``: uid 65534 with no cgroup and no capabilities (hosted CI runners), via ``setpriv``;
* ``root-no-sys-admin``: root without CAP_SYS_ADMIN (a default Docker container), via ``setpriv``;
* ``no-namespaces``: root without CAP_SYS_ADMIN where no namespace can be made at all (a container
  whose seccomp profile forbids ``unshare``), via a user namespace with ``max_user_namespaces=0``:
  the sandbox must refuse (exit 3) unless the instructor opts out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import learnbackend

HERE = Path(__file__).parent / "redteam"
SYSTEM_PYTHON = "/usr/bin/python3"
MODES = ("root", "root-direct", "nobody", "root-no-sys-admin")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]
NO_SYS_ADMIN = ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("unshare"),
                                reason="the modes are made from root with setpriv and unshare")


@pytest.fixture(scope="module")
def lib() -> Iterator[Path]:
    """The sandbox's code, the driver and the attacker, copied where every user may read them."""
    root = Path(tempfile.mkdtemp(prefix="lb-redteam-lib-"))
    package = Path(learnbackend.__file__).parent
    (root / "learnbackend").mkdir()
    for name in ("__init__.py", "errors.py", "liveness.py"):
        shutil.copy(package / name, root / "learnbackend" / name)
    shutil.copytree(package / "sandbox", root / "learnbackend" / "sandbox",
                    ignore=shutil.ignore_patterns("__pycache__", "verdict.py"))
    for name in ("driver.py", "attacker.py"):
        shutil.copy(HERE / name, root / name)
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _python_for_nobody() -> str | None:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return None
    check = subprocess.run([*NOBODY, SYSTEM_PYTHON, "-c", "import sys; assert sys.version_info >= (3, 10)"],
                           capture_output=True, check=False)
    return SYSTEM_PYTHON if check.returncode == 0 else None


def command(mode: str, lib: Path) -> list[str]:
    driver = str(lib / "driver.py")
    if mode in ("root", "root-direct"):
        return [sys.executable, driver]
    if mode == "nobody":
        python = _python_for_nobody()
        if python is None:
            pytest.skip(f"no Python >= 3.10 that uid 65534 may run ({SYSTEM_PYTHON})")
        return [*NOBODY, python, driver]
    if mode == "root-no-sys-admin":
        return [*NO_SYS_ADMIN, sys.executable, driver]
    assert mode == "no-namespaces"
    script = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"'
    return ["unshare", "--user", "--map-root-user", "sh", "-c", script, "sh", *NO_SYS_ADMIN, sys.executable, driver]


def drive(mode: str, lib: Path, attack: str, **env: str) -> dict:
    """Run one attack in ``mode``; the driver's JSON report."""
    # The secret is in the checker's initial environment: what /proc/<pid>/environ shows.
    full_env = {**os.environ, "PYTHONPATH": str(lib), "LB_REDTEAM_SECRET": "environ-secret-4711", **env}
    if mode == "root-direct":
        full_env["LB_REDTEAM_FORCE_MODE"] = "root"
    full_env.pop("LEARNBACKEND_SANDBOX_ALLOW_UNISOLATED", None) if "LEARNBACKEND_SANDBOX_ALLOW_UNISOLATED" not in env \
        else None
    done = subprocess.run([*command(mode, lib), attack], capture_output=True, text=True, timeout=90, env=full_env,
                          cwd="/", check=False)
    assert done.returncode == 0, f"the checker did not survive ({done.returncode}): {done.stderr[-3000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if "refused" in report:
        pytest.fail(f"the sandbox refused in mode {mode}: {report['refused']}")
    assert "limits" in report or report["observed"] is not None, report["stderr"]
    return report


def refused(outcome: list[str]) -> bool:
    return outcome[0] == "refused"


@pytest.mark.parametrize("mode", MODES)
def test_learner_code_sees_a_private_filesystem(mode: str, lib: Path) -> None:
    report = drive(mode, lib, "filesystem")
    seen, host = report["observed"], report["host"]
    for attempt in ("read_secret_file", "read_public_file_outside", "list_checker_home", "read_ssh_key",
                    "list_root_ssh", "read_parent_environ", "read_checker_environ", "write_outside_run_dir",
                    "write_package", "write_checker_python", "unix_socket", "abstract_socket", "docker_socket",
                    "list_run"):
        assert refused(seen[attempt]), (mode, attempt, seen[attempt])
    assert seen["environ_leaks"] == []
    # /root exists only as the way to an interpreter installed under it (pyenv), nothing else of it
    shown = {Path(p).relative_to("/root").parts[0] for p in report["python_prefixes"] if p.startswith("/root/")}
    assert refused(seen["list_root_home"]) or set(eval(seen["list_root_home"][1])) <= shown, seen["list_root_home"]
    assert not host["escaped_outside"] and not host["host_tmp_file"]  # /tmp inside is the run's own
    assert host["package"] == "TRUSTED = True\n" and not refused(seen["read_package"])  # readable, not writable
    assert "Read-only file system" in seen["write_package"][1]
    assert not refused(seen["write_run_dir"]) and not refused(seen["write_tmpdir"]) and host["inside_written"]
    assert host["inside_owner"] == report["checker_uid"]  # what the run wrote is given back to the checker's user


@pytest.mark.parametrize("mode", MODES)
def test_learner_code_runs_unprivileged_without_the_host_network(mode: str, lib: Path) -> None:
    report = drive(mode, lib, "privileges")
    seen = report["observed"]
    uid, euid, _, groups = seen["ids"]
    assert uid == euid != 0 and groups in ([], [uid], [seen["ids"][2]])
    if report["checker_uid"] == 0:
        assert uid >= 610_000  # a dedicated uid, not root and not the checker's
    for cap in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        assert int(seen["caps"][cap], 16) == 0, (cap, seen["caps"])
    assert seen["caps"]["NoNewPrivs"] == "1"
    assert seen["setns_joined"] == []
    for attempt in ("host_loopback_server", "host_loopback_after_setns", "write_root_cgroup", "write_root_cgroup_v2",
                    "mount_sysfs", "remount_root_rw", "setuid_root", "chroot"):
        assert refused(seen[attempt]), (mode, attempt, seen[attempt])
    if report["mode"] != "root":  # made in a user namespace of the sandbox's: no user namespace of its own
        assert refused(seen["unshare_user"]), seen["unshare_user"]
    assert report["network_isolated"]


@pytest.mark.parametrize("mode", MODES)
def test_a_daemon_that_leaves_its_session_and_cgroup_dies_with_the_run(mode: str, lib: Path) -> None:
    report = drive(mode, lib, "daemon")
    assert report["observed"] == {"started": True} and report["exit_code"] == 0
    assert not report["host"]["daemon_marker"], "a daemon outlived the run"


@pytest.mark.parametrize("mode", MODES)
def test_learner_code_cannot_signal_the_checker(mode: str, lib: Path) -> None:
    report = drive(mode, lib, "signals")  # the driver answering at all means it was neither killed nor stopped
    seen = report["observed"]
    assert seen["visible_pids"] and max(seen["visible_pids"]) < 10, seen["visible_pids"]  # only the run's processes
    checker_signals = [k for k in seen if k.startswith("kill_") and not k.startswith("kill_1_")]
    assert checker_signals
    for attempt in checker_signals:
        target = int(attempt.split("_")[1])
        if target > 10:  # the checker's pids are not in the run's PID namespace at all
            assert refused(seen[attempt]) and "ProcessLookupError" in seen[attempt][1], (attempt, seen[attempt])


@pytest.mark.parametrize("mode", MODES)
def test_floods_are_contained(mode: str, lib: Path) -> None:
    """Fork bombs, memory, disk (one file, many files, /tmp), CPU and output floods: stopped, with the reason."""
    report = drive(mode, lib, "limits")["limits"]
    expected = {"fork": "process limit", "memory": "memory limit", "disk": "disk limit", "files": "disk limit",
                "loop": "timeout", "tmp": "disk limit"}
    for name, reason in expected.items():
        assert report[name]["reason"] and reason in report[name]["reason"], (mode, name, report[name])
    assert report["disk"]["left_bytes"] <= 8 * 1024 * 1024
    assert report["output"]["stdout_len"] < 300 * 1024 and report["output"]["reason"].startswith("timeout")
    assert all(entry["seconds"] < 15 for entry in report.values()), report  # each stopped by its limit, in time


def test_without_namespaces_learner_code_is_refused_unless_the_instructor_opts_out(lib: Path) -> None:
    done = subprocess.run([*command("no-namespaces", lib), "benign"], capture_output=True, text=True, timeout=90,
                          env={**os.environ, "PYTHONPATH": str(lib)}, cwd="/", check=False)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "cannot be isolated" in report["refused"] and "namespaces" in report["refused"], report
    assert "--allow-unisolated" in report["fix"] and "LEARNBACKEND_SANDBOX_ALLOW_UNISOLATED" in report["fix"]
    opted = drive("no-namespaces", lib, "benign", LEARNBACKEND_SANDBOX_ALLOW_UNISOLATED="1")
    assert opted["observed"] == {"hello": "ok"} and opted["isolated"] is False


def test_check_exits_3_without_isolation_and_runs_with_allow_unisolated(tmp_path: Path) -> None:
    """`learnbackend check` on a code exercise, where no namespace can be made (a default Docker container)."""
    workspace = tmp_path / "ws"
    env = {**os.environ, "LEARNBACKEND_HOME": str(tmp_path / "home"), "PYTHONPATH": ""}
    env.pop("LEARNBACKEND_SANDBOX_ALLOW_UNISOLATED", None)
    cli = [sys.executable, "-m", "learnbackend"]
    init = subprocess.run([*cli, "init", str(workspace), "--lesson", "counter-build"], capture_output=True, text=True,
                          env=env, check=False, timeout=120)
    assert init.returncode == 0, init.stderr
    for learner in workspace.glob("exercises/*/idempotent_add.py"):  # started: an untouched starter is not run
        learner.write_text(learner.read_text() + "\n# my attempt\n")
    prefix = command("no-namespaces", Path("/nonexistent"))[:-2]  # the restricted environment, without the driver

    def check(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *cli, "check", str(workspace), "--only", "idempotent-add", "--format", "json",
                               *extra], capture_output=True, text=True, env=env, check=False, timeout=180)

    refused_run = check()
    assert refused_run.returncode == 3, (refused_run.stdout[-2000:], refused_run.stderr[-2000:])
    result = json.loads(refused_run.stdout)["results"][0]
    assert result["missing_environment"] and "cannot be isolated" in result["message"], result
    allowed = check("--allow-unisolated")
    assert allowed.returncode in (0, 1), (allowed.stdout[-2000:], allowed.stderr[-2000:])
    assert not json.loads(allowed.stdout)["results"][0]["missing_environment"]
