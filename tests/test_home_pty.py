"""The home screen in a real 80x24 pseudo-terminal: keys, q, and Continue into the git shell."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pexpect
from conftest import need, run_cli

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]")


def _spawn(*args: str) -> pexpect.spawn:
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env.pop("LEARNBACKEND_WIDTH", None)
    env.update({"TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"})
    return pexpect.spawn(sys.executable, ["-m", "learnbackend", *args], env=env, encoding="utf-8",
                         dimensions=(24, 80), timeout=60)


def test_the_menu_shows_its_keys_and_q_quits_at_once(isolated_env: Path) -> None:
    child = _spawn()
    try:
        child.expect("What would you like to do")
        child.expect("q quits")
        child.expect("Quit")
        screen = ANSI.sub("", child.before or "")
        # Every item shows the key that picks it.
        assert re.search(r"1\) Roadmap quiz", screen) and re.search(r"p\) Your progress", screen), screen
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_continue_opens_the_git_shell_at_the_current_level_keeping_the_work(isolated_env: Path) -> None:
    need(shutil.which("git") is not None, "git is not installed")
    need(shutil.which("bash") is not None, "bash is not installed")
    started = run_cli("git", "start", "stage-a-file")
    assert started.exit_code == 0, started.stdout + started.stderr
    work = Path(started.stdout.split("Your repository:")[1].split()[0])
    (work / "mine.txt").write_text("my own work\n")

    # `git start LEVEL` on the level in progress resumes it: nothing of the learner's is lost.
    again = run_cli("git", "start", "stage-a-file")
    assert again.exit_code == 0
    assert "Resumed the level as you left it" in again.stdout
    assert (work / "mine.txt").read_text() == "my own work\n"

    child = _spawn()
    try:
        child.expect("What would you like to do")
        child.expect("Quit")
        assert "Continue where you left off (git sandbox)" in ANSI.sub("", child.before or "")
        child.send("c")
        child.send("\r")
        child.expect("Resumed the level as you left it")
        child.expect("Your git commands are recorded")
        child.expect(r"\(git: stage-a-file\) work \$ ")
        child.sendline("ls")
        child.expect(r"\(git: stage-a-file\) work \$ ")
        assert "mine.txt" in ANSI.sub("", child.before or "")
        child.sendline("exit")
        child.expect("Left the level's shell")
        child.expect("What would you like to do")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_git_shell_without_a_terminal_says_it_is_a_shell(isolated_env: Path) -> None:
    need(shutil.which("git") is not None, "git is not installed")
    assert run_cli("git", "start", "stage-a-file").exit_code == 0
    result = run_cli("git", "shell", input="")
    assert result.exit_code == 2
    message = result.stdout + result.stderr
    assert "interactive shell" in message and "answers file" not in message


def test_home_says_when_reviews_are_due(isolated_env: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text('{"roadmap-fundamentals/cors-name": "CORS"}')
    answered = run_cli("quiz", "start", "--answers", str(answers))
    assert answered.exit_code in (0, 1), answered.stdout + answered.stderr
    home = run_cli()
    assert home.exit_code == 0
    assert "Roadmap reviews:" in home.stdout
    assert re.search(r"Roadmap reviews: (\d+ reviews? due now|no review due; the next in .+)", home.stdout), home.stdout
