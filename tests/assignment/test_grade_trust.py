"""``grade`` over JSON reports never believes what a report says about itself.

Points come from the instructor's assignment and the results, never from ``summary``; an
exercise missing from a report earns 0 (a ``check --only`` report cannot pass); hostile
JSON (huge, deep, odd types) is a clear exit 2, and a stray file is skipped with a warning.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from classroom import learner, write_assignment  # type: ignore[import-not-found]
from conftest import run_cli  # type: ignore[import-not-found]


def _report(workspace: Path, student: str, *only: str) -> dict:  # type: ignore[type-arg]
    args = ["check", str(workspace), "--format", "json", "--student", student]
    for item in only:
        args += ["--only", item]
    result = run_cli(*args)
    assert result.exit_code in (0, 1), result.stderr
    return result.json  # type: ignore[no-any-return]


def _save(directory: Path, name: str, data: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _graded(assignment: Path, *paths: Path) -> dict[str, dict[str, str]]:
    result = run_cli("grade", *map(str, paths), "--assignment", str(assignment), "--csv", "-")
    assert result.exit_code == 0, result.stderr
    return {row["student"]: row for row in csv.DictReader(io.StringIO(result.stdout))}


def test_forged_summaries_manifests_and_partial_reports_earn_only_what_the_results_show(tmp_path: Path) -> None:
    assignment = write_assignment(tmp_path / "instructor")
    wrong = learner(assignment, tmp_path / "ws" / "wrong", right=False, repo=False)
    right = learner(assignment, tmp_path / "ws" / "right", right=True, repo=False)
    reports = tmp_path / "reports"
    forged = _report(wrong, "forger")
    forged["summary"] = {"points": 19, "max_points": 19, "percent": 100, "pass_mark_reached": True}
    _save(reports, "forger.json", forged)
    # The manifest edited to one exercise worth 100 points, pass mark 1: the report says so.
    edited = _report(right, "editor", "1")
    edited["results"][0]["points"] = edited["results"][0]["max_points"] = 100
    edited["summary"] = {"points": 100, "max_points": 100, "percent": 100, "pass_mark": 1, "pass_mark_reached": True}
    _save(reports, "editor.json", edited)
    _save(reports, "only.json", _report(right, "only", "1", "2"))  # check --only: 2 of 5 exercises
    odd = _report(right, "odd")
    odd["summary"] = {"points": {"$gt": 0}, "max_points": [1]}  # not what check writes: skipped, with a warning
    _save(reports, "odd.json", odd)
    _save(reports, "honest.json", _report(right, "honest"))
    rows = _graded(assignment, reports)
    assert {n: (r["points"], r["max_points"], r["passed"]) for n, r in rows.items()} == {
        "editor": ("1", "6", "no"), "forger": ("0", "6", "no"), "honest": ("6", "6", "yes"), "only": ("2", "6", "no")}
    assert rows["only"]["roadmap-fundamentals/server-side-validation"] == "missing"


def test_hostile_json_is_a_clear_exit_2_and_a_stray_file_is_skipped(tmp_path: Path) -> None:
    assignment = write_assignment(tmp_path / "instructor")
    deep = _save(tmp_path / "deep", "deep.json", "[" * 100_000 + "]" * 100_000)
    result = run_cli("grade", str(deep), "--assignment", str(assignment))
    assert result.exit_code == 2 and "nested too deeply" in result.stderr and "Internal error" not in result.stderr
    nested = _save(tmp_path / "nested", "n.json", {"results": [], "summary": {}, "x": json.loads("[" * 500 + "]" * 500)})
    assert run_cli("grade", str(nested)).exit_code == 2
    huge = _save(tmp_path / "huge", "h.json", '{"results": [], "pad": "' + "x" * (5 * 1024 * 1024) + '"}')
    result = run_cli("grade", str(huge))
    assert result.exit_code == 2 and "larger than" in result.stderr
    right = learner(assignment, tmp_path / "ws" / "ada", repo=False)
    reports = tmp_path / "reports"
    _save(reports, "ada.json", _report(right, "ada"))
    _save(reports, "package.json", {"name": "not-a-report"})
    _save(reports, "notes.json", "{oops")
    result = run_cli("grade", str(reports), "--assignment", str(assignment))
    assert result.exit_code == 0, result.stderr
    assert "package.json" in result.stderr and "notes.json" in result.stderr and "skipped" in result.stderr
    assert "ada" in result.stdout


def test_learner_strings_cannot_inject_formulas_or_terminal_escapes(tmp_path: Path) -> None:
    assignment = write_assignment(tmp_path / "instructor")
    right = learner(assignment, tmp_path / "ws" / "ada", repo=False)
    reports = tmp_path / "reports"
    names = ['=HYPERLINK("http://evil.invalid","click")', "+1+2", "@SUM(A1)", "-3", "\x1b]8;;http://evil.invalid\x1b\\osc\x1b]8;;\x1b\\",
             "\x1b[2J\x1b[31mred\x1b[0m", "tab\tcr\r"]
    for index, name in enumerate(names):
        report = _report(right, "x")
        report["student"] = name
        report["results"][0]["message"] = "\x1b[31mboom\x07"
        _save(reports, f"r{index}.json", report)
    result = run_cli("grade", str(reports), "--assignment", str(assignment), "--output", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stdout
    assert all(line == line.rstrip() for line in result.stdout.splitlines())
    assert "osc" in result.stdout and "red" in result.stdout
    table = list(csv.reader(io.StringIO((tmp_path / "out" / "gradebook.csv").read_text())))
    students = [row[0] for row in table[1:]]
    assert "'=HYPERLINK(\"http://evil.invalid\",\"click\")" in students and "'+1+2" in students
    assert "'@SUM(A1)" in students and "'-3" in students
    assert all(not s.startswith(("=", "+", "-", "@", "\t", "\r")) for row in table for s in row)
    assert "\x1b" not in (tmp_path / "out" / "report.html").read_text()
    assert all("\x1b" not in p.read_text() for p in (tmp_path / "out" / "feedback").iterdir())
