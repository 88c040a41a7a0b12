"""`learnbackend git ...` through the in-process CLI helper, and the workspace handler."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import run_cli
from git_fixtures import level, need_git

from learnbackend.context import Environment


def _work(home: Path, key: str) -> Path:
    lesson, _, lvl = key.partition("/")
    return home / "git" / lesson / lvl / "work"


def _git(work: Path, *args: str) -> None:
    from learnbackend.gitsandbox.sandbox import Sandbox

    env = Sandbox(work.parent).git_env()
    subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True)


def test_levels_lists_every_level_with_progress() -> None:
    result = run_cli("git", "levels", "--json")
    assert result.exit_code == 0
    rows = result.json
    assert len(rows) >= 12 and rows[0]["number"] == 1
    assert {"id", "title", "state", "current", "built"} <= set(rows[0])
    assert all(r["state"] == "new" for r in rows)
    text = run_cli("git", "levels")
    assert text.exit_code == 0 and "git-local/stage-a-file" in text.stdout and "0 of" in text.stdout


def test_levels_at_80_columns_keep_each_title_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEARNBACKEND_WIDTH", "80")
    text = run_cli("git", "levels")
    assert text.exit_code == 0 and "git-local/" in text.stdout and "Untracked → staged: git add " in text.stdout
    assert max(len(line) for line in text.stdout.splitlines()) <= 80


def test_play_a_level_start_status_hint_check(isolated_env: Path) -> None:
    need_git()
    started = run_cli("git", "start", "1")
    assert started.exit_code == 0, started.stderr
    assert "Untracked → staged" in started.stdout and "notes.md" in started.stdout
    work = _work(isolated_env, "git-local/stage-a-file")
    assert str(work) in started.stdout.replace("\n", "")

    status = run_cli("git", "status", "--json")
    assert status.exit_code == 0
    assert {"path": "notes.md", "change": "untracked"} in status.json["working"]
    drawing = run_cli("git", "status")
    for area in ("Working directory", "Staging area", "Local repository", "Remote (origin)"):
        assert area in drawing.stdout
    assert "notes.md" in drawing.stdout

    first, second, third = (run_cli("git", "hint") for _ in range(3))
    assert "Hint 1 of 2" in first.stdout and "Hint 2" not in first.stdout
    assert "Hint 2 of 2" in second.stdout
    assert "last hint" in third.stdout

    failed = run_cli("git", "check")
    assert failed.exit_code == 1
    assert "notes.md is staged" in failed.stdout and "untracked" in failed.stdout  # expected vs actual
    as_json = run_cli("git", "check", "--json")
    assert as_json.exit_code == 1
    failing = as_json.json["failed_conditions"]
    assert failing[0]["expected"] == "staged" and failing[0]["actual"] == "untracked"

    _git(work, "add", "notes.md")
    passed = run_cli("git", "check")
    assert passed.exit_code == 0, passed.stdout
    assert "Level passed" in passed.stdout and "copies the file" in passed.stdout  # the explanation
    assert "No commands were recorded" in passed.stdout  # git ran outside `git shell`
    assert "git start 2" in passed.stdout

    with Environment().progress() as store:
        assert store.statuses(module="git")["git-local/stage-a-file"] == "passed"
        outcomes = [a.outcome for a in store.attempts(module="git", exercise_id="git-local/stage-a-file")]
    assert outcomes == ["started", "failed", "failed", "passed"]
    levels = run_cli("git", "levels", "--json").json
    assert levels[0]["state"] == "passed" and levels[0]["current"]


def test_reset_rebuilds_the_level(isolated_env: Path) -> None:
    need_git()
    assert run_cli("git", "start", "stage-a-file").exit_code == 0
    work = _work(isolated_env, "git-local/stage-a-file")
    _git(work, "add", "notes.md")
    (work / "stray.txt").write_text("x")
    reset = run_cli("git", "reset")
    assert reset.exit_code == 0 and "Rebuilt" in reset.stdout
    assert not (work / "stray.txt").exists()
    assert run_cli("git", "check").exit_code == 1


def test_errors_are_one_message_and_an_exit_code() -> None:
    none = run_cli("git", "check")
    assert none.exit_code == 2 and "No git level is started" in none.stderr and "git start" in none.stderr
    unknown = run_cli("git", "start", "no-such-level")
    assert unknown.exit_code == 2 and "git levels" in unknown.stderr
    assert run_cli("git", "start", "99").exit_code == 2
    no_shell = run_cli("git", "shell")
    assert no_shell.exit_code == 2 and "terminal" in no_shell.stderr
    assert "Traceback" not in none.stderr + unknown.stderr + no_shell.stderr


def test_replay_a_solution_file(tmp_path: Path) -> None:
    need_git()
    good, bad, evil = tmp_path / "good.txt", tmp_path / "bad.txt", tmp_path / "evil.txt"
    good.write_text("# my solution\ngit add notes.md\n")
    bad.write_text("git status\n")
    evil.write_text("git -c core.pager='sh -c id' log\n")
    passed = run_cli("git", "replay", "stage-a-file", str(good))
    assert passed.exit_code == 0 and "passed" in passed.stdout
    failed = run_cli("git", "replay", "stage-a-file", str(bad), "--json")
    assert failed.exit_code == 1 and failed.json["status"] == "failed"
    refused = run_cli("git", "replay", "stage-a-file", str(evil))
    assert refused.exit_code == 2 and "Refused line 1" in refused.stderr


def test_replay_says_why_a_command_failed(tmp_path: Path) -> None:
    need_git()
    typo = tmp_path / "typo.txt"
    typo.write_text("git add note.md\n")
    shown = run_cli("git", "replay", "stage-a-file", str(typo))
    assert shown.exit_code == 1 and "fatal: pathspec 'note.md' did not match any files" in shown.stdout
    as_json = run_cli("git", "replay", "stage-a-file", str(typo), "--json")
    assert "did not match" in as_json.json["details"]["replay"]["steps"][0]["output"]


def test_handler_materializes_and_checks_a_workspace(tmp_path: Path) -> None:
    from learnbackend.course.handlers import handler_for

    need_git()
    ref = level("resolve-conflict")
    handler = handler_for("git-level")
    files = handler.materialize(ref.entry, ref.level, tmp_path)
    assert [f.name for f in files] == ["solution.txt"]
    first = handler.check(ref.entry, ref.level, tmp_path, timeout=30)
    assert first.status == "failed" and "no commands" in first.message
    (tmp_path / "solution.txt").write_text("\n".join(ref.level.solution) + "\n")
    result = handler.check(ref.entry, ref.level, tmp_path, timeout=30)
    assert result.status == "passed", result.message
    assert result.module == "git" and result.id == "git-collaborate/resolve-conflict"
    missing = handler.check(ref.entry, ref.level, tmp_path / "nowhere", timeout=30)
    assert missing.status == "error"


def test_reset_from_inside_the_levels_shell(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell's directory is replaced by the rebuild; the tool says where to go instead of crashing."""
    need_git()
    assert run_cli("git", "start", "commit-staged").exit_code == 0
    work = _work(isolated_env, "git-local/commit-staged")
    monkeypatch.chdir(work)
    monkeypatch.setenv("LEARNBACKEND_GIT_SANDBOX", str(work.parent))
    result = run_cli("git", "reset")
    assert result.exit_code == 0, result.stderr
    assert f"cd {work}" in result.stdout.replace("\n", "").replace("  ", " ")


def test_start_without_a_level_resumes_work_in_progress_instead_of_rebuilding() -> None:
    import os

    first = run_cli("git", "start")
    assert first.exit_code == 0, first.stderr
    home = Path(os.environ["LEARNBACKEND_HOME"])
    [work] = [p for p in home.glob("git/*/*/work") if (p / ".git").is_dir()]
    (work / "scratch.txt").write_text("my work in progress\n")
    again = run_cli("git", "start")
    assert again.exit_code == 0
    assert "Resumed the level as you left it" in again.stdout
    assert (work / "scratch.txt").read_text() == "my work in progress\n"
    porcelain = subprocess.run(["git", "status", "--porcelain"], cwd=work, capture_output=True, text=True).stdout
    assert "scratch.txt" in porcelain
