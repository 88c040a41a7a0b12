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
    """A stream that is not a terminal, without the spaces Rich pads lines with.

    Tables and wrapped text are padded to the console width; in a file or a CI log those
    trailing spaces are noise (``cat -A`` shows them). The stream is fixed when the console is
    made: a live display redirects ``sys.stdout`` to the console itself, which must not loop.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        last = lines.pop()
        trimmed = last.rstrip(" ")
        # Spaces at the very end may still be followed by text in the next write: keep them back.
        self._pending = last[len(trimmed):]
        out = "".join(line.rstrip(" ") + "\n" for line in lines) + trimmed
        if out:
            self._stream.write(out)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"


def make_console(*, stderr: bool = False, width: int | None = None) -> Console:
    """A console for stdout or stderr; ``LEARNBACKEND_WIDTH`` fixes the width (tests).

    When the stream is not a terminal, lines carry no trailing spaces (see :class:`TrimmedStream`).
    """
    env_width = os.environ.get("LEARNBACKEND_WIDTH")
    if width is None and env_width and env_width.isdigit():
        width = int(env_width)
    stream = sys.stderr if stderr else sys.stdout
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    file = None if terminal else cast("IO[str]", TrimmedStream(stream))
    return Console(file=file, stderr=stderr, theme=THEME, width=width, highlight=False, soft_wrap=False)
