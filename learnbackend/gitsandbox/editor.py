"""A beginner-safe editor for commit and merge messages in `learnbackend git shell`.

`git commit` without `-m` (and `git pull` making a merge) opens an editor; on most machines
that is vi, which traps newcomers. In the level's shell git uses this one instead, unless the
learner chose an editor (GIT_EDITOR, VISUAL or EDITOR): it asks for the message line by line
on the terminal. Usage (git runs it): ``python -m learnbackend.gitsandbox.editor FILE``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


def _proposed(text: str) -> list[str]:
    """The message git proposes (e.g. "Merge branch 'main'..."), without its comment lines."""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def edit(path: Path, *, read_line: Callable[[str], str] = input, write: Callable[[str], None] = print) -> int:
    """Ask for the message and write it to ``path``; 0 on success, 1 when cancelled (git then aborts)."""
    proposed = _proposed(path.read_text(encoding="utf-8", errors="replace"))
    write("")
    if proposed:
        write("git proposes this message:")
        for line in proposed:
            write(f"  {line}")
        write("Press Enter to keep it, or type your own message (an empty line ends it).")
    else:
        write("Type the commit message; an empty line ends it. Ctrl-C cancels the commit.")
    lines: list[str] = []
    try:
        while True:
            line = read_line("> " if not lines else "  ")
            if not line.strip():
                break
            lines.append(line.rstrip())
    except (KeyboardInterrupt, EOFError):
        write("\nCancelled: nothing was committed.")
        path.write_text("", encoding="utf-8")
        return 1
    message = lines or proposed
    path.write_text("\n".join(message) + "\n" if message else "", encoding="utf-8")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m learnbackend.gitsandbox.editor FILE", file=sys.stderr)
        return 2
    return edit(Path(argv[0]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
