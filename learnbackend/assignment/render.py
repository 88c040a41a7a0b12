"""Rich rendering for assignments: validation results, the created file, the class roster."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from learnbackend.workspace.render import MARKS, due_text

if TYPE_CHECKING:
    from learnbackend.assignment.gradebook import Gradebook
    from learnbackend.context import Environment
    from learnbackend.course.yamlsource import SourceProblem


def problems(env: Environment, found: list[SourceProblem]) -> None:
    for problem in found:
        line = Text.assemble((problem.where(), "bold"), ": ", problem.message)
        if problem.fix:
            line.append(f"  → {problem.fix}", style="warn")
        env.err.print(line)
    env.err.print(Text(f"{len(found)} problem(s).", style="fail"))


def valid(env: Environment, loaded: Any, *, created: bool = False) -> None:
    a = loaded.assignment
    verb = "Wrote" if created else "Valid:"
    shown = os.path.relpath(loaded.path)
    env.out.print(Text.assemble((f"{verb} ", "ok"), (shown if not shown.startswith("..") else str(loaded.path), "bold"), f" ({a.name})"))
    env.out.print(Text(f"  {len(loaded.tasks)} exercises, {loaded.max_points:g} points, pass mark {a.pass_mark:g} %"
                                + (f", due {due_text(a.due_utc())}" if a.due else "") + "."))
    if created:
        env.out.print(Text.assemble("Learners start with ", (f"learnbackend init DIR --assignment {loaded.path.name}", "key"), "."))


def roster(env: Environment, data: Gradebook) -> None:
    """The roster: one row per learner, exercises as numbered status columns with a legend, then who is missing.

    Learner strings were cleaned of control characters when read; they go in as plain Text (never markup).
    """
    title = f"Roster: {data.assignment}" if data.assignment else "Roster"
    if data.due:
        title += f" (due {due_text(data.due)})"
    table = Table(title=Text(title), header_style="bold", title_style="title")
    table.add_column("student")
    table.add_column("points", justify="right")
    table.add_column("%", justify="right")
    table.add_column("pass")
    table.add_column("late")
    show_commits = any(row.commit for row in data.rows)
    if show_commits:
        table.add_column("commit")
    for number, _ in enumerate(data.exercises, start=1):
        table.add_column(str(number), justify="center")
    for row in data.rows:
        late = Text("—", style="muted") if row.late is None else Text("late", style="fail") if row.late else Text("on time", style="ok")
        if row.late and row.days_late:
            late = Text(f"{row.days_late} d late", style="fail")
        cells = [Text(MARKS.get(row.statuses.get(e, ""), ("·", "muted"))[0], style=MARKS.get(row.statuses.get(e, ""), ("", "muted"))[1])
                 for e in data.exercises]
        commit = [Text((row.commit or "")[:8], style="muted")] if show_commits else []
        table.add_row(Text(row.student), f"{row.points:g}/{row.max_points:g}", f"{row.percent:g}",
                      Text("yes", style="ok") if row.passed else Text("no", style="fail"), late, *commit, *cells)
    env.out.print(table)
    for number, exercise in enumerate(data.exercises, start=1):
        env.out.print(Text(f"  {number}: {exercise}", style="muted"))
    env.out.print(Text("  ✓ passed  ✗ failed  ! error  - skipped  · not checked", style="muted"))
    if data.missing:
        env.out.print(Text.assemble(("Missing: ", "fail"), ", ".join(data.missing)))
    for warning in data.warnings:
        env.err.print(Text("Warning: " + warning, style="warn"))


def written(env: Environment, files: dict[str, Any]) -> None:
    """Where the gradebook files went."""
    for what, path in files.items():
        env.out.print(Text(f"  {what}: {path}"), soft_wrap=True)


def published(env: Environment, done: Any) -> None:
    """What ``assignment publish`` made and what to do next."""
    env.out.print(Text.assemble(("Published ", "ok"), (str(done.root), "bold"), f" (commit {done.commit[:12]})."))
    env.out.print(Text(f"  CI installs learnbackend with: {done.install}"), soft_wrap=True)
    if done.withheld:
        env.out.print(Text(f"  Withheld (reference solutions, hidden tests): {len(done.withheld)} file(s)."))
    env.out.print(Text.assemble("Push it as the template repository learners fork or clone; collect with ",
                                ("learnbackend assignment regrade", "key"), "."), soft_wrap=True)
