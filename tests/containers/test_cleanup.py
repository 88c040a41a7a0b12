"""Nothing is left behind: Ctrl-C during a demo, leftovers reaped, `clean` removes only the lab's things."""

# ruff: noqa: F811  (pytest fixtures imported by name from lab_fixtures)
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from conftest import REPO, run_cli
from lab_fixtures import docker_client, lab_image, labelled  # noqa: F401  (fixtures)

from learnbackend.containers import engine


def test_sigint_during_a_demo_leaves_no_container(docker_client: Any, lab_image: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "learnbackend", "containers", "demo", "density", "--yes",
                             "--count", "40"], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    prefix = f"{proc.pid}-"
    try:
        deadline = time.monotonic() + 60
        while len(labelled(docker_client, prefix)) < 2:  # interrupt while containers are running
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the demo never started its containers"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    assert labelled(docker_client, prefix) == []


def _foreign_and_leftover(client: Any, image: str) -> tuple[Any, Any]:
    foreign = client.containers.create(image, ["true"], network_mode="none", labels={"owner": "someone-else"})
    leftover = client.containers.create(image, ["true"], network_mode="none",
                                        labels={engine.LABEL: "1", engine.RUN_LABEL: "99999999-crashedrun",
                                                engine.UID_LABEL: str(os.geteuid())})
    return foreign, leftover


def test_a_reaper_leaves_another_users_leftovers_alone(docker_client: Any, lab_image: str) -> None:
    theirs = docker_client.containers.create(
        lab_image, ["true"], network_mode="none",
        labels={engine.LABEL: "1", engine.RUN_LABEL: "99999998-crashedrun", engine.UID_LABEL: "65534"})
    try:
        result = run_cli("containers", "demo", "pids", "--yes", "--json")
        assert result.exit_code == 0, result.stderr
        theirs.reload()  # still there: its user's next run (or clean) removes it
        cleaned = run_cli("containers", "clean", "--json")
        assert theirs.name not in cleaned.json["containers"]
        assert any("other users" in k for k in cleaned.json["kept"])
        theirs.reload()
    finally:
        engine.remove_container(theirs)


def test_leftovers_of_another_run_are_reaped_by_the_next_command(docker_client: Any, lab_image: str) -> None:
    foreign, leftover = _foreign_and_leftover(docker_client, lab_image)
    try:
        result = run_cli("containers", "demo", "pids", "--yes", "--json")
        assert result.exit_code == 0, result.stderr
        assert labelled(docker_client, "99999999-crashedrun") == []
        foreign.reload()  # still there: not ours
    finally:
        engine.remove_container(foreign)
        engine.remove_container(leftover)


def test_clean_removes_only_labelled_things(docker_client: Any, lab_image: str) -> None:
    foreign, leftover = _foreign_and_leftover(docker_client, lab_image)
    try:
        result = run_cli("containers", "clean", "--json")
        assert result.exit_code == 0, result.stderr
        assert leftover.name in result.json["containers"]
        assert foreign.name not in result.json["containers"]
        assert labelled(docker_client, "99999999-crashedrun") == []
        foreign.reload()
        # The lab's image is still used by the foreign container: left alone, and said so in words.
        assert any("in use by container" in k for k in result.json["kept"]), result.json
        assert result.json["errors"] == []
        text = run_cli("containers", "clean")
        assert text.exit_code == 0
        assert "in use by container" in text.stdout and "409" not in text.stdout and "http" not in text.stdout
        for kind in ("containers", "images", "QEMU processes", "VM work directories"):  # one row per kind
            assert kind in text.stdout
        assert "Nothing to clean" not in text.stdout or "Kept" in text.stdout
    finally:
        engine.remove_container(foreign)
        engine.remove_container(leftover)
    again = run_cli("containers", "clean")
    assert again.exit_code == 0
