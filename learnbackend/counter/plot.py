"""A small terminal scatter/line plot built with Rich text (no plotting dependency)."""

from __future__ import annotations

import itertools
import math
from typing import Any

MARKERS = ["●", "▲", "■", "◆", "✚", "○", "△", "□", "◇", "✕"]
SHARED = "✱"  # several series' points in one cell
COLORS = ["cyan", "magenta", "yellow", "green", "red", "blue", "bright_white", "bright_cyan", "bright_magenta", "white"]


def _fmt(v: float) -> str:
    if abs(v) >= 10_000:
        return f"{v / 1000:,.0f}k"
    if abs(v) >= 100 or v == int(v):
        return f"{v:,.0f}"
    return f"{v:.2g}"


def render_plot(plot: Any, width: int = 56, height: int = 12) -> Any:
    """A Rich Text: points of every series on one grid, y axis on the left, legend below."""
    from rich.text import Text

    xs = [p[0] for s in plot.series for p in s.points]
    ys = [p[1] for s in plot.series for p in s.points]
    if not xs:
        return Text("(no data to plot)")
    fx = (lambda v: math.log10(max(v, 1e-9))) if plot.log_x else (lambda v: v)
    x0, x1 = min(fx(x) for x in xs), max(fx(x) for x in xs)
    y0, y1 = min(0.0, min(ys)), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1
    grid: list[list[tuple[str, str] | None]] = [[None] * width for _ in range(height)]
    cells: list[list[tuple[int, int, float]]] = []  # per series: (col, row, x) of each point
    for series in plot.series:
        cells.append([(round((fx(x) - x0) / (x1 - x0) * (width - 1)),
                       height - 1 - round((y - y0) / (y1 - y0) * (height - 1)), x) for x, y in series.points])
    for si, points in enumerate(cells):  # the faint lines first: a line never covers a point
        color = COLORS[si % len(COLORS)]
        for (c0, r0, _), (c1, r1, _) in itertools.pairwise(points):
            steps = max(abs(c1 - c0), 1)
            for k in range(1, steps):
                c, r = c0 + (c1 - c0) * k // steps, r0 + round((r1 - r0) * k / steps)
                if grid[r][c] is None:
                    grid[r][c] = ("·", color)
    owners: dict[tuple[int, int], list[int]] = {}
    where: dict[tuple[int, int], float] = {}
    for si, points in enumerate(cells):
        for col, row, x in points:
            owners.setdefault((row, col), [])
            if si not in owners[(row, col)]:
                owners[(row, col)].append(si)
            where[(row, col)] = x
    met: list[tuple[float, list[int]]] = []
    for (row, col), series_here in owners.items():
        if len(series_here) == 1:
            si = series_here[0]
            grid[row][col] = (MARKERS[si % len(MARKERS)], COLORS[si % len(COLORS)])
        else:  # points of several series in one cell: one mark that says so, never one hiding the others
            grid[row][col] = (SHARED, "bold")
            met.append((where[(row, col)], series_here))
    label_w = max(len(_fmt(y1)), len(_fmt(y0)), len(plot.y_label)) + 1
    text = Text()
    text.append(f"{plot.title}\n", style="bold")
    text.append(f"{plot.y_label:>{label_w}}\n", style="dim")
    for r, line in enumerate(grid):
        label = _fmt(y1) if r == 0 else _fmt(y0) if r == height - 1 else _fmt((y0 + y1) / 2) if r == height // 2 else ""
        text.append(f"{label:>{label_w}} │", style="dim")
        while line and line[-1] is None:  # no trailing spaces in a file or a pipe
            line = line[:-1]
        for cell in line:
            if cell is None:
                text.append(" ")
            else:
                text.append(cell[0], style=cell[1])
        text.append("\n")
    text.append(" " * label_w + " └" + "─" * width + "\n", style="dim")
    lo, hi = (10 ** x0, 10 ** x1) if plot.log_x else (x0, x1)
    axis = f"{_fmt(lo)}{' ' * (width - len(_fmt(lo)) - len(_fmt(hi)))}{_fmt(hi)}"
    text.append(" " * (label_w + 2) + axis + "\n", style="dim")
    text.append(" " * (label_w + 2) + plot.x_label + (" (log scale)" if plot.log_x else "") + "\n", style="dim")
    for si, series in enumerate(plot.series):
        text.append(f"  {MARKERS[si % len(MARKERS)]} ", style=COLORS[si % len(COLORS)])
        text.append(series.name + "\n")
    if met:  # where series coincide, said in words: no series is hidden without the legend saying so
        text.append(f"  {SHARED} ", style="bold")
        text.append("series that meet in one cell:\n")
        by_x: dict[float, list[str]] = {}
        for x, names in sorted(met, key=lambda m: (m[0], m[1])):
            together = ("all of them" if len(names) == len(plot.series) > 2
                        else ", ".join(plot.series[si].name for si in sorted(names)))
            by_x.setdefault(x, []).append(together)
        for x, groups in by_x.items():
            text.append(f"    at {_fmt(x)}: " + " · ".join(groups) + "\n", style="dim")
    return text
