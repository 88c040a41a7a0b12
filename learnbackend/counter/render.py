"""Rich rendering of the counter lab's results (engines return data; this draws it)."""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

REFERENCE = [
    "Netflix Distributed Counter: ~75K count requests/s globally, single-digit ms latency",
    "Redis INCR: about 116-137K req/s without pipelining on one server (published benchmarks)",
    "EVCache: about 125K ops/s per instance",
    "Firestore: about 1 sustained write/s per document (why shards exist)",
]


_FIGURE = re.compile(r"^[+\-−±~≈]?[\d.,]+\s*(%|ms|s|x|×|MiB|KiB)?$")


def _is_figure(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) or bool(_FIGURE.match(str(value).strip()))


def table(columns: list[str], rows: list[list[Any]], title: str | None = None) -> Table:
    """Figures right-aligned; a column of words (design names, yes/no, types) left-aligned."""
    t = Table(title=title, header_style="bold", show_lines=False)
    for i, col in enumerate(columns):
        cells = [row[i] for row in rows if i < len(row) and str(row[i]).strip() not in ("", "-", "—")]
        numeric = i > 0 and any(_is_figure(v) for v in cells)
        t.add_column(escape(col), justify="right" if numeric or (i > 0 and not cells) else "left")
    for row in rows:
        t.add_row(*[escape(f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)) for v in row])
    return t


def render_experiment(env: Any, result: Any) -> None:
    """Table, plot, explanation and the reference numbers."""
    from learnbackend.counter.plot import render_plot

    out = env.out
    out.print(f"[bold]{result.id}[/bold] {escape(result.title)}  [dim]seed {result.params.get('seed')}, "
              f"scale {result.params.get('scale')}[/dim]")
    out.print(table(result.columns, result.rows))
    if result.plot is not None:
        out.print(render_plot(result.plot))
    for note in result.notes:
        env.err.print(f"[yellow]note:[/yellow] {escape(note)}")
    out.print(Panel(escape(result.explanation), title="what you just saw", title_align="left", border_style="green"))
    out.print(f"[dim]{DESIGN_DOC} says: {escape(result.shows)}[/dim]")


#: The lab's design notes and experiment list, shipped with the lessons (also in the wheel).
DESIGN_DOC = "lessons/counter/DESIGN.md"


def render_experiment_list(env: Any, experiments: dict[str, Any]) -> None:
    t = Table(header_style="bold")
    t.add_column("id")
    t.add_column("experiment")
    t.add_column("what it should show")
    for info in experiments.values():
        t.add_row(info.id, escape(info.title), escape(info.shows))
    env.out.print(t)
    env.out.print("[dim]Run one: learnbackend counter experiment E2   (--scale 3 runs longer, --json for raw figures)[/dim]")


def render_load_report(env: Any, report: Any) -> None:
    out = env.out
    out.print(f"[bold]load report[/bold]  {escape(report.url)} · {report.concurrency} clients · {report.counters} counters"
              f" · key skew {report.skew:g}")
    t = table(["figure", "value"], [
        ["requests sent", report.sent], ["acknowledged", report.acked], ["errors", report.errors],
        ["retries", report.retries], ["duration s", f"{report.elapsed:.2f}"], ["throughput req/s", f"{report.throughput:,.0f}"],
        ["p50 ms", f"{report.p50_ms:.2f}"], ["p99 ms", f"{report.p99_ms:.2f}"], ["max ms", f"{report.max_ms:.2f}"],
        ["increments acked", report.acked_increments], ["count reported", report.counted],
    ])
    out.print(t)
    if report.error_kinds:
        out.print(table(["error", "count"], [[k, v] for k, v in sorted(report.error_kinds.items())], title="errors"))
    verdict = ("[green]exact[/green]" if report.counted == report.acked_increments
               else f"[yellow]differs by {report.counted - report.acked_increments:+,}[/yellow] (rollup lag or lost acks)")
    out.print(f"count vs acknowledged increments: {verdict}")


def load_dashboard(snapshot: Any) -> Any:
    """One frame of the live dashboard."""
    from rich.console import Group
    from rich.progress_bar import ProgressBar

    t = Table.grid(padding=(0, 3))
    for _ in range(6):
        t.add_column(justify="right")
    t.add_row("[dim]req/s[/dim]", "[dim]p50 ms[/dim]", "[dim]p99 ms[/dim]", "[dim]acked[/dim]", "[dim]errors[/dim]",
              "[dim]in flight[/dim]")
    t.add_row(f"[bold cyan]{snapshot.rate:,.0f}[/bold cyan]", f"{snapshot.p50_ms:.2f}", f"{snapshot.p99_ms:.2f}",
              f"{snapshot.acked:,}", f"[red]{snapshot.errors:,}[/red]" if snapshot.errors else "0",
              f"{snapshot.in_flight}")
    bar = Table.grid(padding=(0, 2))
    bar.add_row(ProgressBar(total=snapshot.duration, completed=min(snapshot.elapsed, snapshot.duration), width=50),
                f"[dim]{snapshot.elapsed:.1f}/{snapshot.duration:g} s · Ctrl-C stops[/dim]")
    return Panel(Group(t, "", _sparkline(snapshot.history), bar), title="counter load", title_align="left",
                 border_style="cyan", expand=False)


def _sparkline(values: list[float]) -> str:
    if not values:
        return ""
    blocks = "▁▂▃▄▅▆▇█"
    top = max(values) or 1
    return "[cyan]" + "".join(blocks[min(7, int(v / top * 7))] for v in values[-60:]) + "[/cyan]  [dim]req/s, last 60 ticks[/dim]"


def render_chaos(env: Any, report: Any) -> None:
    out = env.out
    faults = report.rows[0].faults if report.rows else ""
    out.print(f"[bold]chaos[/bold]: {report.increments} increments per design, seed {report.seed}")
    out.print(f"[dim]faults, all at once: {escape(faults)}; the client retries with the same token until acknowledged[/dim]")
    t = table(["design", "acknowledged", "count reported", "error", "kill -9", "late, refused"],
              [[r.design, r.acknowledged, r.reported, f"{r.reported - r.acknowledged:+,}", r.kills, r.refused]
               for r in report.rows])
    out.print(t)
    for note in report.notes:
        out.print(f"[dim]{escape(note)}[/dim]")


def render_predictions(env: Any, predictions: list[Any]) -> None:
    """After the run: each prediction, whether it held, and why."""
    out = env.out
    right = sum(p.correct for p in predictions)
    out.print(f"\n[bold]Your predictions: {right} of {len(predictions)} held.[/bold]")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=2)
    grid.add_column()
    for p in predictions:
        mark = "[green]✓[/green]" if p.correct else "[red]✗[/red]"
        grid.add_row(mark, escape(" ".join(p.prompt.split())))
        grid.add_row("", f"you said: {escape(p.chosen)}")
        if not p.correct:
            grid.add_row("", f"[green]measured:[/green] {escape(p.answer)}")
        grid.add_row("", f"[dim]{escape(' '.join(p.explanation.split()))}[/dim]")
        grid.add_row("", "")
    out.print(grid)
