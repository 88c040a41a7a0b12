"""Rich consoles with the course's theme."""

from __future__ import annotations

import os
import sys
from typing import IO, cast

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


class TrimmedStream:
    """stdout or stderr, as it is at each write, without the spaces Rich pads lines with when piped.

    Tables and wrapped text are padded to the console width; in a file or a CI log those
    trailing spaces are noise (``cat -A`` shows them). On a terminal nothing is changed, since
    live displays redraw lines in place.
    """

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._pending = ""

    @property
    def _target(self) -> IO[str]:
        return sys.stderr if self._stderr else sys.stdout

    def write(self, text: str) -> int:
        target = self._target
        if target.isatty():
            if self._pending:
                target.write(self._pending)
                self._pending = ""
            return target.write(text)
        lines = (self._pending + text).split("\n")
        last = lines.pop()
        trimmed = last.rstrip(" ")
        # Spaces at the very end may still be followed by text in the next write: keep them back.
        self._pending = last[len(trimmed):]
        out = "".join(line.rstrip(" ") + "\n" for line in lines) + trimmed
        if out:
            target.write(out)
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._target, "encoding", None) or "utf-8"


def make_console(*, stderr: bool = False, width: int | None = None) -> Console:
    """A console for stdout or stderr; ``LEARNBACKEND_WIDTH`` fixes the width (tests).

    When the stream is not a terminal, lines carry no trailing spaces (see :class:`TrimmedStream`).
    """
    env_width = os.environ.get("LEARNBACKEND_WIDTH")
    if width is None and env_width and env_width.isdigit():
        width = int(env_width)
    return Console(file=cast("IO[str]", TrimmedStream(stderr=stderr)), stderr=stderr, theme=THEME, width=width, highlight=False,
                   soft_wrap=False)
