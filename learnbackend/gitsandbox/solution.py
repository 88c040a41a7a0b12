"""The solution format: one command per line, as recorded in `git shell` and replayed by CI.

A solution is plain text that a person can read and write::

    # comments and blank lines are ignored
    git add notes.md
    git commit -m "Add notes"
    write config.py 'TIMEOUT = 60\\n'
    append notes.md 'one more line\\n'
    delete old.txt

Lines are split like a shell would split them (the rules of ``shlex.split``, by a
tokenizer linear in the line's length), but nothing is ever run by a shell. A
solution is bounded: at most :data:`MAX_SOLUTION_CHARS` characters,
:data:`MAX_LINE_CHARS` per line and :data:`MAX_COMMANDS` commands; a NUL
character is refused (no program can receive one in an argument).

In the text of ``write``/``append``, ``\\n``, ``\\t``, ``\\r`` and ``\\\\`` stand
for a newline, a tab, a carriage return and a backslash.

This module imports only the standard library: the recorder wrapper loads it on
every git command the learner types.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

#: The operations a solution may contain; everything else is refused.
OPERATIONS = ("git", "write", "append", "delete")

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


#: Bounds of a solution file: a hand-written or recorded solution is a few kilobytes.
MAX_SOLUTION_CHARS = 512 * 1024
MAX_LINE_CHARS = 64 * 1024
MAX_COMMANDS = 2000

_WHITESPACE = " \t\r\n"
# A regex search stops at the first match, so every character is scanned once.
_WORD_STOP = re.compile(r"[ \t\r\n'\"\\]")
_QUOTED_STOP = re.compile(r'["\\]')


class SolutionSyntaxError(ValueError):
    """A line of a solution (or the whole solution, ``line_no`` 0) cannot be read."""

    def __init__(self, line_no: int, message: str) -> None:
        super().__init__(f"line {line_no}: {message}" if line_no else message)
        self.line_no = line_no
        self.reason = message


def split_words(line: str) -> list[str]:
    """``shlex.split(line)`` (POSIX rules, no comments), in time linear in ``len(line)``.

    ``shlex`` appends to its token one character at a time (quadratic on a long
    quoted text); this builds each word from slices. Raises ``ValueError`` with
    shlex's messages for an unclosed quote or a trailing backslash.
    """
    words: list[str] = []
    parts: list[str] = []
    in_word = False
    i, end = 0, len(line)
    while i < end:
        char = line[i]
        if char in _WHITESPACE:
            if in_word:
                words.append("".join(parts))
                parts, in_word = [], False
            i += 1
        elif char == "'":
            close = line.find("'", i + 1)
            if close < 0:
                raise ValueError("No closing quotation")
            parts.append(line[i + 1:close])
            in_word, i = True, close + 1
        elif char == '"':
            i += 1
            while True:
                found = _QUOTED_STOP.search(line, i)
                if found is None:
                    raise ValueError("No closing quotation")
                stop = found.start()
                parts.append(line[i:stop])
                if line[stop] == '"':
                    i = stop + 1
                    break
                if stop + 1 >= end:
                    raise ValueError("No escaped character")
                escaped = line[stop + 1]
                # Inside double quotes a backslash escapes only " and itself; elsewhere it stays.
                parts.append(escaped if escaped in '"\\' else "\\" + escaped)
                i = stop + 2
            in_word = True
        elif char == "\\":
            if i + 1 >= end:
                raise ValueError("No escaped character")
            parts.append(line[i + 1])
            in_word, i = True, i + 2
        else:
            found = _WORD_STOP.search(line, i)
            stop = end if found is None else found.start()
            parts.append(line[i:stop])
            in_word, i = True, stop
    if in_word:
        words.append("".join(parts))
    return words


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
    if len(line) > MAX_LINE_CHARS:
        raise SolutionSyntaxError(line_no, f"the line is {len(line)} characters long; a solution line may have at most "
                                  f"{MAX_LINE_CHARS} (write long files in several `append` lines)")
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    if "\0" in stripped:
        raise SolutionSyntaxError(line_no, "it contains a NUL character (\\0), which no command can receive")
    try:
        words = split_words(stripped)
    except ValueError as exc:
        shown = stripped if len(stripped) <= 80 else stripped[:77] + "..."
        raise SolutionSyntaxError(line_no, f"cannot split {shown!r}: {exc}") from None
    if not words:
        return None
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
    """Every command of a solution text, in order; :class:`SolutionSyntaxError` past the bounds."""
    if len(text) > MAX_SOLUTION_CHARS:
        raise SolutionSyntaxError(0, f"the solution is {len(text)} characters long; the limit is {MAX_SOLUTION_CHARS}")
    commands = []
    for line_no, line in enumerate(text.splitlines(), 1):
        command = parse_line(line, line_no)
        if command is not None:
            commands.append(command)
            if len(commands) > MAX_COMMANDS:
                raise SolutionSyntaxError(line_no, f"a solution may have at most {MAX_COMMANDS} commands")
    return commands


def format_solution(commands: list[Command], header: str = "") -> str:
    """A solution text (with an optional comment header)."""
    lines = [f"# {h}" if h else "#" for h in header.splitlines()] if header else []
    lines.extend(c.to_line() for c in commands)
    return "\n".join(lines) + "\n"
