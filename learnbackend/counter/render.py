"""Rich rendering of the counter lab's results (engines return data; this draws it)."""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

REFERENCE = [
    "Netflix Distributed Counter: ~75K count requests/s globally, single-digit ms latency",
    "Redis INCR: about 116-137K req/s without pipelining on one server (published benchmarks)",
    "EVCache: about 125K ops/s per instance",
    "Firestore: about 1 sustained write/s per document (why shards exist)",
]


_FIGURE = re.compile(r"^[+\-−±~≈]?[\d.,]+\s*(%|ms|s|x|×|MiB|KiB)?$")


def _is_figure(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) or bool(_FIGURE.match(str(value).strip()))


def table(columns: list[str], rows: list[list[Any]], title: str | None = None) -> Any:
    """Figures right-aligned; a column of words (design names, yes/no, types) left-aligned.

    Laid out for the width it is printed at: when the natural widths do not fit, headers and
    words wrap at spaces (never inside a word) and figures never wrap.
    """
    return _FitTable(columns, rows, title)


class _FitTable:
    def __init__(self, columns: list[str], rows: list[list[Any]], title: str | None) -> None:
        self.columns, self.title = columns, title
        self.rows = [[f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v) for v in row]
                     for row in rows]

    def widths(self, available: int, pad: int = 2) -> list[int] | None:
        """Column widths for ``available`` columns with ``pad`` spaces of padding per cell; None if even
        the longest word of each column does not fit."""
        n = len(self.columns)
        budget = available - pad * n - (n - 1)  # the padding, and one separator between columns
        natural, least = [], []
        for i, col in enumerate(self.columns):
            cells = [row[i] for row in self.rows if i < len(row)]
            natural.append(max([len(col), *map(len, cells)]))
            words = [w for text in [col, *cells] for w in text.split()] or [""]
            figures = [c for c in cells if _is_figure(c)]
            least.append(max([max(map(len, words)), *map(len, figures)]))
        if sum(natural) <= budget:
            return natural
        if sum(least) > budget:
            return None
        widths = list(least)
        for i in range(n):  # a column narrower than its share keeps its natural width (labels do not wrap)
            if natural[i] <= budget // n and sum(widths) - widths[i] + natural[i] <= budget:
                widths[i] = natural[i]
        while sum(widths) < budget:  # the room left goes to the column that is squeezed most
            i = max(range(n), key=lambda k: natural[k] - widths[k])
            if natural[i] <= widths[i]:
                break
            widths[i] += 1
        return widths

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich import box

        # A light frame (a rule under the header, no side walls): at 80 columns the cells get the room.
        # Many columns: one space between cells instead of three, before a word is ever cut.
        padding: tuple[int, int] | tuple[int, int, int, int] = (0, 1)
        widths = self.widths(options.max_width)
        if widths is None:
            padding, widths = (0, 1, 0, 0), self.widths(options.max_width, pad=1)
        t = Table(title=self.title, header_style="bold", show_lines=False, box=box.SIMPLE_HEAD, show_edge=False,
                  title_justify="left", padding=padding)
        for i, col in enumerate(self.columns):
            cells = [row[i] for row in self.rows if i < len(row) and row[i].strip() not in ("", "-", "—")]
            numeric = i > 0 and any(_is_figure(v) for v in cells)
            t.add_column(escape(col), justify="right" if numeric or (i > 0 and not cells) else "left",
                         width=widths[i] if widths else None, overflow="fold")
        for row in self.rows:
            t.add_row(*map(escape, row))
        yield t


