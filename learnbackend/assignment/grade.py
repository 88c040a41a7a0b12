"""``learnbackend grade``: a gradebook from the JSON reports of ``learnbackend check`` (or merged regrade shards).

A report is what a learner's CI wrote, so it is read as bounded, hostile data: its
``summary`` is never read, points come from the instructor's assignment (an exercise
the report lacks earns 0, so a ``check --only`` report cannot pass), a file that is not
a report is skipped with a warning. ``assignment regrade`` is the path that re-checks
the learners' own files; this one trusts each result's status.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from learnbackend.assignment.gradebook import Cell, Entry, Gradebook, clean, finish, from_data, is_gradebook, merge
from learnbackend.errors import ContentError, NotFoundError

MAX_REPORT_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_RESULTS = 2000
STATUSES = ("passed", "failed", "error", "skipped")


def _parse_time(value: Any, path: Path, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value)[:64].replace("Z", "+00:00"))
    except ValueError:
        raise ContentError(f"{path}: {what} {str(value)[:64]!r} is not an ISO 8601 date-time.",
                           fix="Give the report as written by `learnbackend check --format json`.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def load_json(path: Path) -> Any:
    """A JSON file, bounded in size and depth (:mod:`learnbackend.jsoninput`); ContentError (exit 2) naming the file otherwise."""
    from learnbackend.jsoninput import JsonInputError, read_json

    try:
        return read_json(path, max_bytes=MAX_REPORT_BYTES, max_depth=MAX_DEPTH)
    except OSError as exc:
        raise NotFoundError(f"Cannot read the report {path}: {exc.strerror}.", fix="Check the path.") from None
    except JsonInputError as exc:
        raise ContentError(f"{path}: {str(exc)[:300]}.", fix="Pass reports written by `learnbackend check --format json`.") from None


def read_report(path: Path) -> dict[str, Any]:
    """A JSON check report, shape-checked; ContentError (exit 2) names the file when it is not one."""
    data = load_json(path)
    ok = isinstance(data, dict) and isinstance(data.get("results"), list) and len(data["results"]) <= MAX_RESULTS
    if ok:
        ok = all(isinstance(r, dict) and isinstance(r.get("id"), str) and isinstance(r.get("status"), str) for r in data["results"])
        # `summary` is never used for points, but one that is not what check writes marks a file that is not a report.
        summary = data.get("summary", {})
        ok = ok and isinstance(summary, dict) and all(isinstance(summary.get(k, 0), (int, float)) for k in ("points", "max_points", "percent"))
    if not ok:
        raise ContentError(f"{path}: is not a learnbackend check report (`results` and `summary` missing or not what check writes).",
                           fix="Pass reports written by `learnbackend check --format json`.")
    return data


def expand(paths: list[Path]) -> list[Path]:
    """Report files; a directory stands for the ``*.json`` files in it."""
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(p for p in path.glob("*.json") if p.is_file()) if path.is_dir() else [path])
    if not found:
        raise NotFoundError("No report files were given (the directories hold no *.json).",
                            fix="Pass the JSON reports written by `learnbackend check --format json`.")
    return found


def _points(result: dict[str, Any], max_points: float, spec: Any) -> float:
    """Points for one result: all when passed; partial credit from its conditions (weights from the assignment)."""
    if result["status"] == "passed":
        return max_points
    conditions = result.get("conditions")
    if result["status"] != "failed" or spec is None or not spec.partial or not isinstance(conditions, list):
        return 0.0
    items = [c for c in conditions[:200] if isinstance(c, dict) and isinstance(c.get("id"), str) and isinstance(c.get("passed"), bool)]
    weights = [spec.conditions.get(c["id"], 1.0) for c in items]
    total = sum(weights)
    earned = sum(w for w, c in zip(weights, items, strict=True) if c["passed"])
    return round(max_points * earned / total, 2) if total > 0 else 0.0


def _book_for(assignment: Any) -> Gradebook:
    if assignment is None:
        return Gradebook(None, source="reports")
    a = assignment.assignment
    return Gradebook(a.name, a.title, a.pass_mark, a.due_utc(), [t.id for t in assignment.tasks],
                     {t.id: t.points for t in assignment.tasks}, source="reports")


def _entry(path: Path, data: dict[str, Any], book: Gradebook, assignment: Any) -> Entry:
    student = clean(str(data.get("student") or "").strip(), limit=200, single_line=True) or clean(path.stem, limit=200, single_line=True)
    checked_at = _parse_time(data.get("checked_at"), path, "checked_at") or datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    tasks = {t.id: t for t in assignment.tasks} if assignment is not None else {}
    entry = Entry(student, source=path.name, submitted_at=checked_at)
    results: dict[str, dict[str, Any]] = {}
    for result in data["results"]:
        results.setdefault(result["id"], result)  # a duplicated id counts once: the first
    if assignment is None:
        for result in results.values():
            if result["id"] not in book.exercises and len(book.exercises) < MAX_RESULTS:
                claimed = result.get("max_points")
                book.exercises.append(result["id"])
                book.max_points[result["id"]] = float(claimed) if isinstance(claimed, (int, float)) and 0 <= claimed <= 1000 else 1.0
    for exercise in book.exercises:
        result = results.get(exercise)
        if result is None:
            entry.cells[exercise] = Cell("missing", 0.0, book.max_points[exercise], message="not in the report")
            continue
        status = result["status"] if result["status"] in STATUSES else "error"
        if assignment is None:  # no instructor's scoring to recompute with: the result's own points, bounded
            claimed = result.get("points")
            top = book.max_points[exercise]
            earned = min(top, max(0.0, float(claimed))) if isinstance(claimed, (int, float)) and status != "error" else \
                (top if status == "passed" else 0.0)
        else:
            earned = _points({**result, "status": status}, book.max_points[exercise], tasks.get(exercise))
        entry.cells[exercise] = Cell(status, earned, book.max_points[exercise], message=clean(result.get("message", ""), limit=500))
    if assignment is not None:
        entry.late, entry.days_late, entry.late_factor = assignment.assignment.lateness(student, checked_at)
    else:
        info = data.get("assignment")
        due = _parse_time(info.get("due") if isinstance(info, dict) else None, path, "assignment.due")
        if book.due is None:
            book.due = due
        entry.late = None if due is None else checked_at > due
    return entry


def build_roster(paths: list[Path], *, assignment: Any = None) -> Gradebook:
    """The gradebook of the reports at ``paths`` (files or directories), or the merge of regrade shards.

    With ``assignment`` (a LoadedAssignment) its exercises and points decide, its late policy
    applies, and reports of another assignment are refused. Without one, each exercise is
    worth what the reports say (a warning says so).
    """
    book = _book_for(assignment)
    shards: list[tuple[str, Gradebook]] = []
    latest: dict[str, Entry] = {}
    skipped: list[str] = []
    for path in expand(paths):
        try:
            data = load_json(path)
            if is_gradebook(data):
                shards.append((str(path), from_data(data, str(path))))
                continue
            data = read_report(path)
        except ContentError as exc:
            skipped.append(exc.message)
            book.warnings.append(f"skipped {exc.message}")
            continue
        info = data.get("assignment")
        name = info.get("name") if isinstance(info, dict) else None
        if assignment is not None and name != book.assignment:
            raise ContentError(f"{path}: is a report for assignment {clean(name, limit=100)!r}, not {book.assignment!r}.",
                               fix="Grade each assignment's reports separately.")
        if book.assignment is None:
            book.assignment = clean(name, limit=100, single_line=True) if name is not None else None
        elif name != book.assignment:
            raise ContentError(f"{path}: is a report for assignment {clean(name, limit=100)!r}, the others are for {book.assignment!r}.",
                               fix="Grade each assignment's reports separately.")
        entry = _entry(path, data, book, assignment)
        previous = latest.get(entry.student)
        if previous is not None:
            keep, drop = (entry, previous) if entry.submitted_at and previous.submitted_at and entry.submitted_at >= previous.submitted_at else (previous, entry)
            book.warnings.append(f"{entry.student} has several reports; using {keep.source} (the latest), not {drop.source}.")
            entry = keep
        latest[entry.student] = entry
    if shards:
        if latest:
            raise ContentError("Both check reports and regrade gradebooks were given.", fix="Grade reports, or merge the shards' gradebook.json files.")
        merged = merge(shards)
        merged.warnings = book.warnings + merged.warnings
        return merged
    if not latest:
        raise ContentError(skipped[0] if len(skipped) == 1 else "None of the files is a learnbackend check report:\n  " + "\n  ".join(skipped),
                           fix="Pass reports written by `learnbackend check --format json`.")
    if assignment is None:
        book.warnings.append("no --assignment: each exercise is worth what the reports say; pass the assignment file to score against it.")
    for entry in latest.values():
        for exercise in book.exercises:  # columns met later count as missing for earlier reports
            entry.cells.setdefault(exercise, Cell("missing", 0.0, book.max_points[exercise], message="not in the report"))
        finish(entry, book)
    book.rows = sorted(latest.values(), key=lambda r: r.student.casefold())
    return book
