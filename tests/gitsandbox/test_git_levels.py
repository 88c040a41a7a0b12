"""Every level fails before it is solved and passes from its own reference solution (real git)."""

from __future__ import annotations

from pathlib import Path

import pytest
from git_fixtures import build_level, git, git_levels, level, need_git

LEVEL_KEYS = [ref.key for ref in git_levels()]


def test_there_are_at_least_twenty_levels_with_hints_and_explanations() -> None:
    assert len(LEVEL_KEYS) >= 20
    # The workflow the course promises: fetch → inspect → merge, .gitignore, and the three undos.
    for key in ("git-remote/merge-fetched", "git-undo/gitignore", "git-undo/undo-local-commit",
                "git-undo/revert-pushed-commit", "git-local/restore-file"):
        assert key in LEVEL_KEYS
    for ref in git_levels():
        assert ref.level.hints(), ref.key
        assert ref.level.explanation.strip(), ref.key
        assert ref.level.done_when, ref.key


@pytest.mark.parametrize("key", LEVEL_KEYS)
def test_level_fails_before_and_passes_from_its_reference_solution(key: str, tmp_path: Path) -> None:
    from learnbackend.gitsandbox.conditions import evaluate
    from learnbackend.gitsandbox.handler import replay_and_check

    need_git()
    ref = level(key)
    sandbox = build_level(key, tmp_path)
    before = evaluate(ref.level, sandbox)
    assert not all(c.passed for c in before), f"{key} passes before it is solved"

    result = replay_and_check(key, ref.level, "\n".join(ref.level.solution))
    assert result.status == "passed", (result.message, result.details)
    assert all(c.passed for c in result.conditions)


def test_building_is_deterministic(tmp_path: Path) -> None:
    """Same commit ids every time, so a recorded `git branch x <id>` replays the same on CI."""
    first = build_level("read-the-log", tmp_path / "a")
    second = build_level("read-the-log", tmp_path / "b")
    assert git(first, "rev-parse", "HEAD") == git(second, "rev-parse", "HEAD")


def test_a_recorded_commit_id_replays(tmp_path: Path) -> None:
    from learnbackend.gitsandbox.handler import replay_and_check

    sandbox = build_level("read-the-log", tmp_path)
    discount = git(sandbox, "log", "--format=%h", "--grep=discount").strip()
    ref = level("read-the-log")
    assert replay_and_check(ref.key, ref.level, f"git branch investigate {discount}\n").passed
    assert not replay_and_check(ref.key, ref.level, "git branch investigate HEAD\n").passed


def test_teammate_commits_are_by_the_teammate_and_reach_only_the_remote(tmp_path: Path) -> None:
    sandbox = build_level("fetch-and-inspect", tmp_path)
    remote_log = __import__("subprocess").run(
        ["git", "log", "--format=%an|%s", "main"], cwd=sandbox.remote, env=sandbox.git_env(),
        capture_output=True, text=True, check=True).stdout
    assert "Sam (teammate)|Add currency conversion" in remote_log
    assert "currency" not in git(sandbox, "log", "--format=%s", "--all")


def test_a_bad_level_file_is_reported_line_by_line(tmp_path: Path) -> None:
    from learnbackend.course.validate import validate_paths

    (tmp_path / "git").mkdir()
    (tmp_path / "git" / "bad.yaml").write_text(
        "format_version: 1\nid: git-bad\nmodule: git\ntitle: Bad\nsummary: Bad levels.\nexercises:\n"
        "  - id: one\n    kind: git-level\n    title: One\n    goal: g\n    hints: []\n    explanation: e\n"
        "    setup:\n      - {do: write, path: ../evil.txt, text: x}\n      - {do: teleport}\n"
        "    done_when:\n      - {check: telepathy}\n"
        "    solution:\n      - git -c core.pager=x log\n"
    )
    count, problems = validate_paths([tmp_path])
    assert count == 1
    found = {(p.line, next(w for w in ("hints", "evil", "teleport", "telepathy", "Refused") if w in p.message))
             for p in problems}
    assert found == {(11, "hints"), (14, "evil"), (15, "teleport"), (17, "telepathy"), (18, "Refused")}
