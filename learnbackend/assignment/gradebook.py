"""The gradebook: per learner and exercise, points (partial credit), attempts, commit, lateness.

Built by ``assignment regrade`` (from source) or ``grade`` (from JSON reports), always
scored against the instructor's assignment; saved as JSON so that shards merge. Every
string a learner controls (names, checker messages quoting their output) is cleaned of
control characters when it enters, so no renderer has to remember to.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from learnbackend.errors import ContentError

GRADEBOOK_KIND = "learnbackend-gradebook"
GRADEBOOK_FORMAT = 1
# C0/C1 control characters (ESC starts every terminal escape sequence), bidi overrides, DEL.
_CONTROL = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]")
_ESCAPE_SEQUENCE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")


def clean(text: Any, *, limit: int = 2000, single_line: bool = False) -> str:
    """``text`` without terminal escape sequences and control characters, at most ``limit`` characters."""
    value = _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", str(text)))
    value = " ".join(value.split()) if single_line else value.replace("\t", " ")
    return value[:limit]


@dataclass
class Cell:
    """One learner's result on one exercise."""

    status: str  # passed | failed | error | skipped | missing
    points: float
    max_points: float
    attempts: int | None = None
    message: str = ""


@dataclass
class Entry:
    """One learner."""

    student: str
    submitted: bool = True
    source: str = ""
    commit: str | None = None
    submitted_at: datetime | None = None
    late: bool | None = None
    days_late: int = 0
    late_factor: float = 1.0
    cells: dict[str, Cell] = field(default_factory=dict)
    points: float = 0.0
    max_points: float = 0.0
    percent: float = 0.0
    passed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def statuses(self) -> dict[str, str]:
        return {k: c.status for k, c in self.cells.items()}


@dataclass
class Gradebook:
    """The class on one assignment."""

    assignment: str | None
    title: str = ""
    pass_mark: float = 100.0
    due: datetime | None = None
    exercises: list[str] = field(default_factory=list)
    max_points: dict[str, float] = field(default_factory=dict)
    rows: list[Entry] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source: str = "regrade"  # regrade | reports
    shard: str | None = None


def finish(entry: Entry, book: Gradebook) -> Entry:
    """Total the cells of ``entry`` (late factor applied) against the book's exercises and pass mark."""
    raw = sum(entry.cells[e].points for e in book.exercises if e in entry.cells)
    entry.max_points = round(sum(book.max_points.get(e, 0.0) for e in book.exercises), 2)
    entry.points = round(raw * entry.late_factor, 2)
    entry.percent = round(100 * entry.points / entry.max_points, 1) if entry.max_points else 0.0
    entry.passed = entry.submitted and entry.max_points > 0 and entry.percent >= book.pass_mark
    return entry


def to_data(book: Gradebook) -> dict[str, Any]:
    """The JSON form (``grade`` merges shards from it)."""
    def entry(e: Entry) -> dict[str, Any]:
        data = asdict(e)
        data["submitted_at"] = e.submitted_at.isoformat() if e.submitted_at else None
        return data

    return {"kind": GRADEBOOK_KIND, "format_version": GRADEBOOK_FORMAT, "assignment": book.assignment, "title": book.title,
            "pass_mark": book.pass_mark, "due": book.due.isoformat() if book.due else None, "source": book.source,
            "shard": book.shard, "exercises": [{"id": e, "max_points": book.max_points.get(e, 0.0)} for e in book.exercises],
            "rows": [entry(e) for e in book.rows], "missing": list(book.missing), "warnings": list(book.warnings)}


def is_gradebook(data: Any) -> bool:
    return isinstance(data, dict) and data.get("kind") == GRADEBOOK_KIND


def from_data(data: dict[str, Any], where: str) -> Gradebook:
    """A gradebook written by :func:`to_data` (a shard's output); ContentError naming ``where`` if malformed."""
    try:
        if data.get("format_version") != GRADEBOOK_FORMAT:
            raise ValueError(f"format_version {data.get('format_version')!r}")
        due = datetime.fromisoformat(data["due"]) if data.get("due") else None
        exercises = [str(e["id"]) for e in data["exercises"]]
        book = Gradebook(data.get("assignment"), clean(data.get("title", ""), single_line=True), float(data["pass_mark"]), due, exercises,
                         {str(e["id"]): float(e["max_points"]) for e in data["exercises"]}, source=str(data.get("source", "regrade")),
                         missing=[clean(m, limit=200, single_line=True) for m in data.get("missing", [])])
        for row in data["rows"]:
            cells = {str(k): Cell(str(c["status"]), float(c["points"]), float(c["max_points"]), c.get("attempts"),
                                  clean(c.get("message", ""))) for k, c in row["cells"].items()}
            at = datetime.fromisoformat(row["submitted_at"]) if row.get("submitted_at") else None
            entry = Entry(clean(row["student"], limit=200, single_line=True), bool(row["submitted"]), clean(row.get("source", ""), limit=300),
                          row.get("commit"), at, row.get("late"), int(row.get("days_late", 0)), float(row.get("late_factor", 1.0)),
                          cells, notes=[clean(n) for n in row.get("notes", [])])
            book.rows.append(finish(entry, book))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ContentError(f"{where}: is not a gradebook written by `learnbackend assignment regrade` ({exc}).",
                           fix="Pass the gradebook.json files the regrade shards wrote.") from None
    return book


def _later(entry: Entry, other: Entry) -> bool:
    """Whether ``entry`` was submitted no earlier than ``other`` (an unknown time counts as earliest)."""
    if entry.submitted_at is None:
        return False
    return other.submitted_at is None or entry.submitted_at >= other.submitted_at


def merge(books: list[tuple[str, Gradebook]]) -> Gradebook:
    """One gradebook from the shards' gradebooks (same assignment); a learner graded twice keeps the later submission."""
    first = books[0][1]
    merged = Gradebook(first.assignment, first.title, first.pass_mark, first.due, list(first.exercises), dict(first.max_points))
    by_student: dict[str, Entry] = {}
    missing: set[str] = set()
    for where, book in books:
        if book.assignment != first.assignment or book.exercises != first.exercises:
            raise ContentError(f"{where}: is a gradebook of {book.assignment!r}, the others are of {first.assignment!r}"
                               + ("" if book.assignment != first.assignment else " with other exercises") + ".",
                               fix="Merge the shards of one regrade only.")
        merged.warnings.extend(book.warnings)
        missing.update(book.missing)
        for entry in book.rows:
            previous = by_student.get(entry.student)
            if previous is not None:
                merged.warnings.append(f"{entry.student} is in several gradebooks; keeping the later submission.")
                keep_new = _later(entry, previous)
                if not keep_new:
                    continue
            by_student[entry.student] = entry
    merged.rows = sorted(by_student.values(), key=lambda e: e.student.casefold())
    merged.missing = sorted(missing - set(by_student), key=str.casefold)
    return merged


def exercise_pass_rates(book: Gradebook) -> dict[str, float]:
    """Percent of the submitting learners who passed each exercise."""
    submitted = [e for e in book.rows if e.submitted]
    return {x: round(100 * sum(e.cells.get(x, Cell("missing", 0, 0)).status == "passed" for e in submitted) / len(submitted), 1)
            if submitted else 0.0 for x in book.exercises}


def distribution(book: Gradebook, bins: int = 10) -> list[int]:
    """How many submitting learners scored in each tenth of the points (the last bin holds 100 %)."""
    counts = [0] * bins
    for entry in book.rows:
        if entry.submitted:
            counts[min(bins - 1, int(entry.percent // (100 / bins)))] += 1
    return counts
