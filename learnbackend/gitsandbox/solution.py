"""The solution format: one command per line, as recorded in `git shell` and replayed by CI.

A solution is plain text that a person can read and write::

    # comments and blank lines are ignored
    git add notes.md
    git commit -m "Add notes"
    write config.py 'TIMEOUT = 60\\n'
    append notes.md 'one more line\\n'
    delete old.txt

Lines are split like a shell would split them (``shlex``), but nothing is ever
run by a shell. In the text of ``write``/``append``, ``\\n``, ``\\t``, ``\\r`` and
``\\\\`` stand for a newline, a tab, a carriage return and a backslash.

This module imports only the standard library: the recorder wrapper loads it on
every git command the learner types.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

#: The operations a solution may contain; everything else is refused.
OPERATIONS = ("git", "write", "append", "delete")

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


class SolutionSyntaxError(ValueError):
    """A line of a solution cannot be read."""

    def __init__(self, line_no: int, message: str) -> None:
        super().__init__(f"line {line_no}: {message}")
        self.line_no = line_no
        self.reason = message


@dataclass(frozen=True)
class Command:
    """One step of a solution: ``git ARGS`` or a file operation."""

    line_no: int
    op: str
    args: tuple[str, ...]

    @property
    def text(self) -> str:
        """The file text of a write/append (already unescaped)."""
        return self.args[1] if len(self.args) > 1 else ""

    def to_line(self) -> str:
        """The command as one solution line (the inverse of :func:`parse_line`)."""
        if self.op in ("write", "append"):
            return f"{self.op} {shlex.quote(self.args[0])} {shlex.quote(escape_text(self.text))}"
        return " ".join([self.op, *(shlex.quote(a) for a in self.args)])


def escape_text(text: str) -> str:
    """Encode file text so that it fits on one line."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def unescape_text(text: str) -> str:
    """Decode ``\\n``, ``\\t``, ``\\r`` and ``\\\\``; any other backslash stays as it is."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in _ESCAPES:
            out.append(_ESCAPES[text[i + 1]])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def parse_line(line: str, line_no: int = 1) -> Command | None:
    """One command, or None for a blank line or a comment."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    try:
        words = shlex.split(stripped, comments=False, posix=True)
    except ValueError as exc:
        raise SolutionSyntaxError(line_no, f"cannot split {stripped!r}: {exc}") from None
    op, args = words[0], words[1:]
    if op not in OPERATIONS:
        raise SolutionSyntaxError(
            line_no, f"{op!r} is not allowed; a solution may only use: {', '.join(OPERATIONS)} (no shell commands)"
        )
    if op in ("write", "append"):
        if len(args) != 2:
            raise SolutionSyntaxError(line_no, f"{op} takes a path and a text: {op} PATH 'TEXT'")
        args = [args[0], unescape_text(args[1])]
    elif op == "delete" and len(args) != 1:
        raise SolutionSyntaxError(line_no, "delete takes exactly one path: delete PATH")
    elif op == "git" and not args:
        raise SolutionSyntaxError(line_no, "git needs a subcommand, e.g. git status")
    return Command(line_no, op, tuple(args))


def parse_solution(text: str) -> list[Command]:
    """Every command of a solution text, in order."""
    commands = []
    for line_no, line in enumerate(text.splitlines(), 1):
        command = parse_line(line, line_no)
        if command is not None:
            commands.append(command)
    return commands


def format_solution(commands: list[Command], header: str = "") -> str:
    """A solution text (with an optional comment header)."""
    lines = [f"# {h}" if h else "#" for h in header.splitlines()] if header else []
    lines.extend(c.to_line() for c in commands)
    return "\n".join(lines) + "\n"
