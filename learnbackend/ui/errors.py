"""Rendering of user-facing errors and warnings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:
    from learnbackend.context import Environment
    from learnbackend.errors import LearnBackendError


def render_error(env: Environment, exc: LearnBackendError) -> None:
    """``Error: message`` on stderr, then what to do about it."""
    text = Text("Error: ", style="error")
    text.append(exc.message)
    env.err.print(text, soft_wrap=True)
    if exc.fix:
        env.err.print(Text("  → " + exc.fix, style="warn"), soft_wrap=True)


def render_internal_error(env: Environment, exc: BaseException) -> None:
    env.err.print(Text(f"Internal error: {type(exc).__name__}: {exc}", style="error"))
    env.err.print(Text("  → This is a bug in learnbackend. Run again with --debug for the traceback and report it.", style="warn"))


def render_warnings(env: Environment, warnings: list[str]) -> None:
    for warning in warnings:
        env.err.print(Text("Warning: " + warning, style="warn"), soft_wrap=True)
