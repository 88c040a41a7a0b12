"""Shared fixtures: an isolated home, an isolated git identity, and one CLI helper."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from learnbackend.context import engines_required

REPO = Path(__file__).resolve().parent.parent
LESSONS = REPO / "lessons"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def need(condition: bool, reason: str) -> None:
    """Skip locally when an engine is absent; fail in CI (LEARNBACKEND_REQUIRE_ENGINES=1)."""
    if condition:
        return
    if engines_required():
        pytest.fail(f"required engine missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data dir, a fixed terminal width and a clean git identity."""
    home = tmp_path_factory.mktemp("lbhome")
    monkeypatch.setenv("LEARNBACKEND_HOME", str(home))
    monkeypatch.delenv("LEARNBACKEND_LESSONS", raising=False)
    monkeypatch.setenv("LEARNBACKEND_WIDTH", "100")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    gitconfig = home / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Test Learner\n\temail = learner@example.invalid\n[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    yield home


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> CliResult:
    """Run ``learnbackend ARGS`` in-process (no terminal), like a script or CI would."""
    from typer.testing import CliRunner

    from learnbackend.cli import main

    runner = CliRunner()
    with runner.isolation(input=input, env=env) as streams:
        code = main(list(args))
        out, err = streams[0], streams[1]
        return CliResult(code, out.getvalue().decode(), err.getvalue().decode())




#: Terminal escape sequences (CSI, OSC, charset selection), to read a pseudo-terminal's text.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]")


def spawn_cli(*args: str, rows: int = 24, cols: int = 80, timeout: float = 60) -> Any:
    """``learnbackend ARGS`` in a real pseudo-terminal of ``rows`` x ``cols``, colours on, as a learner runs it.

    Output is decoded leniently: the terminal echoes ^C wherever the output is, even inside a
    multi-byte character.
    """
    import pexpect

    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env.pop("LEARNBACKEND_WIDTH", None)
    env.update({"TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)})
    return pexpect.spawn(sys.executable, ["-m", "learnbackend", *args], env=env, encoding="utf-8",
                         codec_errors="replace", dimensions=(rows, cols), timeout=timeout)
