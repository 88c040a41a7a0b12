"""Replaying a solution in a sandbox: only git and three file operations, never a shell.

Every line is checked by :mod:`policy` before the first one runs, so a refused
solution changes nothing. Each git command then runs through the same process
sandbox as learner code (:func:`learnbackend.sandbox.runner.run_sandboxed`:
limits, no network, its output streamed and capped), from its absolute path
with an argument list (no shell), no terminal, fixed dates, and one deadline for
the whole replay. git is pinned to the level's repository:

* ``GIT_DIR``/``GIT_WORK_TREE`` name the working repository and every command
  runs at its top, so git never discovers a repository the solution wrote
  (``sub/HEAD`` + ``sub/config`` with ``core.fsmonitor``); ``safe.bareRepository
  = explicit`` refuses an implicit bare one;
* the configuration is a read-only file of the tool (``GIT_CONFIG_GLOBAL``, no
  system file, a read-only ``HOME``) plus overrides in ``GIT_CONFIG_COUNT``;
* a fetch, pull or push may only reach the level's remote: before one runs, the
  repository's remotes and upstreams are read back and must all be the level's.

A git command that fails (a merge that stops on a conflict, a rejected push) is
recorded and the replay goes on, like the learner's session did.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from learnbackend.gitsandbox import gitenv
from learnbackend.gitsandbox.policy import (
    OWN_REMOTE,
    check_git,
    check_path,
    refuse,
    remote_arguments,
)
from learnbackend.gitsandbox.sandbox import Sandbox, delete_file, write_file
from learnbackend.gitsandbox.solution import Command
from learnbackend.sandbox.runner import run_sandboxed

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
#: Settings no solution can change: they win over every configuration file.
_PINNED = {
    "safe.bareRepository": "explicit",
    "core.fsmonitor": "false",
    "core.untrackedCache": "false",
    "gc.auto": "0",
    "maintenance.auto": "false",
    "submodule.recurse": "false",
    "fetch.recurseSubmodules": "false",
    "push.recurseSubmodules": "no",
    "protocol.allow": "never",
    "protocol.file.allow": "always",
}
#: Also in the configuration file: a local fetch or push starts a second git without the overrides above.
_REPLAY_CONFIG = """\
[safe]
\t# The level's remote, as a local fetch or push names it, and the working repository (a `.` remote).
\tdirectory = {remote}
\tdirectory = .
[gc]
\tauto = 0
[maintenance]
\tauto = false
[submodule]
\trecurse = false
[fetch]
\trecurseSubmodules = false
[push]
\trecurseSubmodules = no
"""
#: What ``git config`` may hold under ``remote.<name>.``: nothing that names a program or another place.
_REMOTE_KEYS = frozenset({"url", "pushurl", "fetch", "push", "tagopt", "prune", "prunetags", "mirror",
                          "skipdefaultupdate", "skipfetchall"})


def prepare(sandbox: Sandbox) -> Path:
    """Write the replay's configuration (read-only) and open the repositories to the sandbox's user."""
    home = sandbox.replay_home
    home.mkdir(exist_ok=True)
    config = home / "gitconfig"
    config.write_text(sandbox.config.read_text() + _REPLAY_CONFIG.format(remote=OWN_REMOTE))
    config.chmod(0o444)
    home.chmod(0o555)
    if os.geteuid() == 0:
        # The process sandbox may run git as an unprivileged user: it must reach and use the repositories.
        sandbox.root.chmod(0o755)
        sandbox.root.parent.chmod(0o711)
        sandbox.hooks.chmod(0o755)
        sandbox.config.chmod(0o444)
        open_up(sandbox)
    return config


def open_up(sandbox: Sandbox) -> None:
    """Let any user write the two repositories (only when root: git may run as another uid each time).

    Their parent directories stay the tool's, and the sandbox's name is random, so
    nobody else reaches them. Symbolic links are skipped, never followed.
    """
    if os.geteuid() != 0:
        return
    for top in (sandbox.work, sandbox.remote):
        for directory, dirnames, filenames in os.walk(top):
            _add_mode(directory, 0o777)
            for name in filenames:
                _add_mode(os.path.join(directory, name), 0o666)
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(directory, d))]


def _add_mode(path: str, bits: int) -> None:
    try:
        info = os.lstat(path)
        if not stat.S_ISLNK(info.st_mode) and (info.st_mode & bits) != bits:
            os.chmod(path, stat.S_IMODE(info.st_mode) | bits)
    except OSError:
        pass


def replay_env(sandbox: Sandbox, config: Path, git: str, when: int) -> dict[str, str]:
    """The environment of one replayed git command: pinned to the level's repository and configuration."""
    home = str(config.parent)
    base = {"PATH": f"{os.path.dirname(git)}:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home, "XDG_CONFIG_HOME": home}
    env = gitenv.isolated_env(config, sandbox.root, base=base, when=when)
    pinned = {**_PINNED, "core.hooksPath": str(sandbox.hooks)}
    env.update({"GIT_DIR": str(sandbox.work / ".git"), "GIT_WORK_TREE": str(sandbox.work),
                "GIT_CONFIG_COUNT": str(len(pinned)), "GIT_NO_REPLACE_OBJECTS": "1"})
    for index, (key, value) in enumerate(pinned.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def run_git(git: str, args: list[str] | tuple[str, ...], sandbox: Sandbox, env: dict[str, str],
            timeout: float) -> tuple[int, str]:
    """Run ``git ARGS`` at the top of the working repository inside the process sandbox.

    Returns (exit code, the tail of its output); :data:`_TIMED_OUT` when the deadline stopped it.
    """
    open_up(sandbox)
    result = run_sandboxed([git, "-C", str(sandbox.work), *args], cwd=sandbox.root, timeout=max(timeout, 0.05),
                           env=env, network=False)
    output = (result.stdout + result.stderr)[-_OUTPUT_LIMIT:]
    if result.timed_out:
        return _TIMED_OUT, "timed out"
    if result.exit_code is None or result.killed_reason:
        return (result.exit_code if result.exit_code else -9), f"{output}\n{result.killed_reason or 'killed'}".strip()
    return result.exit_code, output


def check_remotes(git: str, command: Command, sandbox: Sandbox, env: dict[str, str], timeout: float) -> None:
    """Before a fetch, pull, push or remote command: every remote and upstream must be the level's own.

    git takes a name that is not a configured remote for a path, and a path can be a
    repository the solution wrote; so the names are checked against what is configured now.
    """
    code, output = run_git(git, ["config", "--null", "--get-regexp", r"^(remote|branch|url)\."], sandbox, env, timeout)
    if code not in (0, 1):  # 1: nothing configured
        raise refuse(command.line_no, "git " + command.args[0], f"the remotes could not be read ({output.strip()})")
    names: set[str] = set()
    upstreams: list[str] = []
    for entry in filter(None, output.split("\0")):
        key, _, value = entry.partition("\n")
        section, _, rest = key.partition(".")
        name, _, leaf = rest.rpartition(".")
        if section == "remote" and not name and leaf == "pushdefault":
            upstreams.append(value)
        elif section == "remote":
            names.add(name)
            if leaf not in _REMOTE_KEYS or (leaf in ("url", "pushurl") and value != OWN_REMOTE):
                raise refuse(command.line_no, f"remote.{name}.{leaf}", f"a remote may only be {OWN_REMOTE}")
        elif section == "branch" and leaf in ("remote", "pushremote"):
            upstreams.append(value)
        elif section == "url":  # url.<base>.insteadOf rewrites where a remote points
            raise refuse(command.line_no, key, "URL rewriting is not allowed in a replay")
    for name in [*upstreams, *(remote_arguments(command.args) or [])]:
        if name not in names and name not in (".", OWN_REMOTE):
            raise refuse(command.line_no, f"remote {name}", f"{name} is not a remote of the level, so git would "
                         f"take it for a path; use `origin` (or a remote you added for {OWN_REMOTE})")


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
    config = prepare(sandbox)
    for number, command in enumerate(commands):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            log.timed_out = True
            break
        if command.op == "git":
            env = replay_env(sandbox, config, git, REPLAY_EPOCH + 60 * number)
            if remote_arguments(command.args) is not None:
                check_remotes(git, command, sandbox, env, remaining)
                remaining = deadline - time.monotonic()
            code, output = run_git(git, command.args, sandbox, env, remaining)
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
