"""Output read in a file or a CI log: no line carries the spaces Rich pads tables with."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

TABLE_COMMANDS = [
    ["progress"],
    ["doctor"],
    ["lessons", "list"],
    ["git", "levels"],
    ["quiz", "map"],
    ["counter", "experiments"],
]


def _trailing(text: str) -> list[str]:
    return [line for line in text.splitlines() if line != line.rstrip()]


@pytest.mark.parametrize("args", TABLE_COMMANDS, ids=" ".join)
def test_no_trailing_spaces_when_piped(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.exit_code in (0, 1, 3), result.stdout + result.stderr
    assert result.stdout.strip(), f"`learnbackend {' '.join(args)}` printed nothing"
    assert _trailing(result.stdout) == []
    assert _trailing(result.stderr) == []


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
