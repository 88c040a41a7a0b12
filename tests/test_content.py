"""Lesson files: the bundled course validates; the fixture course's mistakes are all reported precisely."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import FIXTURES, LESSONS, run_cli
from learnbackend.course.catalog import load_lessons
from learnbackend.course.models import MODULES

BAD = FIXTURES / "lessons" / "bad"
GOOD = FIXTURES / "lessons" / "good"


def test_bundled_lessons_are_valid() -> None:
    result = run_cli("lessons", "validate", str(LESSONS))
    assert result.exit_code == 0, result.stderr
    assert "valid" in result.stdout


def test_good_fixture_course_is_valid() -> None:
    result = run_cli("lessons", "validate", str(GOOD), "--json")
    assert result.exit_code == 0
    assert result.json == {"files": 1, "valid": True, "problems": []}


def test_bad_fixture_course_reports_every_problem_with_file_and_line() -> None:
    result = run_cli("lessons", "validate", str(BAD), "--json")
    assert result.exit_code == 2
    problems = {(Path(p["file"]).name, p["line"], p["message"]) for p in result.json["problems"]}
    expected_fragments = [
        ("broken.yaml", 7, "colour: is not a known field"),
        ("broken.yaml", 15, "(wrong-answer).answer: 'c' is not one of the choices"),
        ("broken.yaml", 18, "(no-hint).hint: is required but missing"),
        ("broken.yaml", 33, "(dup): the id is used twice"),
        ("broken.yaml", 35, "topic 'Unknown topic' is not in the lesson's topics"),
        ("broken.yaml", 44, "difficulty: Input should be 'easy', 'medium' or 'hard'"),
        ("broken.yaml", 47, "every choice is an answer"),
        ("misplaced.yaml", 3, "module is 'git' but the file is in roadmap/"),
        ("syntax.yaml", 6, "is not valid YAML"),
    ]
    for name, line, fragment in expected_fragments:
        assert any(n == name and ln == line and fragment in m for n, ln, m in problems), (name, line, fragment, problems)
    assert len(problems) == len(expected_fragments)


def test_text_output_names_file_line_and_fix() -> None:
    result = run_cli("lessons", "validate", str(BAD / "roadmap" / "broken.yaml"))
    assert result.exit_code == 2
    assert "broken.yaml:15: exercises[0] (wrong-answer).answer" in result.stderr
    assert "→ give each exercise a unique id" in result.stderr
    assert "7 problem(s) in 1 lesson file." in result.stderr


def test_newer_format_version_is_refused_clearly() -> None:
    result = run_cli("lessons", "validate", str(FIXTURES / "lessons" / "future"))
    assert result.exit_code == 2
    assert "format_version 2" in result.stderr and "upgrade learnbackend" in result.stderr


def test_validate_with_no_lesson_files_is_an_error(tmp_path: Path) -> None:
    result = run_cli("lessons", "validate", str(tmp_path))
    assert result.exit_code == 2
    assert "No lesson files found" in result.stderr


def test_duplicate_lesson_ids_across_directories(tmp_path: Path) -> None:
    (tmp_path / "roadmap").mkdir()
    (tmp_path / "roadmap" / "copy.yaml").write_text((GOOD / "roadmap" / "tiny.yaml").read_text())
    catalog = load_lessons([GOOD, tmp_path])
    assert any("already used" in p.message for p in catalog.problems)


def test_schema_describes_and_accepts_every_bundled_lesson() -> None:
    result = run_cli("lessons", "schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted(LESSONS.glob("*/*.yaml"))
    assert files
    for path in files:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert not errors, (path, errors[0].message)
    # and it rejects what the validator rejects
    broken = yaml.safe_load((BAD / "roadmap" / "broken.yaml").read_text())
    assert list(validator.iter_errors(broken))


def test_lessons_list_json_has_the_contract_fields() -> None:
    result = run_cli("lessons", "list", "--json")
    assert result.exit_code == 0
    rows = result.json
    assert rows and all({"id", "module", "title", "exercises"} <= set(row) for row in rows)
    assert {row["module"] for row in rows} <= set(MODULES)
    roadmap = [row for row in rows if row["module"] == "roadmap"]
    assert len(roadmap) == 6, [r["id"] for r in roadmap]
    assert all(row["exercises"] >= 15 for row in roadmap)


def test_roadmap_covers_every_branch_with_enough_questions() -> None:
    catalog = load_lessons([LESSONS])
    assert not catalog.problems
    roadmap = catalog.by_module("roadmap")
    titles = {e.lesson.id for e in roadmap}
    assert titles == {f"roadmap-{b}" for b in ("fundamentals", "languages", "databases", "apis", "hosting", "devops")}
    total = 0
    for entry in roadmap:
        kinds = {q.kind for q in entry.lesson.exercises}
        assert kinds == {"single", "multiple", "order", "text"}, entry.lesson.id
        difficulties = {q.difficulty for q in entry.lesson.exercises}  # type: ignore[union-attr]
        assert difficulties == {"easy", "medium", "hard"}, entry.lesson.id
        total += len(entry.lesson.exercises)
    assert total >= 150
    per_topic: dict[str, int] = {}
    for entry in roadmap:
        for q in entry.lesson.exercises:
            per_topic[q.topic] = per_topic.get(q.topic, 0) + 1  # type: ignore[union-attr]
    assert all(per_topic[t] >= 5 for t in ("MySQL", "MongoDB", "Choosing a language")), per_topic


@pytest.mark.parametrize("how", ["option", "env"])
def test_instructor_lesson_directories(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if how == "option":
        result = run_cli("--lessons", str(GOOD), "lessons", "list", "--json")
    else:
        monkeypatch.setenv("LEARNBACKEND_LESSONS", str(GOOD))
        result = run_cli("lessons", "list", "--json")
    assert result.exit_code == 0
    assert "fixture-tiny" in {row["id"] for row in result.json}


def test_a_bad_instructor_directory_stops_commands_with_exit_2() -> None:
    result = run_cli("--lessons", str(BAD), "lessons", "list")
    assert result.exit_code == 2
    assert "broken.yaml:15" in result.stderr
    assert "Traceback" not in result.stderr


def test_lessons_show() -> None:
    result = run_cli("--lessons", str(GOOD), "lessons", "show", "fixture-tiny")
    assert result.exit_code == 0
    assert "Tiny" in result.stdout and "pick-many" in result.stdout and "4 exercises" in result.stdout
    missing = run_cli("lessons", "show", "no-such-lesson")
    assert missing.exit_code == 2
    assert "No lesson has the id 'no-such-lesson'" in missing.stderr
