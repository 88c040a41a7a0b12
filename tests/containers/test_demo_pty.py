"""A demo's prediction question answered in a real pseudo-terminal, then run against the real engine."""

# ruff: noqa: F811  (pytest fixtures imported by name from lab_fixtures)
from __future__ import annotations

import os
import re
import sys
from typing import Any

import pexpect
from conftest import REPO
from lab_fixtures import docker_client  # noqa: F401  (fixture)

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_prediction_is_asked_on_a_terminal_and_judged(docker_client: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "LEARNBACKEND_WIDTH")}
    env.update({"TERM": "xterm-256color", "COLUMNS": "100", "LINES": "40", "PYTHONPATH": str(REPO)})
    child = pexpect.spawn(sys.executable, ["-m", "learnbackend", "containers", "demo", "pids"], env=env,
                          encoding="utf-8", dimensions=(40, 100), timeout=60, cwd=str(REPO))
    try:
        child.expect("how many background processes")
        child.send("3")  # "9": questionary's number shortcut
        child.send("\r")
        child.expect("Running it for real")
        child.expect(pexpect.EOF)
        screen = ANSI.sub("", child.before or "")
    finally:
        child.close()
    assert "✓ You predicted “9”: measured 9 processes" in screen, screen
    assert child.exitstatus == 0
    from learnbackend.context import Environment

    with Environment().progress() as store:  # the same LEARNBACKEND_HOME as the child's
        remembered = store.get_value("containers.demo.pids")
    assert remembered["prediction"]["given"] == "9" and remembered["figures"]["started_10"] == 9
