"""One path, one progress for the containers lab: demo and compare runs count like counter experiment
runs, `containers next` (home's Continue) opens the first demo not yet run."""

# ruff: noqa: F811  (pytest fixtures imported by name from lab_fixtures)
from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import LESSONS, run_cli
from lab_fixtures import docker_client  # noqa: F401  (fixture)


def _containers(progress: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in progress["modules"] if m["module"] == "containers")


def test_next_step_follows_the_lab_order() -> None:
    from learnbackend.containers.activity import ORDER, next_step, run_id

    assert next_step({}) == "isolation"
    done = {run_id(step): "passed" for step in ORDER[:3]}
    assert next_step(done) == ORDER[3]
    assert next_step({**done, run_id(ORDER[3]): "failed"}) == ORDER[3], "only a finished run counts"
    assert next_step({run_id(step): "passed" for step in ORDER}) == ORDER[0], "all done: from the first again"
    assert run_id("compare") == "containers:compare" and run_id("pids") == "containers:demo:pids"


def test_demo_and_compare_runs_count_in_the_labs_progress(isolated_env: Path, docker_client: Any) -> None:
    from learnbackend.containers.activity import activity_ids
    from learnbackend.course.catalog import load_lessons

    exercises = {e for entry in load_lessons([LESSONS]).by_module("containers") for e in entry.exercise_ids()}
    before = _containers(run_cli("progress", "--json").json)
    assert before["passed"] == 0
    assert before["exercises"] == len(exercises) + len(activity_ids()) == len(exercises) + 7  # six demos, compare

    assert run_cli("containers", "demo", "pids", "--predict", "9").exit_code == 0
    after_demo = _containers(run_cli("progress", "--json").json)
    assert after_demo["passed"] == 1
    assert run_cli("progress", "--json").json["last_module"] == "containers"

    assert run_cli("containers", "compare", "--runs", "1", "--vm-runs", "0").exit_code == 0
    assert _containers(run_cli("progress", "--json").json)["passed"] == 2


def test_next_opens_the_first_demo_not_yet_run(isolated_env: Path, docker_client: Any) -> None:
    from learnbackend.containers.activity import run_id
    from learnbackend.context import Environment

    with Environment().progress() as store:  # the same LEARNBACKEND_HOME as the CLI's
        for step in ("isolation", "memory"):
            store.record("containers", run_id(step), "passed")
    result = run_cli("containers", "next", "--yes")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "containers lab: 2 of 7 runs done; next: demo pids" in " ".join(result.stderr.split())
    assert "A pids limit against a fork storm" in result.stdout
    with Environment().progress() as store:
        assert store.statuses(module="containers", workspace=None).get(run_id("pids")) == "passed"
