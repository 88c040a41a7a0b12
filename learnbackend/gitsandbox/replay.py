"""Replaying a solution in a sandbox: only git and three file operations, never a shell.

Every line is checked by :mod:`policy` before the first one runs, so a refused
solution changes nothing. Git runs from its absolute path with an argument
list (no shell), the sandbox's isolated configuration, a minimal environment,
no terminal (stdin is empty), fixed dates, and a deadline for the whole replay.
A git command that fails (a merge that stops on a conflict, a rejected push) is
recorded and the replay goes on, like the learner's session did.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

from learnbackend.gitsandbox import gitenv
from learnbackend.gitsandbox.policy import check_git, check_path
from learnbackend.gitsandbox.sandbox import Sandbox, delete_file, write_file
from learnbackend.gitsandbox.solution import Command

#: Replayed commits are dated one day after the setup's commits, a minute apart.
REPLAY_EPOCH = gitenv.SETUP_EPOCH + 86_400
_OUTPUT_LIMIT = 2000


@dataclass
class ReplayStep:
    """What one line did."""

    line_no: int
    line: str
    exit_code: int
    output: str = ""


@dataclass
class ReplayLog:
    """The outcome of a replay: every step, and whether the deadline was hit."""

    steps: list[ReplayStep] = field(default_factory=list)
    timed_out: bool = False
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "timed_out": self.timed_out,
            "duration_s": round(self.duration_s, 3),
            # The output only of failed commands: it says why (e.g. a pathspec that matched no file).
            "steps": [{"line": s.line_no, "command": s.line, "exit_code": s.exit_code,
                       **({"output": s.output.strip()} if s.exit_code != 0 and s.output.strip() else {})}
                      for s in self.steps],
        }


_TIMED_OUT = -1


def _run_git(argv: list[str], sandbox: Sandbox, env: dict[str, str], timeout: float) -> tuple[int, str]:
    """Run one git command in its own process group, so a timeout kills git's helpers too."""
    process = subprocess.Popen(argv, cwd=sandbox.work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, errors="replace", shell=False,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return _TIMED_OUT, "timed out"
    return process.returncode, output[-_OUTPUT_LIMIT:]


def validate(commands: list[Command]) -> None:
    """Raise :class:`RefusedError` (exit 2) for the first command a replay must not run."""
    for command in commands:
        if command.op == "git":
            check_git(command.args, command.line_no)
        else:
            check_path(command.args[0], command.line_no, inside="work")


def replay(sandbox: Sandbox, commands: list[Command], *, timeout: float, git: str | None = None) -> ReplayLog:
    """Run ``commands`` in ``sandbox.work``; refuse them all up front if any is unsafe."""
    validate(commands)
    git = git or gitenv.git_executable()
    started = time.monotonic()
    deadline = started + timeout
    log = ReplayLog()
    base = {"PATH": f"{os.path.dirname(git)}:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(sandbox.root)}
    for number, command in enumerate(commands):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            log.timed_out = True
            break
        if command.op == "git":
            env = gitenv.isolated_env(sandbox.config, sandbox.root, base=base, when=REPLAY_EPOCH + 60 * number)
            code, output = _run_git([git, *command.args], sandbox, env, remaining)
            log.steps.append(ReplayStep(command.line_no, command.to_line(), code, output))
            if code == _TIMED_OUT:
                log.timed_out = True
                break
        else:
            path = command.args[0]
            if command.op == "delete":
                delete_file(sandbox.work, path, line_no=command.line_no)
            else:
                write_file(sandbox.work, path, command.text, append=command.op == "append", line_no=command.line_no)
            log.steps.append(ReplayStep(command.line_no, command.to_line(), 0))
    log.duration_s = time.monotonic() - started
    return log
