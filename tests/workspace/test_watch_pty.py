"""`learnbackend watch` in a real pseudo-terminal: a save triggers a check; h, l, n and q work."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
from conftest import run_cli  # type: ignore[import-not-found]
from wsolving import Solver  # type: ignore[import-not-found]

LESSON = "roadmap-fundamentals"


def _spawn(root: Path) -> pexpect.spawn:
    env = dict(os.environ)
    env.update({"TERM": "xterm-256color", "COLUMNS": "100", "LINES": "40"})
    return pexpect.spawn(sys.executable, ["-m", "learnbackend", "watch", "-w", str(root)], env=env, encoding="utf-8",
                         dimensions=(40, 100), timeout=20)


def test_watch_rechecks_on_save_and_answers_keys(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert run_cli("init", str(root), "--lesson", LESSON).exit_code == 0
    child = _spawn(root)
    try:
        child.expect("Exercise 1/")
        child.expect("not started")
        # The question itself is on screen before any check, reflowed once (not cut at its source lines).
        child.expect("already refuses a negative quantity before submitting")
        child.expect("Not started yet")
        child.expect("q quit")
        Solver(root).solve("1")  # the learner saves the right answer
        child.expect("Solved!", timeout=15)
        child.expect("for the next exercise")
        child.expect(r"Progress: 1/\d+ solved")
        child.send("n")
        child.expect("Exercise 2/")
        child.expect("q quit")
        child.send("h")
        child.expect("Hint 1 of")
        child.expect("q quit")
        # The hint is revealed once, not again under the result.
        assert "hint:" not in child.before
        child.send("l")
        child.expect("server-side-validation")
        child.expect("✓ passed")
        child.expect("q quit")
        Solver(root).botch("2")
        child.expect("Not right yet", timeout=15)
        child.send("q")
        child.expect("Bye!")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    listed = run_cli("list", "-w", str(root), "--json").json
    assert [item["status"] for item in listed[:2]] == ["passed", "failed"]


def test_watch_without_a_terminal_says_to_use_check(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert run_cli("init", str(root), "--lesson", LESSON).exit_code == 0
    result = run_cli("watch", "-w", str(root))
    assert result.exit_code == 2 and "learnbackend check" in result.stderr


def test_ctrl_c_leaves_watch_with_exit_code_130(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert run_cli("init", str(root), "--lesson", LESSON).exit_code == 0
    child = _spawn(root)
    try:
        child.expect("q quit")
        child.sendintr()
        child.expect("Interrupted")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130
