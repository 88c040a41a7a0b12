"""Rich and JSON rendering of lessons, validation results, progress and doctor probes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from learnbackend.course.catalog import Catalog, LoadedLesson

if TYPE_CHECKING:
    from learnbackend.context import Environment
    from learnbackend.course.overview import CourseOverview
    from learnbackend.course.yamlsource import SourceProblem
    from learnbackend.doctor import Probe


def print_json(env: Environment, data: Any) -> None:
    """JSON on stdout, unwrapped and uncoloured, for scripts."""
    env.out.file.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    env.out.file.flush()


def lessons_list(env: Environment, catalog: Catalog, *, module: str | None, as_json: bool) -> None:
    entries = catalog.by_module(module) if module else catalog.lessons
    if as_json:
        print_json(env, [
            {"id": e.lesson.id, "module": e.lesson.module, "title": e.lesson.title, "summary": e.lesson.summary,
             "exercises": len(e.lesson.exercises), "path": str(e.path)}
            for e in entries
        ])
        return
    table = Table(title=f"Lessons ({catalog.pack_version})", title_justify="left", expand=False)
    table.add_column("id", style="code", no_wrap=True)
    table.add_column("module")
    table.add_column("title")
    table.add_column("exercises", justify="right")
    for e in entries:
        table.add_row(e.lesson.id, e.lesson.module, e.lesson.title, str(len(e.lesson.exercises)))
    env.out.print(table)
    env.out.print(Text("Show one with: learnbackend lessons show ID", style="muted"))


def lesson_show(env: Environment, entry: LoadedLesson) -> None:
    lesson = entry.lesson
    header = Text(lesson.title, style="title")
    header.append(f"  ({lesson.id}, {lesson.module})", style="muted")
    env.out.print(header)
    env.out.print(Text(lesson.summary))
    if lesson.body.strip():
        env.out.print(Panel(Markdown(lesson.body), border_style="muted"))
    if lesson.topics:
        env.out.print(Text("Topics: " + ", ".join(lesson.topics), style="muted"))
    table = Table(title=f"{len(lesson.exercises)} exercises", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("id", style="code", no_wrap=True)
    table.add_column("kind")
    table.add_column("about")
    for i, exercise in enumerate(lesson.exercises, 1):
        about = getattr(exercise, "topic", None) or getattr(exercise, "title", "") or ""
        extra = getattr(exercise, "difficulty", None)
        table.add_row(str(i), exercise.id, exercise.kind, f"{about}" + (f" ({extra})" if extra else ""))
    env.out.print(table)
    env.out.print(Text(f"Source: {entry.path}", style="muted"))


def validation(env: Environment, count: int, problems: list[SourceProblem], *, as_json: bool) -> None:
    if as_json:
        print_json(env, {
            "files": count,
            "valid": not problems and count > 0,
            "problems": [{"file": str(p.path), "line": p.line, "message": p.message, "fix": p.fix} for p in problems],
        })
        return
    if count == 0:
        env.err.print(Text("No lesson files found at the given paths (expected *.yaml files or lesson directories).", style="error"))
        return
    for p in problems:
        line = Text(p.where(), style="bold")
        line.append(": ")
        line.append(p.message)
        if p.fix:
            line.append(f"\n    → {p.fix}", style="warn")
        env.err.print(line, soft_wrap=True)
    files = "file" if count == 1 else "files"
    if problems:
        env.err.print(Text(f"{len(problems)} problem(s) in {count} lesson {files}.", style="fail"))
    else:
        env.out.print(Text(f"✓ {count} lesson {files} valid.", style="ok"))


def _bar(percent: int, width: int = 20) -> Text:
    filled = round(width * percent / 100)
    bar = Text("█" * filled, style="ok")
    bar.append("░" * (width - filled), style="muted")
    bar.append(f" {percent:3d}%")
    return bar


def progress(env: Environment, overview: CourseOverview, *, as_json: bool) -> None:
    if as_json:
        print_json(env, overview.to_dict())
        return
    from rich import box

    table = Table(title="Your progress", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("module", no_wrap=True)
    table.add_column("done", no_wrap=True)
    table.add_column("passed", justify="right", no_wrap=True)
    table.add_column("start with", style="code", no_wrap=True)
    for m in overview.modules:
        table.add_row(m.title, _bar(m.percent, width=10), f"{m.passed}/{m.exercises}", m.command)
    env.out.print(table)
    env.out.print(Text(f"Stored in {overview.progress_path}", style="muted"))


def doctor(env: Environment, probes: list[Probe], *, as_json: bool) -> None:
    if as_json:
        print_json(env, [p.to_dict() for p in probes])
        return
    table = Table(title="learnbackend doctor", title_justify="left")
    table.add_column("")
    table.add_column("what")
    # A path longer than the column is folded, never cut short with an ellipsis; what it is for gets less room.
    table.add_column("found", overflow="fold", ratio=3)
    table.add_column("needed for", style="muted", ratio=2)
    for p in probes:
        table.add_row(Text("✓", style="ok") if p.ok else Text("✗", style="fail"), p.name, p.detail, p.needed_for)
    env.out.print(table)
    for p in probes:
        if not p.ok and p.fix:
            env.out.print(Text(f"{p.name}: ", style="bold").append(p.fix, style="warn"))
