"""The home screen in a real 80x24 pseudo-terminal: keys, q, and Continue into the git shell."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pexpect
from conftest import ANSI, need, run_cli, spawn_cli


def _spawn(*args: str) -> pexpect.spawn:
    return spawn_cli(*args, rows=24, cols=80, timeout=60)


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
        child.expect("Press a key for the menu")  # the result stays on screen until read
        child.send(" ")
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


def test_continue_opens_the_next_containers_demo_not_yet_run(isolated_env: Path) -> None:
    from learnbackend.containers import engine
    from learnbackend.containers.activity import run_id
    from learnbackend.context import Environment

    client, why = engine.try_connect()
    need(client is not None, f"a Docker engine: {why}")
    if client is not None:
        client.close()
    with Environment().progress() as store:  # the same LEARNBACKEND_HOME as the child's
        for step in ("isolation", "memory"):
            store.record("containers", run_id(step), "passed")
    child = _spawn()
    try:
        child.expect("What would you like to do")
        child.expect("Quit")
        assert "Continue where you left off (containers lab)" in ANSI.sub("", child.before or "")
        child.send("c")
        child.send("\r")
        child.expect("next: demo pids")
        child.expect("how many background processes")
        child.send("3")  # "9"
        child.send("\r")
        child.expect("You predicted")
        child.expect("Press a key for the menu")
        child.send(" ")
        child.expect("What would you like to do")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    progress = run_cli("progress", "--json").json
    assert next(m for m in progress["modules"] if m["module"] == "containers")["passed"] == 3
