"""The bundled code exercises: each reference solution passes every test, each untouched starter fails every test."""

from __future__ import annotations

import shutil

import pytest

from learnbackend.course.catalog import load_catalog
from learnbackend.course.handlers import handler_for


def exercises():
    entry = next(e for e in load_catalog([]).lessons if e.lesson.id == "counter-build")
    return entry, [ex for ex in entry.lesson.exercises if ex.kind == "code"]


def test_there_are_at_least_five_code_exercises():
    assert len(exercises()[1]) >= 5


@pytest.mark.parametrize("exercise_id", [ex.id for ex in exercises()[1]])
def test_solution_passes_and_starter_fails(exercise_id, tmp_path):
    entry, all_exercises = exercises()
    exercise = next(ex for ex in all_exercises if ex.id == exercise_id)
    handler = handler_for("code")
    files = handler.materialize(entry, exercise, tmp_path)
    assert [p.name for p in files] == [exercise.file, "TASK.md"] and "TODO" in files[0].read_text()
    assert exercise.prompt.strip() in files[1].read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([exercise.file, "TASK.md"])  # no tests, no solution
    unsolved = handler.check(entry, exercise, tmp_path, timeout=60)
    assert unsolved.status == "failed", unsolved.message
    assert unsolved.score == 0.0 and all(not c.passed and c.actual for c in unsolved.conditions), unsolved.conditions
    shutil.copyfile(entry.directory / exercise.solution, tmp_path / exercise.file)
    solved = handler.check(entry, exercise, tmp_path, timeout=60)
    assert solved.status == "passed", solved.message
    assert len(solved.conditions) >= 5 and all(c.passed for c in solved.conditions)


def test_broken_or_missing_learner_file_is_an_error(tmp_path):
    entry, all_exercises = exercises()
    exercise = all_exercises[0]
    handler = handler_for("code")
    assert handler.check(entry, exercise, tmp_path, timeout=30).status == "error"
    (tmp_path / exercise.file).write_text("def broken(:\n")
    result = handler.check(entry, exercise, tmp_path, timeout=30)
    assert result.status in ("error", "failed") and not result.passed


def test_a_learner_loop_is_stopped_by_the_timeout(tmp_path):
    entry, all_exercises = exercises()
    exercise = all_exercises[0]
    (tmp_path / exercise.file).write_text("while True:\n    pass\n")
    result = handler_for("code").check(entry, exercise, tmp_path, timeout=3)
    assert result.status == "error" and "did not finish" in result.message
    assert result.score == 0.0


def test_next_shows_a_code_exercises_prompt_and_task_md_holds_it(tmp_path):
    from conftest import run_cli

    root = tmp_path / "ws"
    assert run_cli("init", str(root), "--lesson", "counter-build").exit_code == 0
    entry, all_exercises = exercises()
    moved = run_cli("next", "-w", str(root))
    assert moved.exit_code == 0, moved.stderr
    text = " ".join(moved.stdout.split()).replace("`", "")
    shown = next(ex for ex in entry.lesson.exercises if f"counter-build/{ex.id} " in text)
    assert shown.kind == "code" and " ".join(shown.prompt.replace("`", "").split())[:60] in text, text
    tasks = sorted(root.glob("exercises/*/TASK.md"))
    assert len(tasks) == len(all_exercises)
    assert all(ex.prompt.strip() in task.read_text() for ex, task in zip(all_exercises, tasks, strict=True))
    assert not list(root.rglob("solution.py")) and not list(root.rglob("tests.py"))


def test_code_checks_need_no_pytest(tmp_path):
    """A plain install has no pytest: `check` of a solved code workspace passes with pytest unimportable."""
    import json
    import os
    import subprocess
    import sys

    from conftest import run_cli

    from learnbackend.workspace.manifest import load_manifest

    root = tmp_path / "ws"
    assert run_cli("init", str(root), "--lesson", "counter-build").exit_code == 0
    entry, all_exercises = exercises()
    by_id = {f"counter-build/{ex.id}": ex for ex in all_exercises}
    for spec in load_manifest(root).exercises:
        exercise = by_id[spec.id]
        shutil.copyfile(entry.directory / exercise.solution, root / spec.path / exercise.file)
    program = ("import sys; sys.modules['pytest'] = None; sys.modules['_pytest'] = None\n"
               "from learnbackend.cli import main\n"
               f"sys.argv = ['learnbackend', 'check', {str(root)!r}, '--format', 'json']\n"
               "main()\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert {r["status"] for r in report["results"]} == {"passed"} and len(report["results"]) == 5
