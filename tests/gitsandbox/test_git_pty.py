"""Play a level end to end in a real pseudo-terminal: start, the recording shell, check, the saved solution."""

from __future__ import annotations

import shutil
from pathlib import Path

import pexpect
from conftest import ANSI, need, run_cli, spawn_cli
from git_fixtures import need_git

PROMPT = r"\(git: stage-a-file\) work \$ "


def _spawn(*args: str) -> pexpect.spawn:
    return spawn_cli(*args, rows=40, cols=100, timeout=30)


def _screen(child: pexpect.spawn) -> str:
    return ANSI.sub("", child.before or "")


def test_play_a_level_in_the_recording_shell(isolated_env: Path) -> None:
    need_git()
    need(shutil.which("bash") is not None, "bash is not installed")
    start = _spawn("git", "start", "stage-a-file")
    start.expect("Git keeps your work in three local places")  # the lesson's idea, first seen: read before the goal
    assert "Untracked → staged" in ANSI.sub("", start.before)
    start.expect("Press a key for the goal")
    start.send(" ")
    start.expect(pexpect.EOF)
    shown = ANSI.sub("", start.before)
    assert "notes.md" in shown and "learnbackend git shell" in shown
    start.close()
    assert start.exitstatus == 0

    child = _spawn("git", "shell")
    try:
        child.expect("Your git commands are recorded")
        child.expect(PROMPT)
        child.sendline("git status --short")
        child.expect(PROMPT)
        assert "?? notes.md" in _screen(child)
        child.sendline("check")
        child.expect(PROMPT)
        screen = _screen(child)
        assert "Not yet" in screen and "notes.md is staged" in screen
        child.sendline("git add notes.md")
        child.expect(PROMPT)
        child.sendline("areas")
        child.expect(PROMPT)
        screen = _screen(child)
        assert "Staging area" in screen and "A notes.md" in screen
        child.sendline("learnbackend git check")
        child.expect(PROMPT)
        screen = _screen(child)
        assert "Level passed" in screen and "saved as the solution" in screen
        child.sendline("exit")
        child.expect("Left the level's shell")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0

    solution = run_cli("git", "solution", "stage-a-file")
    assert solution.exit_code == 0
    recorded = [line for line in solution.stdout.splitlines() if not line.startswith("#")]
    assert recorded == ["git status --short", "git add notes.md"]


def test_git_commit_without_m_asks_for_the_message_instead_of_opening_vi(isolated_env: Path,
                                                                          monkeypatch) -> None:  # type: ignore[no-untyped-def]
    need_git()
    need(shutil.which("bash") is not None, "bash is not installed")
    for name in ("GIT_EDITOR", "VISUAL", "EDITOR"):
        monkeypatch.delenv(name, raising=False)
    assert run_cli("git", "start", "commit-staged").exit_code == 0
    child = _spawn("git", "shell")
    prompt = r"\(git: commit-staged\) work \$ "
    try:
        child.expect(prompt)
        child.sendline("git commit")
        child.expect("Type the commit message")
        child.expect("> ")
        child.sendline("Add the price list")
        child.sendline("")
        child.expect(prompt)
        child.sendline("git log -1 --format=%s")
        child.expect(prompt)
        assert "Add the price list" in _screen(child)
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