def render_experiment(env: Any, result: Any, predictions: list[Any] | None = None) -> None:
    """Table, plot, explanation and the reference numbers, then the verdict on each prediction.

    On a terminal a screenful at a time, the table and the plot on a screen of their own: the
    verdicts would otherwise push them off an 80x24 screen before they are read.
    """
    from learnbackend.counter.plot import render_plot
    from learnbackend.ui.paging import print_paged

    shown: list[Any] = [Text.from_markup(f"[bold]{result.id}[/bold] {escape(result.title)}  [dim]seed "
                                         f"{result.params.get('seed')}, scale {result.params.get('scale')}[/dim]"),
                        table(result.columns, result.rows)]
    if result.plot is not None:
        shown.append(render_plot(result.plot))
    for note in result.notes:
        if env.interactive:  # the same screen: paged with the rest
            shown.append(Text.from_markup(f"[yellow]note:[/yellow] {escape(note)}"))
        else:
            env.err.print(f"[yellow]note:[/yellow] {escape(note)}")
    shown.append(Panel(escape(result.explanation), title="what you just saw", title_align="left", border_style="green"))
    shown.append(Text(f"The lab's reference (learnbackend counter learn --design) says: {result.shows}", style="dim"))
    if predictions:
        shown += prediction_renderables(predictions)
    print_paged(env, shown, more="Press a key for the rest… ")


def render_experiment_list(env: Any, experiments: dict[str, Any], ran: set[str] | frozenset[str] = frozenset()) -> None:
    t = Table(header_style="bold")
    t.add_column("id")
    t.add_column("run", justify="center")
    t.add_column("experiment")
    t.add_column("what it should show")
    for info in experiments.values():
        t.add_row(info.id, "[green]✓[/green]" if info.id in ran else "", escape(info.title), escape(info.shows))
    env.out.print(t)
    env.out.print(f"[dim]{len(ran)} of {len(experiments)} run. New here? `learnbackend counter learn` first (Netflix's "
                  "design, with a picture); `learnbackend counter next` opens the next one with its prediction; "
                  "`learnbackend counter experiment E2` runs one (--scale 3 runs longer, --json for raw figures).[/dim]")


def render_load_report(env: Any, report: Any) -> None:
    out = env.out
    out.print(f"[bold]load report[/bold]  {escape(report.url)} · {report.concurrency} clients · {report.counters} counters"
              f" · key skew {report.skew:g}")
    if getattr(report, "interrupted", False):
        out.print(f"[yellow]stopped with Ctrl-C after {report.elapsed:.1f} s: the figures cover the part that ran[/yellow]")
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
    for renderable in prediction_renderables(predictions):
        env.out.print(renderable)


def prediction_renderables(predictions: list[Any]) -> list[Any]:
    """The verdicts: a heading, then one block per prediction (a page never cuts one in two)."""
    right = sum(p.correct for p in predictions)
    shown: list[Any] = [Text.from_markup(f"\n[bold]Your predictions: {right} of {len(predictions)} held.[/bold]")]
    for p in predictions:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=2)
        grid.add_column()
        mark = "[green]✓[/green]" if p.correct else "[red]✗[/red]"
        grid.add_row(mark, escape(" ".join(p.prompt.split())))
        grid.add_row("", f"you said: {escape(p.chosen)}")
        if not p.correct:
            grid.add_row("", f"[green]measured:[/green] {escape(p.answer)}")
        grid.add_row("", f"[dim]{escape(' '.join(p.explanation.split()))}[/dim]")
        grid.add_row("", "")
        shown.append(grid)
    return shown


# --- teaching pictures: the four layers, an experiment's concept, a window on a time line ----------

