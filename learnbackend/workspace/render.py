"""Rich rendering of workspace commands: init, check (text report), list, next, hint, reset."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from learnbackend.context import Environment
    from learnbackend.workspace.checking import CheckReport, Outcome
    from learnbackend.workspace.create import CreatedWorkspace
    from learnbackend.workspace.navigation import ExerciseState

MARKS = {"passed": ("✓", "ok"), "failed": ("✗", "fail"), "error": ("!", "error"), "skipped": ("-", "skip"),
         "not started": ("·", "muted")}


def due_text(due: datetime) -> str:
    """A due date as a learner reads it: '2026-12-01 23:59 UTC' (short enough not to wrap)."""
    if due.tzinfo is not None:
        due = due.astimezone(timezone.utc)
    return due.strftime("%Y-%m-%d %H:%M UTC")


def mark(status: str) -> Text:
    symbol, style = MARKS.get(status, ("?", "muted"))
    return Text(f"{symbol} {status}", style=style)


def created(env: Environment, ws: CreatedWorkspace) -> None:
    m = ws.manifest
    env.out.print(Text.assemble(("Created workspace ", ""), (str(ws.root), "title"),
                                (f" with {len(m.exercises)} exercises ({sum(e.points for e in m.exercises):g} points).", "")))
    if m.scoring.assignment:
        due = f", due {due_text(m.scoring.due)}" if m.scoring.due else ""
        env.out.print(Text(f"Assignment {m.scoring.assignment}: {m.scoring.title}"))
        env.out.print(Text(f"  pass mark {m.scoring.pass_mark:g} %{due}."))
    first = m.exercises[0]
    env.out.print(Text.assemble("Read ", ("README.md", "code"), " (how to work) first, then start with ",
                                (f"{first.path}/", "code"), "."))
    env.out.print(Text.assemble("Then: ", (f"cd {ws.root} && learnbackend watch", "key"), " (re-checks as you save)"))
    env.out.print(Text.assemble("   or: ", ("learnbackend check", "key"), " (checks everything once)"))


def outcome_lines(outcome: Outcome, *, verbose: bool, hints: bool = True) -> list[RenderableType]:
    """An exercise's result: one line, then (unless passed or not started) why, condition by condition.

    ``hints=False`` leaves the conditions' hints out (watch reveals hints one by one on ``h``).
    """
    from learnbackend.workspace.checking import NOT_STARTED, state_of

    result = outcome.result
    state = state_of(result)
    line = Text.assemble(mark(state), " ", (result.id, "bold"),
                         (f"  {outcome.points:g}/{outcome.max_points:g} pt", "muted"))
    lines: list[RenderableType] = [line]
    if state == NOT_STARTED:
        return lines  # one line each: a fresh workspace's report says where to begin, not every hint
    if result.status != "passed" or verbose:
        lines.append(Padding(Text(result.message.strip(), style="muted" if result.passed else ""), (0, 0, 0, 4), expand=False))
    for c in result.conditions:
        if c.passed:
            continue
        lines.append(Padding(Text.assemble(("✗ ", "fail"), (c.description or c.id, "fail")), (0, 0, 0, 4), expand=False))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("expected:", Text(repr(c.expected)))
        grid.add_row("actual:", Text(repr(c.actual)))
        if c.hint and hints:
            grid.add_row(Text("hint:", style="warn"), Text(c.hint, style="warn"))
        lines.append(Padding(grid, (0, 0, 0, 4 + 2), expand=False))
    return lines


def check_report(env: Environment, report: CheckReport) -> None:
    """The human report: one line per exercise, the failures explained, then the summary."""
    for outcome in report.outcomes:
        for line in outcome_lines(outcome, verbose=False):
            env.out.print(line)
    summary(env, report)


def summary(env: Environment, report: CheckReport) -> None:
    from learnbackend.workspace.checking import NOT_STARTED

    parts = [f"{report.count_state('passed')} passed", f"{report.count_state('failed')} failed"]
    for state in ("error", "skipped", NOT_STARTED):
        if report.count_state(state):
            parts.append(f"{report.count_state(state)} {state}")
    reached = report.pass_mark_reached
    env.out.print()
    env.out.print(Text.assemble((", ".join(parts), "bold"), f" of {len(report.outcomes)}", (f" in {report.duration_s:.1f} s", "muted")))
    env.out.print(Text.assemble(
        (f"{report.points:g}/{report.max_points:g} points ({report.percent:g} %)", "ok" if reached else "fail"),
        f", pass mark {report.manifest.scoring.pass_mark:g} % ", ("reached" if reached else "not reached", "ok" if reached else "fail"),
    ))
    if report.missing_environment:
        env.out.print(Text("Some exercises need an engine that is missing here; `learnbackend doctor` says how to get it.", style="warn"))


def exercise_list(env: Environment, items: list[ExerciseState], current_id: str | None) -> None:
    env.out.print(exercise_table(items, current_id))
    if not items:
        env.out.print(Text("No exercise matches.", style="muted"))


def exercise_table(items: list[ExerciseState], current_id: str | None) -> Table:
    """The exercises with number, kind, state and points; ▶ marks the current one.

    Each lesson is a heading row and its exercises are listed by their own name under it,
    so that ids stay on one line at 80 columns.
    """
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("exercise", overflow="fold")
    for column in ("kind", "status", "points"):
        table.add_column(column, no_wrap=True)
    lesson = None
    for state in items:
        prefix, _, name = state.spec.id.rpartition("/")
        if prefix and prefix != lesson:
            table.add_row("", Text(prefix + "/", style="bold"), "", "", "")
            lesson = prefix
        pointer = "▶ " if state.spec.id == current_id else "  "
        table.add_row(f"{pointer}{state.number}", escape(f"  {name}" if prefix else name), state.spec.kind,
                      mark(state.status), f"{state.spec.points:g}")
    return table


def current_exercise(env: Environment, state: ExerciseState | None, total: int, *, moved: bool = False,
                     task: str = "") -> None:
    if state is None:
        env.out.print(Text(f"All {total} exercises are solved. Well done!", style="ok"))
        return
    verb = "Next" if moved else "Current"
    env.out.print(Text.assemble(f"{verb} exercise ({state.number}/{total}): ", (state.spec.id, "title"), "  ", mark(state.status)))
    if task:
        from rich.markdown import Markdown

        env.out.print(Padding(Markdown(task), (0, 0, 0, 2)))
    # One command per line, so that a narrow terminal never breaks a command in two.
    env.out.print(Text.assemble("  Work in ", (state.spec.path + "/", "code"), "; check it with"))
    env.out.print(Text.assemble("  ", (f"learnbackend check --only {state.spec.id}", "key")))
    env.out.print(Text.assemble("  or keep ", ("learnbackend watch", "key"), " running."))


def hints(env: Environment, spec_id: str, shown: list[str], total: int, *, again: str = "learnbackend hint") -> None:
    env.out.print(Text.assemble("Hints for ", (spec_id, "title"), f" ({len(shown)} of {total}):"))
    # A grid, so that a long hint wraps under its own text rather than under its number.
    table = Table.grid(padding=(0, 1))
    table.add_column(justify="right", no_wrap=True)
    table.add_column()
    for number, hint in enumerate(shown, start=1):
        table.add_row(Text(f"  {number}.", style="warn"), Text(hint, style="warn"))
    env.out.print(table)
    if len(shown) < total:
        env.out.print(Text(f"  Run `{again}` again for the next one.", style="muted"))


def reset_done(env: Environment, spec_id: str, path: str, count: int) -> None:
    env.out.print(Text.assemble("Reset ", (spec_id, "title"), "."))
    env.out.print(Text.assemble(f"  {count} starting file(s) written to ", (path + "/", "code"), "."))
