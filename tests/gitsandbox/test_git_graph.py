"""Commit graphs now and at the goal (LearnGitBranching style), drawn from real repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import run_cli
from git_fixtures import need_git


def _git(work: Path, *args: str, check: bool = True) -> None:
    from learnbackend.gitsandbox.sandbox import Sandbox

    env = Sandbox(work.parent).git_env()
    subprocess.run(["git", *args], cwd=work, env=env, check=check, capture_output=True)


def test_the_goal_graph_is_what_the_reference_solution_makes(isolated_env: Path) -> None:
    need_git()
    started = run_cli("git", "start", "git-collaborate/diverged")
    assert started.exit_code == 0
    assert "Commit graph now" in started.stdout and "Goal" in started.stdout
    before = run_cli("git", "status", "--json").json["graph"]
    # The goal has Sam's commit and yours joined by a merge, on both sides; now, neither has it.
    assert any("Merge" in line for line in before["goal"]["work"])
    assert any("Merge" in line for line in before["goal"]["remote"])
    assert not any("Merge" in line for line in before["now"]["work"])
    assert before["now"]["work"] != before["goal"]["work"]

    work = isolated_env / "git" / "git-collaborate" / "diverged" / "work"
    _git(work, "push", check=False)  # rejected: the remote has Sam's commit
    _git(work, "pull", "--no-edit")
    _git(work, "push")
    after = run_cli("git", "status", "--json").json["graph"]
    assert after["now"] == after["goal"]  # the learner's repositories now look like the goal


def test_graphs_fit_80_columns(isolated_env: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    need_git()
    monkeypatch.setenv("LEARNBACKEND_WIDTH", "80")
    started = run_cli("git", "start", "git-collaborate/diverged")
    assert started.exit_code == 0
    assert max(len(line) for line in started.stdout.splitlines()) <= 80
    assert "[HEAD→main]" in started.stdout and "[main]" in started.stdout


def test_a_lessons_idea_comes_before_its_first_level_once(isolated_env: Path) -> None:
    need_git()
    first = run_cli("git", "start", "git-local/stage-a-file")
    assert first.exit_code == 0
    assert "The idea:" in first.stdout and "three local places" in first.stdout
    assert first.stdout.index("The idea:") < first.stdout.index("Goal")
    second = run_cli("git", "start", "git-local/commit-staged")
    assert second.exit_code == 0 and "The idea:" not in second.stdout
    other_lesson = run_cli("git", "start", "git-undo/gitignore")
    assert "The idea:" in other_lesson.stdout and "revert" in other_lesson.stdout
