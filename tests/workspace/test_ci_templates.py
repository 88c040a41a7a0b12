"""The CI templates in docs/ci/ run for real: their shell commands, in a learner's git repository.

Only the step that installs learnbackend (from the wheel a published repository carries) is left out (the package under test is
already installed); the test asserts that it is there. Everything else runs as written.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_cli  # type: ignore[import-not-found]
from wsolving import Solver  # type: ignore[import-not-found]

CI = REPO / "docs" / "ci"
INSTALL = re.compile(r"^\s*python -m pip install \.learnbackend/learnbackend-\*\.whl\s*$")


def github_commands() -> tuple[list[str], dict[str, str]]:
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    steps = workflow["jobs"]["check"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/checkout@") for u in uses)
    assert any("junit" in u for u in uses), "the JUnit report must be published"
    runs = [s for s in steps if "run" in s]
    assert INSTALL.match(runs[0]["run"]), "the first step installs learnbackend"
    env: dict[str, str] = {}
    for step in runs[1:]:
        for key, value in (step.get("env") or {}).items():
            env[key] = str(value).replace("${{ github.actor }}", "ada")
    return [s["run"] for s in runs[1:]], env


def gitlab_commands() -> tuple[list[str], dict[str, str]]:
    job = yaml.safe_load((CI / "gitlab-ci.yml").read_text())["learnbackend"]
    assert job["artifacts"]["reports"]["junit"] == "reports/junit.xml" and job["artifacts"]["when"] == "always"
    script = job["script"]
    assert INSTALL.match(script[0]), "the first command installs learnbackend"
    return ["\n".join(script[1:])], {"GITLAB_USER_LOGIN": "ada"}


def _learner_repo(tmp_path: Path, solve_all: bool) -> Path:
    root = tmp_path / "repo"
    assert run_cli("init", str(root), "--lesson", "roadmap-fundamentals", "--student", "nobody").exit_code == 0
    solver = Solver(root)
    solver.solve() if solve_all else solver.solve("1")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "my answers", "--date", "2026-11-30T10:00:00+00:00"]):
        subprocess.run(["git", *args], cwd=root, check=True, env={**os.environ, "GIT_COMMITTER_DATE": "2026-11-30T10:00:00+00:00"})
    return root


def _shim(tmp_path: Path) -> dict[str, str]:
    """``learnbackend`` on PATH, running the package under test with this interpreter."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "learnbackend"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m learnbackend "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env


@pytest.mark.parametrize("template", ["github", "gitlab"])
def test_template_commands_check_and_write_reports(tmp_path: Path, template: str) -> None:
    commands, step_env = github_commands() if template == "github" else gitlab_commands()
    env = {**_shim(tmp_path), **step_env}
    solved = _learner_repo(tmp_path / "solved", solve_all=True)
    for command in commands:
        done = subprocess.run(["bash", "-eo", "pipefail", "-c", command], cwd=solved, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    report = (solved / "reports" / "learnbackend.json").read_text()
    assert '"student": "ada"' in report and '"checked_at": "2026-11-30T10:00:00+00:00"' in report
    assert "<testsuites" in (solved / "reports" / "junit.xml").read_text()

    partial = _learner_repo(tmp_path / "partial", solve_all=False)
    done = subprocess.run(["bash", "-eo", "pipefail", "-c", "\n".join(commands)], cwd=partial, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, "a failed exercise must fail the job"
    assert (partial / "reports" / "junit.xml").is_file() and (partial / "reports" / "learnbackend.json").is_file()
