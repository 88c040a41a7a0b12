"""Assignment files: precise validation errors, `assignment create` by flags and by the picker, scoring."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import run_cli  # type: ignore[import-not-found]

from learnbackend.assignment.create import AssignmentDraft
from learnbackend.assignment.load import load_assignment, validate_assignment_file
from learnbackend.assignment.picker import pick
from learnbackend.course.results import ConditionResult, ExerciseResult
from learnbackend.errors import ContentError, NoTerminal
from learnbackend.ui.prompts import NoTerminalPrompter, ScriptedPrompter
from learnbackend.workspace.catalogcache import cached_catalog
from learnbackend.workspace.checking import score
from learnbackend.workspace.manifest import WorkspaceExercise

GOOD = """\
format_version: 1
name: week-2
title: Week 2
pass_mark: 50
due: 2026-12-08
exercises:
  - id: roadmap-fundamentals/dns-ttl
    points: 3
  - lesson: git-local
"""

BAD = """\
format_version: 1
name: Week 2
title: Week 2
pass_mark: 150
due: next tuesday
exercises:
  - id: roadmap-fundamentals/dns-ttl
  - id: roadmap-fundamentals/no-such-question
  - lesson: no-such-lesson
  - id: roadmap-fundamentals/dns-ttl
  - points: 2
  - id: git-local/stage-a-file
    pionts: 2
