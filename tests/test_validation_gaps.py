"""Authoring checks: YAML surprises become file:line problems with the fix, every problem in one pass, nothing is exit 70.

Impossible dates, numbers where text is expected, an index given as `answer`, a lesson id
that collides with a bundled one, cross-references next to schema errors, unknown
condition ids in an assignment. Real files, through the real CLI.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import FIXTURES, LESSONS, run_cli  # type: ignore[import-not-found]

TINY = FIXTURES / "lessons" / "good" / "roadmap" / "tiny.yaml"


def _pack(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    root = tmp_path / "pack"
    (root / "roadmap").mkdir(parents=True, exist_ok=True)
    (root / "roadmap" / name).write_text(text, encoding="utf-8")
    return root


def _validate(*paths: Path) -> tuple[int, str]:
    result = run_cli("lessons", "validate", *map(str, paths))
    out = result.stdout + result.stderr
    assert result.exit_code != 70 and "Internal error" not in out and "Traceback" not in out, out
    return result.exit_code, out


def test_an_impossible_date_is_a_line_with_the_fix_and_hides_nothing(tmp_path: Path) -> None:
    text = TINY.read_text().replace("summary: A tiny branch for tests.", "summary: 2026-02-30").replace(
        "    topic: More\n", "    topic: Missing\n", 1).replace("hint: Count.", "hint: 2026-13-01")
    code, out = _validate(_pack(tmp_path, text))
    assert code == 2
    assert "mine.yaml:5: 2026-02-30 looks like a date but is not a real one" in out
    assert 'put it in quotes if it is text: "2026-02-30"' in out
    assert "2026-13-01 looks like a date" in out
    assert "topic 'Missing' is not in the lesson's topics" in out  # not hidden by the date


def test_numbers_and_dates_where_text_is_expected_say_put_it_in_quotes(tmp_path: Path) -> None:
    text = TINY.read_text().replace("title: Tiny", "title: 3.10").replace(
        "prompt: Which status code means Not Found?", "prompt: 2026-01-01")
    code, out = _validate(_pack(tmp_path, text))
    assert code == 2
    assert "mine.yaml:4: title: YAML reads 3.10 as a number, but text is expected here" in out
    assert 'put it in quotes: title: "3.10"' in out
    assert "YAML reads 2026-01-01 as a date" in out and 'prompt: "2026-01-01"' in out


def test_an_index_given_as_answer_names_the_mistake(tmp_path: Path) -> None:
    text = TINY.read_text().replace("answer: Right one", "answer: 0").replace('answers: ["2", "4"]', "answers: [0, 2]")
    code, out = _validate(_pack(tmp_path, text))
    assert code == 2
    assert "(pick-one).answer: 0 is a number, but `answer` is the text of a right choice, not its position" in out
    assert "copy the right choice's text verbatim from `choices`" in out
    assert "(pick-many).answers" in out


def test_cross_references_are_reported_with_schema_errors_in_one_pass(tmp_path: Path) -> None:
    text = TINY.read_text().replace("id: put-in-order", "id: pick-one").replace(
        "    topic: More\n    difficulty: hard\n", "    topic: Nowhere\n    difficulty: impossible\n")
    code, out = _validate(_pack(tmp_path, text))
    assert code == 2
    assert "difficulty" in out  # the schema error
    assert "the id is used twice in this lesson" in out and "topic 'Nowhere' is not in the lesson's topics" in out


def test_a_lesson_id_colliding_with_a_bundled_one_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "pack"
    (root / "roadmap").mkdir(parents=True)
    shutil.copy(LESSONS / "roadmap" / "apis.yaml", root / "roadmap" / "apis.yaml")
    code, out = _validate(root)
    assert code == 2 and "already the id of the bundled lesson roadmap/apis.yaml" in out and "id: my-roadmap-apis" in out
    for command in (["lessons", "list"], ["init", str(tmp_path / "ws"), "--lesson", "roadmap-apis"]):
        result = run_cli("--lessons", str(root), *command)
        assert result.exit_code == 2 and "is already used by" in result.stderr, command
    assert _validate(LESSONS)[0] == 0  # the bundled pack itself still validates


def test_unknown_condition_ids_in_an_assignment_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("""\
format_version: 1
name: week-1
title: 3.5
pass_mark: 50
due: 2026-13-01
exercises:
  - id: roadmap-fundamentals/dns-ttl
    conditions: {corect: 2, correct: 1}
  - id: git-local/stage-a-file
    conditions:
      1-staged: 2
      9-nothing: 1
""")
    result = run_cli("assignment", "validate", str(path))
    out = " ".join((result.stdout + result.stderr).split())  # the renderer wraps long lines
    assert result.exit_code == 2, out
    assert "a.yaml:3: title: YAML reads 3.5 as a number" in out
    assert "a.yaml:5: 2026-13-01 looks like a date but is not a real one" in out
    assert "a.yaml:8:" in out and "'corect' is not a condition of roadmap-fundamentals/dns-ttl" in out
    assert "a.yaml:12:" in out and "'9-nothing' is not a condition of git-local/stage-a-file" in out
    assert "'1-staged' is not a condition" not in out and "'correct' is not a condition" not in out
    good = path.read_text().replace("title: 3.5", "title: W").replace("2026-13-01", "2026-12-01").replace(
        "corect: 2, ", "").replace("      9-nothing: 1\n", "")
    path.write_text(good)
    assert run_cli("assignment", "validate", str(path)).exit_code == 0
