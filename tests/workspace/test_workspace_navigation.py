"""next / list / hint / reset, progress tied to the workspace, and how check survives bad checkers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli  # type: ignore[import-not-found]
from wsolving import Solver  # type: ignore[import-not-found]

from learnbackend.course import handlers
from learnbackend.course.results import ExerciseResult
from learnbackend.errors import EnvironmentMissing

LESSON = "roadmap-fundamentals"


def _init(tmp_path: Path, name: str = "ws") -> Path:
    root = tmp_path / name
    assert run_cli("init", str(root), "--lesson", LESSON).exit_code == 0
    return root


def test_list_next_and_status_filters(tmp_path: Path) -> None:
    root = _init(tmp_path)
    Solver(root).solve("1")
    Solver(root).botch("2")
    assert run_cli("check", str(root)).exit_code == 1
    listed = run_cli("list", "-w", str(root), "--json").json
    # One vocabulary: an exercise whose files are as `init` wrote them is "not started", not "failed".
    assert [item["status"] for item in listed[:3]] == ["passed", "failed", "not started"]
    untouched = run_cli("list", "-w", str(root), "--status", "not-started", "--json").json
    assert untouched and untouched[0]["number"] == 3
    only_passed = run_cli("list", "-w", str(root), "--status", "passed", "--json").json
    assert [item["number"] for item in only_passed] == [1]
    table = run_cli("list", "-w", str(root), "--status", "failed")
    assert table.exit_code == 0 and "▶ 2" in table.stdout and "server-side-validation" not in table.stdout
    assert run_cli("list", "-w", str(root), "--status", "nonsense").exit_code == 2
    moved = run_cli("next", "-w", str(root))
    assert moved.exit_code == 0 and f"{LESSON}/cors-name" in moved.stdout and "(3/" in moved.stdout
    assert "▶ 3" in run_cli("list", "-w", str(root)).stdout


def test_commands_find_the_workspace_from_a_subdirectory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _init(tmp_path)
    monkeypatch.chdir(root / "exercises")
    assert "server-side-validation" in run_cli("list").stdout
    monkeypatch.chdir(tmp_path)
    outside = run_cli("list")
    assert outside.exit_code == 2 and "learnbackend init" in outside.stderr


def test_hints_come_one_at_a_time(tmp_path: Path) -> None:
    root = _init(tmp_path)
    first = run_cli("hint", "-w", str(root))
    assert first.exit_code == 0 and "server-side-validation" in first.stdout and "1." in first.stdout
    named = run_cli("hint", "dns-ttl", "-w", str(root))
    assert named.exit_code == 0 and "dns-ttl" in named.stdout
    assert run_cli("hint", "nope", "-w", str(root)).exit_code == 2


def test_reset_restores_the_starting_files_and_the_status(tmp_path: Path) -> None:
    root = _init(tmp_path)
    Solver(root).solve("1")
    answer = next((root / "exercises").glob("01-*")) / "answer.txt"
    assert run_cli("check", str(root), "--only", "1").exit_code == 0
    refused = run_cli("reset", "1", "-w", str(root))  # no terminal to confirm on
    assert refused.exit_code == 2 and "--yes" in refused.stderr and answer.read_text() != "TODO\n"
    done = run_cli("reset", "1", "-w", str(root), "--yes")
    assert done.exit_code == 0 and answer.read_text() == "TODO\n"
    assert run_cli("list", "-w", str(root), "--json").json[0]["status"] == "not started"


def test_progress_is_kept_per_workspace(tmp_path: Path) -> None:
    one, two = _init(tmp_path, "one"), _init(tmp_path, "two")
    Solver(one).solve("1")
    assert run_cli("check", str(one), "--only", "1").exit_code == 0
    assert run_cli("list", "-w", str(one), "--json").json[0]["status"] == "passed"
    assert run_cli("list", "-w", str(two), "--json").json[0]["status"] == "not started"


class _EngineMissing:
    def materialize(self, entry: Any, exercise: Any, dest: Path) -> list[Path]:
        return handlers.handler_for("single").materialize(entry, exercise, dest)

    def check(self, entry: Any, exercise: Any, workdir: Path, *, timeout: float) -> ExerciseResult:
        raise EnvironmentMissing("No Docker engine is reachable.", fix="Start Docker.")


class _Crashing(_EngineMissing):
    def check(self, entry: Any, exercise: Any, workdir: Path, *, timeout: float) -> ExerciseResult:
        raise ZeroDivisionError("checker bug")


ENGINE_MISSING = _EngineMissing()
CRASHING = _Crashing()


def test_a_missing_environment_exits_3_when_nothing_else_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _init(tmp_path)
    Solver(root).solve()
    monkeypatch.setitem(handlers.HANDLERS, "text", "test_workspace_navigation:ENGINE_MISSING")
    result = run_cli("check", str(root), "--format", "json")
    assert result.exit_code == 3
    missing = [r for r in result.json["results"] if r["missing_environment"]]
    assert missing and all(r["status"] == "error" and "Docker" in r["message"] for r in missing)
    Solver(root).botch("1")
    assert run_cli("check", str(root)).exit_code == 1  # a real failure outranks the missing engine


def test_a_crashing_checker_is_an_error_for_its_exercise_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _init(tmp_path)
    Solver(root).solve()
    monkeypatch.setitem(handlers.HANDLERS, "text", "test_workspace_navigation:CRASHING")
    result = run_cli("check", str(root), "--format", "json")
    assert result.exit_code == 1
    statuses = {r["kind"]: r["status"] for r in result.json["results"]}
    assert statuses["text"] == "error" and statuses["single"] == "passed"
    crashed = next(r for r in result.json["results"] if r["kind"] == "text")
    assert "checker crashed" in crashed["message"] and "ZeroDivisionError" in crashed["message"]


def test_check_names_its_workspace_like_every_workspace_command(tmp_path: Path) -> None:
    root = _init(tmp_path)
    Solver(root).solve("1")
    by_option = run_cli("check", "-w", str(root), "--only", "1")
    by_argument = run_cli("check", str(root), "--only", "1")
    assert by_option.exit_code == by_argument.exit_code == 0
    both = run_cli("check", str(root), "-w", str(tmp_path), "--only", "1")
    assert both.exit_code == 2 and "Two workspaces" in both.stderr


def test_a_linked_starter_is_never_taken_for_untouched(tmp_path: Path) -> None:
    root = _init(tmp_path)
    answer = next((root / "exercises").glob("01-*")) / "answer.txt"
    outside = tmp_path / "outside.txt"
    outside.write_bytes(answer.read_bytes())  # the same bytes as the starter, but reached through a link
    answer.unlink()
    answer.symlink_to(outside)
    report = run_cli("check", "-w", str(root), "--only", "1", "--format", "json").json
    assert report["results"][0]["state"] != "not started"
    assert report["results"][0]["status"] in ("failed", "error")
