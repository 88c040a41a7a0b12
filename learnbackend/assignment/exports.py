"""Gradebook exports: CSV (safe to open in a spreadsheet), JSON, and one Markdown feedback file per learner."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from learnbackend.assignment.gradebook import Gradebook, to_data

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never evaluates (OWASP CSV injection)."""
    text = value if isinstance(value, str) else format(value, "g") if isinstance(value, float) else str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def to_csv(book: Gradebook) -> str:
    """One row per learner: totals, lateness, commit, then points and attempts per exercise."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["student", "submitted", "points", "max_points", "percent", "passed", "late", "days_late", "commit", "submitted_at"]
    for exercise in book.exercises:
        header += [exercise, f"{exercise} points", f"{exercise} attempts"]
    writer.writerow([cell(h) for h in header])
    for entry in [*book.rows]:
        late = "" if entry.late is None else "yes" if entry.late else "no"
        row: list[object] = [entry.student, "yes" if entry.submitted else "no", entry.points, entry.max_points, entry.percent,
                             "yes" if entry.passed else "no", late, entry.days_late, entry.commit or "",
                             entry.submitted_at.isoformat() if entry.submitted_at else ""]
        for exercise in book.exercises:
            c = entry.cells.get(exercise)
            row += ["missing", 0.0, ""] if c is None else [c.status, c.points, "" if c.attempts is None else c.attempts]
        writer.writerow([cell(v) for v in row])
    for name in book.missing:
        writer.writerow([cell(name), "no", 0.0, round(sum(book.max_points.values()), 2), 0.0, "no", "", 0, "", ""]
                        + ["missing", "0", ""] * len(book.exercises))
    return buffer.getvalue()


def to_json(book: Gradebook) -> str:
    return json.dumps(to_data(book), indent=2, ensure_ascii=False) + "\n"


def _md(text: str) -> str:
    """Learner text inside Markdown: no HTML, no links or emphasis that were not meant."""
    return re.sub(r"([\\`*_{}\[\]<>()#+!|])", r"\\\1", text)


def feedback(book: Gradebook, student: str) -> str:
    """The Markdown feedback for one learner: their points, lateness and every exercise's result."""
    entry = next(e for e in book.rows if e.student == student)
    lines = [f"# {_md(book.title or book.assignment or 'Assignment')}: feedback for {_md(entry.student)}", ""]
    lines.append(f"**{entry.points:g} / {entry.max_points:g} points ({entry.percent:g} %)**, "
                 f"{'passed' if entry.passed else 'not passed'} (pass mark {book.pass_mark:g} %).")
    if entry.commit:
        lines += ["", f"Graded commit `{entry.commit[:12]}`" + (f" of {entry.submitted_at.isoformat()}" if entry.submitted_at else "") + "."]
    if entry.late:
        penalty = f"; the points are multiplied by {entry.late_factor:g}" if entry.late_factor < 1 else ""
        lines += ["", f"Submitted {entry.days_late} day(s) late{penalty}."]
    lines += ["", "| # | exercise | result | points | attempts |", "|---|---|---|---|---|"]
    for number, exercise in enumerate(book.exercises, start=1):
        c = entry.cells.get(exercise)
        status, points, attempts = ("missing", 0.0, None) if c is None else (c.status, c.points, c.attempts)
        lines.append(f"| {number} | `{exercise}` | {status} | {points:g} / {book.max_points.get(exercise, 0):g} | "
                     f"{'' if attempts is None else attempts} |")
    notes = [(x, entry.cells[x].message) for x in book.exercises if x in entry.cells and entry.cells[x].status != "passed"
             and entry.cells[x].message]
    if notes:
        lines += ["", "## What to look at", ""]
        lines += [f"- `{x}`: {_md(' '.join(message.split()))[:600]}" for x, message in notes]
    lines += [f"- {_md(note)}" for note in entry.notes] if entry.notes and not notes else []
    return "\n".join(lines) + "\n"


def feedback_name(student: str, taken: set[str]) -> str:
    """A file name for a learner's feedback: safe characters only, unique."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", student).strip(".-")[:80] or "learner"
    name, number = f"{base}.md", 2
    while name in taken:
        name, number = f"{base}-{number}.md", number + 1
    taken.add(name)
    return name


def write_all(book: Gradebook, output: Path) -> dict[str, Path]:
    """gradebook.json, gradebook.csv, report.html and feedback/*.md under ``output``."""
    from learnbackend.assignment.htmlreport import to_html

    output.mkdir(parents=True, exist_ok=True)
    written = {"json": output / "gradebook.json", "csv": output / "gradebook.csv", "html": output / "report.html"}
    written["json"].write_text(to_json(book), encoding="utf-8")
    written["csv"].write_text(to_csv(book), encoding="utf-8")
    written["html"].write_text(to_html(book), encoding="utf-8")
    folder = output / "feedback"
    folder.mkdir(exist_ok=True)
    taken: set[str] = set()
    for entry in book.rows:
        (folder / feedback_name(entry.student, taken)).write_text(feedback(book, entry.student), encoding="utf-8")
    written["feedback"] = folder
    return written
