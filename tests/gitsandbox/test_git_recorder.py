"""The `git shell` wrapper records what the learner does, and the recording replays to the same result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from git_fixtures import build_level, level

from learnbackend.gitsandbox.gitenv import git_executable


def _shell_env(sandbox: Any, tmp_path: Path) -> dict[str, str]:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nprintf 'Merge: keep the 60 s timeout\\n' > \"$1\"\n")
    editor.chmod(0o755)
    env = dict(os.environ)
    env.update({"PATH": f"{sandbox.bin}{os.pathsep}{env['PATH']}", "GIT_CONFIG_GLOBAL": str(sandbox.config),
                "GIT_CONFIG_NOSYSTEM": "1", "GIT_EDITOR": str(editor), "LEARNBACKEND_REAL_GIT": git_executable()})
    return env


def _run(sandbox: Any, env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(sandbox.bin / "git"), *args], cwd=cwd or sandbox.work, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_a_session_is_recorded_and_replays(tmp_path: Path) -> None:
    from learnbackend.gitsandbox.handler import replay_and_check
    from learnbackend.gitsandbox.recorder import append_transcript, sync_edits

    sandbox = build_level("resolve-conflict", tmp_path)
    env = _shell_env(sandbox, tmp_path)
    assert _run(sandbox, env, "pull").returncode == 1  # the conflict
    (sandbox.work / "config.py").write_text("TIMEOUT = 60\nRETRIES = 3\n")  # as an editor would
    typo = _run(sandbox, env, "comit")
    assert typo.returncode != 0 and "not recorded" in typo.stderr
    assert _run(sandbox, env, "add", "config.py").returncode == 0
    assert _run(sandbox, env, "commit").returncode == 0  # the message comes from the "editor"
    (sandbox.work / "sub").mkdir()
    (sandbox.work / "sub" / "notes.txt").write_text("later\n")
    in_sub = _run(sandbox, env, "status", "--short", cwd=sandbox.work / "sub")
    assert in_sub.returncode == 0 and "not recorded: run git from the top" in in_sub.stderr  # a replay has no -C
    assert _run(sandbox, env, "--version", cwd=sandbox.root).returncode == 0  # outside the work tree: not recorded
    assert _run(sandbox, env, "push").returncode == 0
    (sandbox.work / "sub" / "notes.txt").unlink()
    append_transcript(sandbox.root, sync_edits(sandbox.root))  # what `git check` does first

    lines = [line for line in sandbox.transcript.read_text().splitlines() if not line.startswith("#")]
    assert lines == [
        "git pull",
        "write config.py 'TIMEOUT = 60\\nRETRIES = 3\\n'",
        "git add config.py",
        "git commit -m 'Merge: keep the 60 s timeout'",
        "write sub/notes.txt 'later\\n'",
        "git push",
        "delete sub/notes.txt",
    ]
    ref = level("resolve-conflict")
    result = replay_and_check(ref.key, ref.level, sandbox.transcript.read_text())
    assert result.passed, result.message


def test_the_recorder_passes_through_outside_a_sandbox(tmp_path: Path) -> None:
    env = dict(os.environ, LEARNBACKEND_REAL_GIT=git_executable(), LEARNBACKEND_GIT_SANDBOX=str(tmp_path / "none"))
    done = subprocess.run([sys.executable, "-m", "learnbackend.gitsandbox.recorder", "--version"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0 and done.stdout.startswith("git version")
    assert list(tmp_path.iterdir()) == []
