"""The root command: version, help, exit codes, fast start-up, doctor, home screen."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import run_cli
from learnbackend import __version__

HEAVY = ("questionary", "git", "docker", "fastapi", "redis", "fsrs", "pydantic", "yaml", "rich",
         "learnbackend.roadmap.quiz", "learnbackend.course.catalog")


def test_version() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"learnbackend {__version__}"


def test_help_lists_the_modules() -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    for command in ("quiz", "lessons", "progress", "doctor"):
        assert command in result.stdout


def test_help_does_not_import_engines_or_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from learnbackend.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "import json; print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    leaked = sorted(m for m in HEAVY if m in loaded)
    assert not leaked, f"--help imported {leaked}"


def test_usage_errors_exit_2_without_traceback() -> None:
    result = run_cli("quiz", "start", "--no-such-flag")
    assert result.exit_code == 2
    assert "No such option" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    result = run_cli("no-such-command")
    assert result.exit_code == 2


def test_user_errors_have_one_message_and_a_fix() -> None:
    result = run_cli("quiz", "start", "--branch", "astrology")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: No roadmap branch is called 'astrology'.")
    assert "Use one of:" in result.stderr


def test_doctor_reports_every_engine() -> None:
    result = run_cli("doctor", "--json")
    assert result.exit_code == 0
    names = {probe["name"] for probe in result.json}
    assert {"python", "git", "docker engine", "qemu", "redis"} <= names
    git = next(p for p in result.json if p["name"] == "git")
    assert git["ok"] and git["detail"].startswith("git version")
    for probe in result.json:
        assert probe["ok"] or probe["fix"], probe


def test_home_without_a_terminal_prints_an_overview_and_does_not_wait() -> None:
    # stdin is not a terminal and has no input: the command must return by itself.
    done = subprocess.run([sys.executable, "-m", "learnbackend"], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "Your progress" in done.stdout
    assert "Roadmap quiz" in done.stdout
    assert "learnbackend --help" in done.stdout


def test_debug_shows_the_traceback_and_keeps_the_exit_code() -> None:
    plain = run_cli("lessons", "show", "nope")
    assert plain.exit_code == 2 and "Traceback" not in plain.stderr
    debug = run_cli("--debug", "lessons", "show", "nope")
    assert debug.exit_code == 2
    assert "Traceback (most recent call last)" in debug.stderr and "NotFoundError" in debug.stderr


def test_help_builds_no_sub_command() -> None:
    # Building a Typer sub-app into Click commands is what made --help slow: only the root may be built.
    code = (
        "import typer.main\n"
        "built = []\n"
        "original = typer.main.get_command\n"
        "def counting(app):\n    built.append(app.info.name)\n    return original(app)\n"
        "typer.main.get_command = counting\n"
        "from learnbackend.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(len(built))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "1"
    assert "counter" in done.stdout and "containers" in done.stdout
