"""`learnbackend grade`: the roster from reports, and the clear refusals for bad or mixed ones."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from conftest import run_cli  # type: ignore[import-not-found]

from learnbackend.assignment.grade import build_roster


def _report(student: str, statuses: dict[str, str], *, points: float, at: str, assignment: str | None = "hw",
            due: str | None = "2026-12-01T23:59:00+00:00") -> dict[str, Any]:
    return {
        "student": student, "checked_at": at, "catalog": {"pack_version": "p@1"},
        "assignment": None if assignment is None else {"name": assignment, "title": "HW", "pass_mark": 50, "due": due},
        "results": [{"id": i, "status": s, "message": ""} for i, s in statuses.items()],
        "summary": {"points": points, "max_points": 2, "percent": 50 * points, "pass_mark_reached": points >= 1},
    }


def _save(directory: Path, name: str, data: Any) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_latest_report_per_student_wins_and_lateness_follows_the_due_date(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    _save(reports, "cy-1.json", _report("cy", {"l/a": "failed", "l/b": "failed"}, points=0, at="2026-11-20T10:00:00+00:00"))
    _save(reports, "cy-2.json", _report("cy", {"l/a": "passed", "l/b": "passed"}, points=2, at="2026-12-03T10:00:00+00:00"))
    _save(reports, "di.json", _report("di", {"l/a": "passed", "l/b": "error"}, points=1, at="2026-11-30T10:00:00Z"))
    roster = build_roster([reports])
    assert [(r.student, r.points, r.late) for r in roster.rows] == [("cy", 2, True), ("di", 1, False)]
    assert roster.exercises == ["l/a", "l/b"] and any("cy has several reports" in w for w in roster.warnings)
    shown = run_cli("grade", str(reports))
    assert shown.exit_code == 0 and "several reports" in shown.stderr
    assert "late" in shown.stdout and "on time" in shown.stdout and "!" in shown.stdout
    gradebook = tmp_path / "book.csv"
    assert run_cli("grade", str(reports), "--csv", str(gradebook)).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(gradebook.read_text())))
    assert [(r["student"], r["late"], r["l/b"]) for r in rows] == [("cy", "yes", "passed"), ("di", "no", "error")]


def test_without_a_due_date_lateness_is_unknown(tmp_path: Path) -> None:
    path = _save(tmp_path, "ev.json", _report("ev", {"l/a": "passed"}, points=2, at="2030-01-01T00:00:00Z", due=None))
    assert build_roster([path]).rows[0].late is None


def test_bad_and_mixed_reports_are_refused_naming_the_file(tmp_path: Path) -> None:
    not_json = _save(tmp_path, "broken.json", "{oops")
    result = run_cli("grade", str(not_json))
    assert result.exit_code == 2 and "broken.json" in result.stderr
    not_report = _save(tmp_path, "other.json", {"hello": 1})
    result = run_cli("grade", str(not_report))
    assert result.exit_code == 2 and "not a learnbackend check report" in result.stderr
    one = _save(tmp_path / "mixed", "a.json", _report("a", {"l/a": "passed"}, points=2, at="2026-11-01T00:00:00Z"))
    _save(tmp_path / "mixed", "b.json", _report("b", {"l/a": "passed"}, points=2, at="2026-11-01T00:00:00Z", assignment="other"))
    result = run_cli("grade", str(one.parent))
    assert result.exit_code == 2 and "'other'" in result.stderr
    assert run_cli("grade", str(tmp_path / "empty-dir-does-not-exist.json")).exit_code == 2