def _n(value: Any) -> str:
    return "?" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    return f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def layers_picture(snap: Any, width: int = 80) -> Any:
    """Netflix's four layers top to bottom, each with the lab's figures: measured (green) or example (yellow)."""
    from rich.console import Group
    from rich.text import Text

    tag = ("measured ", "bold green") if snap.measured else ("example  ", "bold yellow")

    def lab(line: str) -> Text:
        return Text.assemble(tag, line)

    def note(line: str) -> Text:
        return Text.assemble(("lab      ", "bold"), line)

    def layer(number: int, title: str, netflix: str, lines: list[Text]) -> Panel:
        body = Group(Text.assemble(("Netflix  ", "bold cyan"), (netflix, "")), *lines)
        arrow = "▼ " if number > 1 else ""
        return Panel(body, title=f"[bold]{arrow}{number} · {escape(title)}[/bold]", title_align="left", width=width,
                     border_style="cyan", padding=(0, 1))

    ns = ", ".join(str(n.get("name")) for n in snap.namespaces[:4]) or "none"
    where = snap.url.removeprefix("http://")
    api = [lab(f"{where} pid {snap.pid} · namespaces {ns}" if snap.measured else f"{where} · namespaces {ns}")]
    log = [lab(f"{_n(snap.events)} events · {_n(snap.counters)} counters · {_n(snap.time_buckets)} time × "
               f"{_n(snap.event_buckets)} event buckets")]
    rollup = [lab(f"{_n(snap.unrolled_events)} events in {_n(snap.counters_behind)} counters await a rollup · "
                  f"newest {_age(snap.newest_checkpoint_age_s)} ago")]
    eventual = next((n for n in snap.namespaces if n.get("type") != "best_effort"), None)
    if eventual:
        rollup.append(note(f"window: now − acceptLimit {eventual.get('accept_limit_s')} s − margin "
                           f"{eventual.get('skew_margin_s')} s (margin: lab's)"))
    rollup.append(Text("queued triggers live in the service's memory, as at Netflix: not exposed"
                       + (f" ({snap.trigger_rows} trigger rows for a rollup process)" if snap.trigger_rows else ""),
                       style="dim"))
    cache = [lab(f"GetCount {_short(f'{c.namespace}/{c.counter}', 36)} → {c.count:,} "
                 f"({_age(c.checkpoint_age_s)} old)") for c in snap.cached[:2]] or [lab("no counter rolled up yet")]
    cache += [Text("GetCount answers from here and triggers a rollup: a background refresh",
                               style="dim")]
    if snap.measured:
        head = Text.assemble(("Netflix's four layers, with your service's live numbers", "bold green"))
    else:
        head = Text.assemble(("Netflix's four layers, with example numbers", "bold yellow"),
                             (f" (nothing answers at {where}; `learnbackend counter serve`, then `counter load`, "
                              "shows yours)", "dim"))
    parts: list[Any] = [head,
                        layer(1, "client API (Data Gateway)", "AddCount · GetCount · ClearCount, idempotency tokens",
                              api),
                        layer(2, "event log in time buckets", "TimeSeries on Cassandra: time partitions × event "
                              "buckets", log),
                        layer(3, "rollup queues, immutable windows", "in-memory queues, coalesced; window ends now − "
                              "acceptLimit", rollup),
                        layer(4, "rolled-up counts, cached", "rollup store + EVCache: count and lastRollupTs as one "
                              "value", cache)]
    for gap in snap.missing:
        parts.append(Text(f"not measured: {gap}", style="yellow"))
    return Group(*parts)


def concept_panel(experiment_id: str, title: str, lesson_id: str, section: str, width: int = 80) -> Any:
    """The experiment's concept (its ``## E<n>`` lesson section), shown before it runs."""
    from rich.markdown import Markdown

    text = section.split("\n", 1)[1] if "\n" in section else section
    return Panel(Markdown(text), title=f"[bold]{experiment_id} · {escape(title)}[/bold]", title_align="left",
                 subtitle=f"[dim]learnbackend lessons show {escape(lesson_id)}[/dim]", subtitle_align="right",
                 border_style="cyan", width=width, padding=(0, 1))


