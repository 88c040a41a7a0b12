"""Every container-spec exercise checked for real: the starter, a right and a wrong solution."""

# ruff: noqa: F811  (pytest fixtures imported by name from lab_fixtures)
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lab_fixtures import docker_client  # noqa: F401  (fixture)

from learnbackend.containers.handler import HANDLER
from learnbackend.course.catalog import load_catalog

# exercise id -> (text in the starter, a right value, a wrong value)
SOLUTIONS = {
    "oom-window": ('"TODO: a shell command that uses between 32 and 128 MiB of memory"',
                   '"dd if=/dev/zero of=/dev/shm/fill bs=1M count=48"', '"dd if=/dev/zero of=/dev/shm/f bs=1M count=8"'),
    "fork-fence": ("pids_limit: TODO", "pids_limit: 10", "pids_limit: 50"),
    "read-only-root": ("read_only: TODO", "read_only: true", "read_only: false"),
    "quarter-cpu": ("cpus: TODO", "cpus: 0.25", "cpus: 1"),
}


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_exercise_starter_right_and_wrong(exercise_id: str, tmp_path: Path, docker_client: Any) -> None:
    entry, exercise = load_catalog().exercise(f"containers-limits/{exercise_id}")
    [spec_file] = HANDLER.materialize(entry, exercise, tmp_path)
    starter = spec_file.read_text()
    todo, right, wrong = SOLUTIONS[exercise_id]

    result = HANDLER.check(entry, exercise, tmp_path, timeout=60)
    assert result.status == "error" and "TODO" in result.message

    spec_file.write_text(starter.replace(todo, right))
    result = HANDLER.check(entry, exercise, tmp_path, timeout=60)
    assert result.status == "passed", result.message
    assert len(result.details["runs"]) == len(exercise.trials)

    spec_file.write_text(starter.replace(todo, wrong))
    result = HANDLER.check(entry, exercise, tmp_path, timeout=60)
    assert result.status == "failed", result.message
    assert any(not c.passed and c.hint for c in result.conditions)


def test_read_only_is_checked_as_root_too(tmp_path: Path, docker_client: Any) -> None:
    """`read_only: false` with `user: nobody` hides a writable root from nobody only: it must fail."""
    entry, exercise = load_catalog().exercise("containers-limits/read-only-root")
    [spec_file] = HANDLER.materialize(entry, exercise, tmp_path)
    spec_file.write_text(spec_file.read_text().replace("read_only: TODO", "read_only: false\nuser: nobody"))
    result = HANDLER.check(entry, exercise, tmp_path, timeout=60)
    assert result.status == "failed", result.message
    failed = [c for c in result.conditions if not c.passed]
    assert failed and all("even to root" in c.description for c in failed)


def test_a_spec_asking_for_privileges_is_an_error_not_a_run(tmp_path: Path) -> None:
    entry, exercise = load_catalog().exercise("containers-limits/fork-fence")
    (tmp_path / "spec.yaml").write_text("image: learnbackend/busybox\ncommand: id\npids_limit: 10\nprivileged: true\n")
    result = HANDLER.check(entry, exercise, tmp_path, timeout=30)
    assert result.status == "error" and "privileged" in result.message and not result.missing_environment
