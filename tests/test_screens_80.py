"""The lab screens a learner reads most, read back at 80 columns: the containers comparison and
isolation demo, counter experiment tables (E9) and plots (E1/E2). Real runs, captured output."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from conftest import need, run_cli

from learnbackend.counter.experiments.common import Plot, Series

WIDE80 = {"LEARNBACKEND_WIDTH": "80", "COLUMNS": "80"}


def _docker() -> None:
    from learnbackend.containers import engine

    client, why = engine.try_connect()
    need(client is not None, f"a Docker engine: {why}")
    assert client is not None
    client.close()


def _fits(text: str) -> list[str]:
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert [line for line in lines if line != line.rstrip()] == [], "trailing spaces"
    assert "…" not in text, "a cell cut short"
    return lines


@pytest.mark.parametrize("runs", [1, 5])
def test_compare_reads_at_80_columns(isolated_env: Path, runs: int) -> None:
    _docker()
    result = run_cli("containers", "compare", "--runs", str(runs), "--vm-runs", "0", env=WIDE80)
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = _fits(result.stdout)
    header = " ".join(re.split(r"^ ?model ", result.stdout, flags=re.MULTILINE)[0].split())
    assert f"({runs} run{'s' if runs > 1 else ''} after 1 warm-up; VM models skipped)" in header, header
    assert "1 runs" not in result.stdout
    rows = {line.split("  ")[0].strip(): line for line in lines
            if re.match(r"^ ?(bare process|process in namespaces|container) +\d", line)}
    assert set(rows) == {"bare process", "process in namespaces", "container"}, lines  # one line per model
    spreads = []
    for line in rows.values():
        spread = re.findall(r"\s(—|[\d.]+–[\d.]+ (?:ms|s)|[\d.]+ m?s – [\d.]+ m?s)\s", line)
        assert spread, line
        spreads.append(spread[0])
        low_high = re.findall(r"([\d.]+)–([\d.]+)", spread[0])
        assert not low_high or low_high[0][0] != low_high[0][1], "a range that is one value twice"
    if runs == 1:
        assert set(spreads) == {"—"}, "with one run there is no spread to show, not the median twice"
    else:  # a spread too small for the shown precision is a dash as well, but the container's shows
        assert any(s != "—" for s in spreads), spreads
    # What each row ran is said under the table, one model a line, never squeezed into a column.
    legend = result.stdout.split("What each row ran")[1]
    assert re.search(r"^• bare process: +/bin/busybox sh", legend, re.MULTILINE), legend
    assert re.search(r"^• container: +Docker SDK", legend, re.MULTILINE), legend


def test_isolation_demo_reads_at_80_columns(isolated_env: Path) -> None:
    need(shutil.which("unshare") is not None, "unshare is not installed")
    _docker()
    result = run_cli("containers", "demo", "isolation", "--yes", "--no-vm", env=WIDE80)
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = _fits(result.stdout)
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("What a container can see")):]
    for label in ("hostname", "its own PID", "processes seen", "root fs", "capabilities", "kernel",
                  "memory (kernel)", "memory limit", "CPU quota"):
        assert any(line.startswith(f" {label} ") for line in table), f"{label!r} is not one row label: {table}"
    hostname = next(line for line in table if line.startswith(" hostname "))
    assert "lab-container" in hostname or "lab-" in hostname.split()  # whole, or broken at its own dash
    caps = next(line for line in table if line.startswith(" capabilities ")).split()[1:]
    assert all(value.isdigit() for value in caps), caps  # counted privileges, not 16 hex digits cut in two


@pytest.mark.parametrize(("experiment", "scale"), [("E9", 0.3), ("E1", 0.2)])
def test_experiment_tables_read_at_80_columns(experiment: str, scale: float) -> None:
    """E9's words and E1's nine columns of figures: every header word and every figure whole."""
    from rich.console import Console

    from learnbackend.counter.experiments import run_experiment
    from learnbackend.counter.processes import stop_all
    from learnbackend.counter.render import table

    try:
        result = run_experiment(experiment, scale=scale)
    finally:
        stop_all()
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(table(result.columns, result.rows))
    text = out.getvalue()
    lines = [line.rstrip() for line in text.splitlines()]
    assert all(len(line) <= 80 for line in lines), lines
    assert "…" not in text
    words = set(" ".join(lines).split())
    for cell in [*result.columns, *(str(v) for row in result.rows for v in row)]:
        for word in cell.split():  # every header word and every figure whole on the screen
            assert word in words or f"{int(word):,}" in words if word.isdigit() else word in words, (word, text)


def _plot_text(plot: Plot) -> str:
    from rich.console import Console

    from learnbackend.counter.plot import render_plot

    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(render_plot(plot))
    return out.getvalue()


def test_no_series_is_hidden_under_another() -> None:
    from learnbackend.counter.plot import MARKERS, SHARED

    # E1's shape: two designs flat at the same few hundred ops/s, one climbing far above them.
    flat = [(1, 700.0), (4, 706.0), (16, 690.0), (64, 760.0)]
    plot = Plot("throughput vs concurrent writers", "writers", "ops/s",
                [Series("single-row", flat), Series("cas-row", [(x, y - 20) for x, y in flat]),
                 Series("event-log", [(1, 540.0), (4, 2_800.0), (16, 9_000.0), (64, 19_800.0)])], log_x=True)
    text = _plot_text(plot)
    grid = text.split("└")[0]
    assert MARKERS[2] in grid, "the climbing series keeps its own marker"
    assert SHARED in grid, "the two flat series meet: the cell says so"
    legend = text.split("series that meet in one cell:")[1]
    for x in ("1", "4", "16", "64"):
        assert re.search(rf"at {x}: (single-row, cas-row|all of them)", legend), legend
    assert [line for line in text.splitlines() if line != line.rstrip()] == []


def test_e2_plot_shows_every_series() -> None:
    from learnbackend.counter.experiments import run_experiment
    from learnbackend.counter.plot import MARKERS
    from learnbackend.counter.processes import stop_all

    try:
        result = run_experiment("E2", scale=0.2)
    finally:
        stop_all()
    assert result.plot is not None
    text = _plot_text(result.plot)
    grid, legend = text.split("└")[0], text.split("└")[1]
    for i, series in enumerate(result.plot.series):
        # Seen with its own marker somewhere, or named where it meets others.
        assert MARKERS[i] in grid or series.name in legend.split("meet in one cell:")[-1] or "all of them" in legend, \
            (series.name, text)


def test_isolation_with_a_vm_column_breaks_values_only_at_their_dashes(isolated_env: Path) -> None:
    """Four ways of running side by side is where 80 columns got tight: a kernel release is shown
    whole, or broken after one of its own dashes, never cut at the column's edge."""
    from learnbackend.containers import vm

    _docker()
    setup = vm.setup()
    need(setup.ready, f"QEMU and a guest kernel: {setup.missing}")
    shown = run_cli("containers", "demo", "isolation", "--yes", env=WIDE80)
    assert shown.exit_code == 0, shown.stdout + shown.stderr
    lines = _fits(shown.stdout)
    measured = run_cli("containers", "demo", "isolation", "--yes", "--json", env=WIDE80).json
    if not any(c.startswith("VM") for c in measured["columns"]):
        pytest.skip("the VM did not boot here: " + "; ".join(measured["notes"]))
    at = next(i for i, line in enumerate(lines) if line.startswith(" kernel "))
    first, rest = lines[at].split()[1:], lines[at + 1].split() if lines[at + 1].startswith("   ") else []
    kernels = next(row[1:] for row in measured["rows"] if row[0] == "kernel")
    for value in kernels:
        assert value in first or any(a.endswith("-") and a + b == value for a in first for b in rest), \
            (value, lines[at:at + 2])
