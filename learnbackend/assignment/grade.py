"""``learnbackend grade``: a class roster from the JSON reports of ``learnbackend check``.

Reports are read as data (never trusted to be well-formed: a bad one is a ContentError
naming the file). One row per student (their latest report), with points, pass mark,
late or not, and each exercise's status.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from learnbackend.errors import ContentError, NotFoundError


@dataclass
class RosterRow:
    """One student's result."""

    student: str
    points: float
    max_points: float
    percent: float
    passed: bool
    late: bool | None
    checked_at: datetime
    statuses: dict[str, str]
    source: Path


@dataclass
class Roster:
    """The class: rows sorted by student, the exercise columns, and warnings met on the way."""

    exercises: list[str]
    rows: list[RosterRow] = field(default_factory=list)
    assignment: str | None = None
    due: datetime | None = None
    warnings: list[str] = field(default_factory=list)


def _parse_time(value: Any, path: Path, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ContentError(f"{path}: {what} {value!r} is not an ISO 8601 date-time.",
                           fix="Give the report as written by `learnbackend check --format json`.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def read_report(path: Path) -> dict[str, Any]:
    """A JSON check report, shape-checked; ContentError (exit 2) names the file when it is not one."""
    from learnbackend.jsoninput import JsonInputError, read_json

    try:
        data = read_json(path)  # bounded size and depth: a report is learner-controlled
    except OSError as exc:
        raise NotFoundError(f"Cannot read the report {path}: {exc.strerror}.", fix="Check the path.") from None
    except JsonInputError as exc:
        raise ContentError(f"{path}: {exc}.", fix="Pass reports written by `learnbackend check --format json`.") from None
    ok = isinstance(data, dict) and isinstance(data.get("results"), list) and isinstance(data.get("summary"), dict)
    if ok:
        ok = all(isinstance(r, dict) and isinstance(r.get("id"), str) and isinstance(r.get("status"), str) for r in data["results"])
        # The numbers read from the summary must be numbers (an object there used to crash the roster).
        ok = ok and all(isinstance(data["summary"].get(k, 0), (int, float)) for k in ("points", "max_points", "percent"))
    if not ok:
        raise ContentError(f"{path}: is not a learnbackend check report (`results` and `summary` missing or not what check writes).",
                           fix="Pass reports written by `learnbackend check --format json`.")
    return data


def expand(paths: list[Path]) -> list[Path]:
    """Report files; a directory stands for the ``*.json`` files in it."""
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    if not found:
        raise NotFoundError("No report files were given (the directories hold no *.json).",
                            fix="Pass the JSON reports written by `learnbackend check --format json`.")
    return found


def build_roster(paths: list[Path], *, assignment: Any = None) -> Roster:
    """The roster of the reports at ``paths`` (files or directories).

    With ``assignment`` (a LoadedAssignment) the columns are its exercises, its due date
    decides lateness and reports of another assignment are refused.
    """
    expected_name = assignment.assignment.name if assignment is not None else None
    due_override = assignment.assignment.due_utc() if assignment is not None else None
    columns: list[str] = [t.id for t in assignment.tasks] if assignment is not None else []
    latest: dict[str, RosterRow] = {}
    roster = Roster(columns, assignment=expected_name, due=due_override)
    for path in expand(paths):
        data = read_report(path)
        info = data.get("assignment") or {}
        name = info.get("name") if isinstance(info, dict) else None
        if expected_name is not None and name != expected_name:
            raise ContentError(f"{path}: is a report for assignment {name!r}, not {expected_name!r}.",
                               fix="Grade each assignment's reports separately.")
        if roster.assignment is None:
            roster.assignment = name
        elif name != roster.assignment:
            raise ContentError(f"{path}: is a report for assignment {name!r}, the others are for {roster.assignment!r}.",
                               fix="Grade each assignment's reports separately.")
        checked_at = _parse_time(data.get("checked_at"), path, "checked_at") or datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        due = due_override or _parse_time(info.get("due") if isinstance(info, dict) else None, path, "assignment.due")
        if roster.due is None:
            roster.due = due
        summary = data["summary"]
        statuses = {r["id"]: r["status"] for r in data["results"]}
        if assignment is None:
            columns.extend(i for i in statuses if i not in columns)
        student = str(data.get("student") or "").strip() or path.stem
        row = RosterRow(
            student=student, points=float(summary.get("points", 0)), max_points=float(summary.get("max_points", 0)),
            percent=float(summary.get("percent", 0)), passed=bool(summary.get("pass_mark_reached", False)),
            late=None if due is None else checked_at > due, checked_at=checked_at, statuses=statuses, source=path,
        )
        previous = latest.get(student)
        if previous is not None:
            keep, drop = (row, previous) if row.checked_at >= previous.checked_at else (previous, row)
            roster.warnings.append(f"{student} has several reports; using {keep.source.name} (the latest), not {drop.source.name}.")
            row = keep
        latest[student] = row
    roster.rows = sorted(latest.values(), key=lambda r: r.student.casefold())
    return roster


def to_csv(roster: Roster) -> str:
    """A gradebook CSV: one row per student, one status column per exercise."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "points", "max_points", "percent", "passed", "late", "checked_at", *roster.exercises])
    for row in roster.rows:
        late = "" if row.late is None else ("yes" if row.late else "no")
        writer.writerow([row.student, f"{row.points:g}", f"{row.max_points:g}", f"{row.percent:g}", "yes" if row.passed else "no",
                         late, row.checked_at.isoformat(), *(row.statuses.get(e, "missing") for e in roster.exercises)])
    return buffer.getvalue()
