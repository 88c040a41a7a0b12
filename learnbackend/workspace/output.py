"""Where a check report goes: stdout in the chosen format, a file, or both."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from learnbackend.errors import UsageError

if TYPE_CHECKING:
    from learnbackend.context import Environment
    from learnbackend.workspace.checking import CheckReport, Outcome


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot write the report to {path}: {exc.strerror}.", fix="Choose a writable path for the report.") from None


def _text(report: CheckReport) -> str:
    from rich.console import Console

    from learnbackend.ui.console import THEME
    from learnbackend.workspace import render

    console = Console(record=True, width=100, theme=THEME, no_color=True, file=io.StringIO())
    render.check_report(SimpleNamespace(out=console), report)  # type: ignore[arg-type]
    # A report file carries no padding: every line ends at its last character.
    return "\n".join(line.rstrip() for line in console.export_text().splitlines()) + "\n"


def stream_outcome(env: Environment) -> Callable[[Outcome], None]:
    """Print each exercise's result as soon as it is checked (the text report, line by line)."""
    from learnbackend.workspace import render

    def show(outcome: Outcome) -> None:
        for line in render.outcome_lines(outcome, verbose=False):
            env.out.print(line)

    return show


def emit_report(env: Environment, report: CheckReport, *, format: str, output: Path | None,
                json_file: Path | None, junit_file: Path | None) -> None:
    """Print/write the report: ``format`` to ``output`` or stdout (a text summary on stdout when a file is written)."""
    from learnbackend.workspace import render, reports

    builders = {"json": reports.to_json, "junit": reports.to_junit, "text": _text}
    if json_file is not None:
        _write(json_file, reports.to_json(report))
    if junit_file is not None:
        _write(junit_file, reports.to_junit(report))
    if output is not None:
        _write(output, builders[format](report))
        render.summary(env, report)
    elif format == "text":
        render.summary(env, report)
    else:
        sys.stdout.write(builders[format](report))
        sys.stdout.flush()
