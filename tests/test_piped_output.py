"""Output read in a file or a CI log: no line carries the spaces Rich pads tables with."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import need, run_cli

TABLE_COMMANDS = [
    ["progress"],
    ["doctor"],
    ["lessons", "list"],
    ["git", "levels"],
    ["quiz", "map"],
    ["counter", "experiments"],
    ["counter", "learn"],
    ["counter", "learn", "--picture"],
    ["counter", "experiment", "E9", "--no-predict", "--scale", "0.3"],
    ["containers", "doctor"],
    ["containers", "demo", "isolation", "--yes", "--no-vm"],
]
#: Tables that need the Docker engine to print their rows.
ENGINE_TABLE_COMMANDS = [
    ["containers", "compare", "--runs", "1", "--vm-runs", "0"],
    ["containers", "demo", "pids", "--yes"],
]
#: Read as a learner's 80-column terminal would lay them out, then piped.
WIDTH80 = {"LEARNBACKEND_WIDTH": "80", "COLUMNS": "80"}


def _cut_words(text: str) -> list[str]:
    """Cells of a boxed table folded inside a word. On a row's continuation line (a cell that was full
    above is blank here), a cell filled edge to edge by one word, continued below by a lowercase letter."""
    lines = text.splitlines()
    cut = []
    for upper, lower in itertools.pairwise(lines):
        bars = [i for i, ch in enumerate(upper) if ch == "│"]
        if len(bars) < 3 or bars != [i for i, ch in enumerate(lower) if ch == "│"]:
            continue
        cells = [(upper[a + 2:b - 1], lower[a + 2:b - 1]) for a, b in itertools.pairwise(bars)]
        if not any(top.strip() and not below.strip() for top, below in cells):
            continue  # two rows of their own, not one row wrapped
        for top, below in cells:
            # Rich folds only a word longer than the column, and that word starts a line: so the
            # fragment above is the whole line, with no space in it.
            if top and top[-1].isalpha() and " " not in top.strip() and top[:1] != " " and below[:1].islower():
                cut.append(f"{top.strip()} / {below.strip()}")
    return cut


def _trailing(text: str) -> list[str]:
    return [line for line in text.splitlines() if line != line.rstrip()]


@pytest.mark.parametrize("args", TABLE_COMMANDS + ENGINE_TABLE_COMMANDS, ids=" ".join)
def test_no_trailing_spaces_when_piped(args: list[str]) -> None:
    if args in ENGINE_TABLE_COMMANDS:
        from learnbackend.containers import engine

        client, why = engine.try_connect()
        need(client is not None, f"a Docker engine: {why}")
        if client is not None:
            client.close()
    result = run_cli(*args, env=WIDTH80)
    assert result.exit_code in (0, 1, 3), result.stdout + result.stderr
    assert result.stdout.strip(), f"`learnbackend {' '.join(args)}` printed nothing"
    assert _trailing(result.stdout) == []
    assert _trailing(result.stderr) == []
    # 80 columns: nothing wider, no cell cut short with an ellipsis.
    assert [line for line in result.stdout.splitlines() if len(line) > 80] == []
    assert not re.search(r"…\s*(│|┃|$)", result.stdout, re.MULTILINE), "a cell cut short"
    assert _cut_words(result.stdout) == [], "a word folded across two lines of a cell"


def test_a_fresh_workspace_check_piped_through_a_real_pipe(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    assert run_cli("init", str(workspace), "--module", "git").exit_code == 0
    for extra in ([], ["--output", str(tmp_path / "report.txt")]):
        done = subprocess.run([sys.executable, "-m", "learnbackend", "check", str(workspace), *extra],
                              capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 1, done.stderr
        assert _trailing(done.stdout) == [] and _trailing(done.stderr) == []
    report = (tmp_path / "report.txt").read_text()
    assert report.strip() and _trailing(report) == []
