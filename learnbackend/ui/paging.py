"""Long text on a terminal, one screenful at a time: nothing scrolls off an 80x24 screen unread.

Piped or redirected, everything is printed at once (no prompt ever waits on a pipe).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.segment import Segment

    from learnbackend.context import Environment


def print_paged(env: Environment, renderables: list[Any], *, width: int | None = None,
                more: str = "Press a key for more… ") -> None:
    """Print ``renderables``; on a terminal, pause with ``more`` before a screenful would scroll away.

    A block that fits on one screen is never split; a longer one breaks at a blank line where it can.
    """
    console = env.out
    if not env.interactive:
        for renderable in renderables:
            console.print(renderable, width=width)
        return
    options = console.options if width is None else console.options.update_width(min(width, console.width))
    page = max(console.height - 1, 5)  # the last line is for the prompt
    pages: list[list[list[Segment]]] = [[]]
    for renderable in renderables:
        lines = console.render_lines(renderable, options, pad=False)
        if pages[-1] and len(pages[-1]) + len(lines) > page and len(lines) <= page:
            pages.append([])  # starts a screen of its own rather than being cut in two
        for line in lines:
            if len(pages[-1]) >= page:
                pages.append(_carry_from_blank(pages[-1]))
            pages[-1].append(line)
    _show(env, [p for p in pages if p], more)


def _carry_from_blank(full: list[list[Segment]]) -> list[list[Segment]]:
    """Move the lines after the last blank line of the page's second half onto the next page."""
    for i in range(len(full) - 1, len(full) // 2, -1):
        if not "".join(segment.text for segment in full[i]).strip():
            carried = full[i + 1:]
            del full[i + 1:]
            return carried
    return []


def _show(env: Environment, pages: list[list[list[Segment]]], more: str) -> None:
    from rich.segment import Segment, Segments

    from learnbackend.roadmap.play import press_any_key

    console = env.out
    for number, lines in enumerate(pages):
        if number:
            press_any_key(more)
            console.file.write("\x1b[1A\x1b[2K")  # the prompt's line goes: the text reads on without it
        console.print(Segments([segment for line in lines for segment in (*line, Segment.line())]), end="")