"""


def _write(tmp_path: Path, text: str, name: str = "a.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_assignment_resolves_its_exercises(tmp_path: Path) -> None:
    loaded = load_assignment(_write(tmp_path, GOOD))
    ids = [t.id for t in loaded.tasks]
    assert ids[0] == "roadmap-fundamentals/dns-ttl" and all(i.startswith("git-local/") for i in ids[1:])
    assert loaded.max_points == 3 + len(ids) - 1
    due = loaded.assignment.due_utc()
    assert due is not None and due.isoformat() == "2026-12-08T23:59:59+00:00"


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, BAD)
    loaded, problems = validate_assignment_file(path)
    assert loaded is None
    found = {(p.line, p.message.split(":")[0]) for p in problems}
    text = "\n".join(f"{p.line}: {p.message}" for p in problems)
    assert (2, "name") in found, text
    assert (4, "pass_mark") in found, text
    assert (5, "due") in found, text
    assert any(p.line == 8 and "has no exercise 'no-such-question'" in p.message for p in problems), text
    assert any(p.line == 9 and "no lesson has the id 'no-such-lesson'" in p.message for p in problems), text
    assert any(p.line == 10 and "already listed in exercises[0]" in p.message for p in problems), text
    assert any(p.line == 11 and "exactly one of `id`" in p.message for p in problems), text
    assert any(p.line == 13 and "pionts" in p.message and "not a known field" in p.message for p in problems), text
    assert all(str(p.path) == str(path) for p in problems)


def test_validate_command_exit_codes_and_messages(tmp_path: Path) -> None:
    good = run_cli("assignment", "validate", str(_write(tmp_path, GOOD)))
    assert good.exit_code == 0 and "week-2" in good.stdout
    bad = run_cli("assignment", "validate", str(_write(tmp_path, BAD, "bad.yaml")))
    assert bad.exit_code == 2 and "bad.yaml:8" in bad.stderr and "problem(s)" in bad.stderr
    newer = run_cli("assignment", "validate", str(_write(tmp_path, GOOD.replace("format_version: 1", "format_version: 7"), "new.yaml")))
    assert newer.exit_code == 2 and "upgrade learnbackend" in newer.stderr
    broken = run_cli("assignment", "validate", str(_write(tmp_path, "name: [oops\n", "broken.yaml")))
    assert broken.exit_code == 2 and "broken.yaml:" in broken.stderr
    init = run_cli("init", str(tmp_path / "ws"), "--assignment", str(tmp_path / "bad.yaml"))
    assert init.exit_code == 2 and not (tmp_path / "ws").exists()


def test_own_lesson_directories_are_relative_to_the_file(tmp_path: Path) -> None:
    text = GOOD + "lessons: [missing-dir]\n"
    _, problems = validate_assignment_file(_write(tmp_path, text))
    assert any("'missing-dir' is not a directory" in p.message and p.line == 10 for p in problems)


def test_create_with_flags_writes_a_valid_file(tmp_path: Path) -> None:
    out = tmp_path / "hw" / "week-3.yaml"
    result = run_cli("assignment", "create", str(out), "--name", "week-3", "--title", "Week 3", "--pass-mark", "60",
                     "--exercise", "roadmap-fundamentals/dns-ttl", "--lesson", "git-local", "--points", "2", "--due", "2026-12-15")
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(out.read_text())
    assert data["name"] == "week-3" and data["pass_mark"] == 60 and str(data["due"]) == "2026-12-15"
    assert {"lesson": "git-local", "points": 2.0} in data["exercises"]
    loaded = load_assignment(out)
    assert loaded.assignment.title == "Week 3" and str(loaded.assignment.due_utc()) == "2026-12-15 23:59:59+00:00"
    quoted = _write(tmp_path, GOOD.replace("due: 2026-12-08", "due: '2026-12-08'"), "quoted.yaml")
    assert str(load_assignment(quoted).assignment.due_utc()) == "2026-12-08 23:59:59+00:00"
    bad_due = run_cli("assignment", "create", str(tmp_path / "d.yaml"), "--name", "d", "--title", "D", "--pass-mark", "50",
                      "--lesson", "git-local", "--due", "friday")
    assert bad_due.exit_code == 2 and "--due YYYY-MM-DD" in bad_due.stderr
    again = run_cli("assignment", "create", str(out), "--name", "week-3", "--title", "W", "--pass-mark", "60", "--lesson", "git-local")
    assert again.exit_code == 2 and "already exists" in again.stderr
    wrong = run_cli("assignment", "create", str(tmp_path / "w.yaml"), "--name", "w", "--title", "W", "--pass-mark", "60",
                    "--exercise", "roadmap-fundamentals/nope")
    assert wrong.exit_code == 2 and not (tmp_path / "w.yaml").exists()


def test_create_without_flags_and_without_a_terminal_refuses_clearly(tmp_path: Path) -> None:
    result = run_cli("assignment", "create", str(tmp_path / "x.yaml"))
    assert result.exit_code == 2 and "terminal" in result.stderr and not (tmp_path / "x.yaml").exists()
    partly = run_cli("assignment", "create", str(tmp_path / "x.yaml"), "--lesson", "git-local", "--name", "w")
    assert partly.exit_code == 2 and "also pass --title, --pass-mark" in partly.stderr
    with pytest.raises(NoTerminal):
        pick(NoTerminalPrompter("Creating an assignment"), cached_catalog([]), AssignmentDraft("", "", -1))


def test_the_picker_builds_a_draft_from_answers() -> None:
    catalog = cached_catalog([])
    lessons = [e for e in catalog.lessons if e.lesson.exercises]
    first, second = lessons.index(catalog.lesson("roadmap-fundamentals")), lessons.index(catalog.lesson("git-local"))
    answers = [f"{first + 1}, {second + 1}",  # lessons (checkbox takes numbers)
               "1",                            # roadmap-fundamentals: all exercises
               "2", "1, 2",                    # git-local: let me choose, the first two
               "week-9", "Week 9", "75", "y", "2026-12-24"]
    draft = pick(ScriptedPrompter(answers), catalog, AssignmentDraft("", "", -1))
    assert draft.lessons == ["roadmap-fundamentals"]
    assert draft.exercises == catalog.lesson("git-local").exercise_ids()[:2]
    assert (draft.name, draft.title, draft.pass_mark, str(draft.due)) == ("week-9", "Week 9", 75.0, "2026-12-24")


def _spec(points: float = 4, partial: bool = True, weights: dict[str, float] | None = None) -> WorkspaceExercise:
    return WorkspaceExercise(id="l/e", path="exercises/01-e", kind="git-level", module="git", points=points,
                             partial=partial, conditions=weights or {})


def _result(status: str, *passed: bool) -> ExerciseResult:
    return ExerciseResult("l/e", status, "m", [ConditionResult(f"c{i}", p) for i, p in enumerate(passed)])  # type: ignore[arg-type]


def test_scoring_full_partial_weighted_and_none() -> None:
    assert score(_spec(), _result("passed", True, True)) == 4
    assert score(_spec(), _result("failed", True, False)) == 2
    assert score(_spec(weights={"c0": 3}), _result("failed", True, False)) == 3
    assert score(_spec(weights={"c0": 3}), _result("failed", False, True)) == 1
    assert score(_spec(partial=False), _result("failed", True, False)) == 0
    assert score(_spec(), _result("error", True, False)) == 0
    assert score(_spec(), ExerciseResult("l/e", "failed", "no conditions")) == 0


def test_a_content_error_lists_all_problems(tmp_path: Path) -> None:
    with pytest.raises(ContentError) as caught:
        load_assignment(_write(tmp_path, BAD))
    assert caught.value.message.count("\n") >= 6 and "assignment validate" in (caught.value.fix or "")
