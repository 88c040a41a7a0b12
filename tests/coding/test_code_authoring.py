"""Authoring a code exercise: `lessons validate` runs the reference solution and the starter; hidden tests.

A small lesson is written to a temporary directory; everything runs for real
(sandboxed workers, the CLI in-process).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import run_cli  # type: ignore[import-not-found]

from learnbackend.course.catalog import load_lessons
from learnbackend.course.handlers import handler_for

LESSON = """\
format_version: 1
id: fixture-code
module: counter
title: Code fixture
summary: One code exercise.
exercises:
  - id: double
    kind: code
    title: Double it
    prompt: |
      Write `double(x)`, which returns twice `x`.
    starter: code/starter.py
    tests: code/tests.py
    hidden_tests: code/hidden.py
    solution: code/solution.py
    file: doubling.py
    timeout_s: 30
    hints:
      - Multiply by two.
"""

TESTS = '''
from learnbackend.coding.remote import learner


def test_doubles_small_numbers():
    assert learner.double(2) == 4


def test_doubles_zero():
    assert learner.double(0) == 0, "zero doubled is zero"
'''

HIDDEN = '''
from learnbackend.coding.remote import learner


def test_doubles_negative_numbers():
    assert learner.double(-7) == -14
'''

SOLUTION = "def double(x):\n    return 2 * x\n"
STARTER = "def double(x):\n    # TODO\n    raise NotImplementedError\n"
#: Passes the visible tests, fails the hidden one.
OVERFITTED = "def double(x):\n    return {2: 4, 0: 0}.get(x, 0)\n"


def write_lesson(root: Path, *, solution: str = SOLUTION, starter: str = STARTER) -> Path:
    lessons = root / "lessons" / "counter"
    (lessons / "code").mkdir(parents=True)
    (lessons / "code.yaml").write_text(LESSON)
    (lessons / "code" / "tests.py").write_text(TESTS)
    (lessons / "code" / "hidden.py").write_text(HIDDEN)
    (lessons / "code" / "solution.py").write_text(solution)
    (lessons / "code" / "starter.py").write_text(starter)
    return root / "lessons"


def _lesson_line(key: str) -> int:
    return next(i for i, line in enumerate(LESSON.splitlines(), start=1) if line.strip().startswith(f"{key}:"))


def test_a_good_code_exercise_validates(tmp_path: Path) -> None:
    result = run_cli("lessons", "validate", str(write_lesson(tmp_path)), "--json")
    assert result.exit_code == 0, result.stdout
    assert result.json["problems"] == []


def test_validate_catches_a_reference_solution_that_fails_a_hidden_test(tmp_path: Path) -> None:
    result = run_cli("lessons", "validate", str(write_lesson(tmp_path, solution=OVERFITTED)), "--json")
    assert result.exit_code == 2
    [problem] = result.json["problems"]
    assert problem["file"].endswith("code.yaml") and problem["line"] == _lesson_line("solution")
    assert "exercises[0] (double): the reference solution fails 1 of 3 test(s) (hidden/test_doubles_negative_numbers)" \
        in problem["message"]
    assert "-14" in problem["message"]


def test_validate_catches_a_starter_that_earns_points(tmp_path: Path) -> None:
    generous = "def double(x):\n    return 0  # TODO\n"
    result = run_cli("lessons", "validate", str(write_lesson(tmp_path, starter=generous)))
    assert result.exit_code == 2
    line = _lesson_line("starter")
    assert f"code.yaml:{line}" in result.stdout + result.stderr
    text = " ".join((result.stdout + result.stderr).split())
    assert "the untouched starter passes 1 of 3 test(s) (test_doubles_zero)" in text
    assert "NotImplementedError" in text


def test_validate_reports_a_broken_test_file(tmp_path: Path) -> None:
    lessons = write_lesson(tmp_path)
    (lessons / "counter" / "code" / "tests.py").write_text("from doubling import double\n")
    result = run_cli("lessons", "validate", str(lessons), "--json")
    assert result.exit_code == 2
    messages = [p["message"] for p in result.json["problems"]]
    assert any("(double): The tests" in m and "fail to load: ModuleNotFoundError" in m for m in messages), messages


def test_hidden_tests_are_never_handed_out_and_run_only_on_regrade(tmp_path: Path) -> None:
    catalog = load_lessons([write_lesson(tmp_path)])
    assert not catalog.problems
    [entry] = catalog.lessons
    [exercise] = entry.lesson.exercises
    handler = handler_for("code")
    work = tmp_path / "work"
    work.mkdir()
    files = handler.materialize(entry, exercise, work)
    assert sorted(p.name for p in work.iterdir()) == ["TASK.md", "doubling.py"] == sorted(p.name for p in files)
    assert "Write `double(x)`" in (work / "TASK.md").read_text()
    (work / "doubling.py").write_text(OVERFITTED)
    learner_check = handler.check(entry, exercise, work, timeout=30)
    assert learner_check.status == "passed" and [c.id for c in learner_check.conditions] == [
        "test_doubles_small_numbers", "test_doubles_zero"]
    regrade = handler.check(entry, exercise, work, timeout=30, include_hidden=True)
    assert regrade.status == "failed" and regrade.score == 2 / 3
    assert [c.id for c in regrade.conditions if not c.passed] == ["hidden/test_doubles_negative_numbers"]
    (work / "doubling.py").write_text(SOLUTION)
    assert handler.check(entry, exercise, work, timeout=30, include_hidden=True).status == "passed"


def test_an_assertion_message_shows_the_compared_values(tmp_path: Path) -> None:
    catalog = load_lessons([write_lesson(tmp_path)])
    [entry] = catalog.lessons
    [exercise] = entry.lesson.exercises
    work = tmp_path / "work"
    work.mkdir()
    (work / "doubling.py").write_text(textwrap.dedent("""\
        def double(x):
            if x == 0:
                return 1
            raise ValueError("no")
    """))
    result = handler_for("code").check(entry, exercise, work, timeout=30)
    actual = {c.id: c.actual for c in result.conditions}
    assert actual["test_doubles_zero"] == "zero doubled is zero: 1 != 0"
    assert actual["test_doubles_small_numbers"] == "your code raised ValueError: no (at doubling.py:4 in double)"


def test_the_documented_example_validates_and_checks(tmp_path: Path) -> None:
    """docs/instructors.md's code exercise example, extracted verbatim, is valid and behaves as documented."""
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "instructors.md").read_text()
    blocks = re.findall(r"<!-- code-example: (\S+) -->\n```\w*\n(.*?)```", doc, re.S)
    assert {name for name, _ in blocks} >= {"lesson.yaml", "code/count-once/tests.py", "code/count-once/solution.py"}
    lessons = tmp_path / "lessons" / "counter"
    for name, text in blocks:
        target = lessons / ("counting.yaml" if name == "lesson.yaml" else name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    result = run_cli("lessons", "validate", str(tmp_path / "lessons"), "--json")
    assert result.exit_code == 0, result.stdout
    generous = (lessons / "code/count-once/starter.py").read_text().replace(
        "        # TODO: count each token once; refuse a negative amount with ValueError\n",
        "        if amount < 0:\n            raise ValueError\n")
    (lessons / "code/count-once/starter.py").write_text(generous)
    result = run_cli("lessons", "validate", str(tmp_path / "lessons"))
    documented = re.search(r"(exercises\[0\] \(count-once\): the untouched starter passes .*?for nothing)", doc)
    assert documented is not None
    assert result.exit_code == 2 and documented.group(1) in " ".join((result.stdout + result.stderr).split())
    assert "counter/counting.yaml:12: exercises[0] (count-once)" in doc and "counting.yaml:12:" in result.stdout + result.stderr
