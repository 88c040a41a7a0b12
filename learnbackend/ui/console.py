"""Rich consoles with the course's theme."""

from __future__ import annotations

import os

from rich.console import Console
from rich.theme import Theme

THEME = Theme(
    {
        "ok": "bold green",
        "fail": "bold red",
        "warn": "yellow",
        "muted": "dim",
        "title": "bold cyan",
        "key": "bold magenta",
        "code": "cyan",
        "error": "bold red",
        "skip": "yellow",
    }
)


def make_console(*, stderr: bool = False, width: int | None = None) -> Console:
    """A console for stdout or stderr; ``LEARNBACKEND_WIDTH`` fixes the width (tests)."""
    env_width = os.environ.get("LEARNBACKEND_WIDTH")
    if width is None and env_width and env_width.isdigit():
        width = int(env_width)
    return Console(stderr=stderr, theme=THEME, width=width, highlight=False, soft_wrap=False)