def window_timeline(accept_s: float, margin_s: float, skew_s: float, width: int = 80) -> Any:
    """A time line: the immutable window, acceptLimit, the lab's skew margin and a node whose clock is behind."""
    from rich.text import Text

    cols = width - 4  # the panel's borders and padding
    span = max(accept_s + margin_s, skew_s, accept_s) * 2.2 or 1.0

    def x(seconds_ago: float) -> int:
        return max(0, min(cols - 1, round((cols - 1) * (1 - seconds_ago / span))))

    end_window, end_accept, now = x(accept_s + margin_s), x(accept_s), cols - 1
    ruler = Text("━" * (end_window + 1), style="bold green") + Text("─" * (now - end_window - 1) + "┤")
    marks = [" "] * cols
    for at in (end_window, end_accept, now):
        marks[at] = "▲"
    lines = [ruler, Text("".join(marks))]
    ms = lambda v: f"{v * 1e3:.0f} ms"  # noqa: E731
    lines.append(Text.assemble(("━", "bold green"), " immutable window, rolled up   ▲ its end = now − acceptLimit"
                               + (" − margin" if margin_s else "")))
    lines.append(Text(f"  ▲ now − acceptLimit ({ms(accept_s)}: Netflix's)   ▲ now", style=""))
    if margin_s:
        lines.append(Text(f"  margin {ms(margin_s)}: the lab's addition, room for clocks that run behind", style="dim"))
    if skew_s:
        node = x(skew_s + accept_s)
        mark = [" "] * cols
        mark[node] = "△"
        lines.insert(2, Text("".join(mark), style="yellow"))
        lines.append(Text(f"  △ a node {ms(skew_s)} behind still accepts events back to here, by its own clock",
                          style="yellow"))
    body = Text("\n").join(lines)
    return Panel(body, title="[bold]the window on a time line[/bold]  older → now", title_align="left", width=width,
                 border_style="cyan", padding=(0, 1))


_WRITERS = ("where the writers wait", [
    ("single row ", "w w w w ──▶ [ row ]               one lock: writers queue"),
    ("K shards   ", "w w w w ──▶ [r1][r2][r3][r4]      K locks; a read sums K rows"),
    ("event log  ", "w w w w ──▶ │e│e│e│e│e│e│…       new events, no shared row"),
])
_PICTURES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "E1": _WRITERS,
    "E5": _WRITERS,
    "E2": ("a lost acknowledgement, then a retry with the same token", [
        ("client     ", "add(t1) ──▶ applied ──✗ ack lost ── retry add(t1) ──▶ ?"),
        ("INCRBY, row", "applies it again: counted twice"),
        ("event log  ", "same key (t1): the insert is a no-op, counted once"),
    ]),
    "E3": ("when each design says \"done\", and what kill -9 takes", [
        ("in-memory  ", "add ──▶ buffer (RAM) ──▶ \"ok\" … flush every 0.5 s ──▶ store"),
        ("           ", "kill -9 before the flush: the buffer is gone"),
        ("event log  ", "add ──▶ durable event ──▶ \"ok\" ──▶ trigger (memory) ──▶ rollup"),
        ("           ", "kill -9: only triggers are lost; the next read or write resends"),
    ]),
    "E6": ("a rollup queue is a set", [
        ("triggers   ", "c1 c1 c7 c1 c2 c1 c1 c7 ──▶ queue {c1, c7, c2} ──▶ 3 rollups"),
    ]),
    "E7": ("what an accurate GetCount reads", [
        ("read       ", "checkpoint (1 row) + every event since lastRollupTs"),
        ("           ", "│━━━━ rolled up ━━━━┃e e e e e e e e e … now   ◀ all scanned"),
    ]),
    "E9": ("more in than out", [
        ("unbounded  ", "800 triggers/s ──▶ [ queue grows … ] ──▶ 400 rollups/s"),
        ("bounded    ", "800 triggers/s ──▶ [ 100 ] ──▶ 400 rollups/s; the rest dropped,"),
        ("           ", "and re-sent by the next read or write of the counter"),
    ]),
}


def flow_picture(experiment_id: str, width: int = 80) -> Any:
    """A small drawing of what the experiment sets up, or None when the concept needs none."""
    from rich.text import Text

    found = _PICTURES.get(experiment_id.upper())
    if found is None:
        return None
    title, rows = found
    body = Text("\n").join(Text.assemble((label, "bold"), " ", line) for label, line in rows)
    return Panel(body, title=f"[bold]{escape(title)}[/bold]", title_align="left", width=width, border_style="cyan",
                 padding=(0, 1))
