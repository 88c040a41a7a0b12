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

import inspect
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
HOME_PREFIX = "git-home-"
#: A process sandbox with a private filesystem view is told which paths outside the run directory to show.
_TAKES_READABLE = "readable" in inspect.signature(run_sandboxed).parameters
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


@contextmanager
def pinned_home(sandbox: Sandbox) -> Iterator[Path]:
    """A read-only ``HOME`` outside the sandbox with the replay's git configuration and an empty hooks directory.

    Yields the configuration file; removed afterwards. It is outside the directory the
    process sandbox lends to git, so no git process of the replay can change it.
    """
    # Next to the sandbox (a replay's own temporary directory), so a run killed midway leaves one thing to reap.
    home = Path(tempfile.mkdtemp(prefix=HOME_PREFIX, dir=sandbox.root.parent))
    try:
        config = home / "gitconfig"
        gitenv.write_config(config, home / "hooks")
        with open(config, "a", encoding="utf-8") as handle:
            handle.write(_REPLAY_CONFIG.format(remote=OWN_REMOTE))
        for path, mode in ((config, 0o444), (home / "hooks", 0o555), (home, 0o555)):
            path.chmod(mode)
        if os.geteuid() == 0:
            # The process sandbox may run git as an unprivileged user: it must reach the level.
            sandbox.root.chmod(0o755)
            sandbox.root.parent.chmod(0o711)
        yield config
    finally:
        home.chmod(0o755)
        shutil.rmtree(home, ignore_errors=True)


def open_up(sandbox: Sandbox) -> None:
    """Let any user write the two repositories, when root: the process sandbox may run git as another uid.

    (A sandbox that lends its run directory to that uid makes this redundant; one that
    does not needs it.) The sandbox's parent directory only lets its owner list it and
    the sandbox's name is random, so nobody else reaches them. Links are never followed.
    """
    if os.geteuid() != 0:
        return
    for top in (sandbox.work, sandbox.remote):
        for directory, _subdirs, filenames in os.walk(top):  # does not descend into linked directories
            _add_mode(directory, 0o777)
            for name in filenames:
                _add_mode(os.path.join(directory, name), 0o666)


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
    pinned = {**_PINNED, "core.hooksPath": str(config.parent / "hooks")}
    env.update({"GIT_DIR": str(sandbox.work / ".git"), "GIT_WORK_TREE": str(sandbox.work),
                "GIT_CONFIG_COUNT": str(len(pinned)), "GIT_NO_REPLACE_OBJECTS": "1"})
    for index, (key, value) in enumerate(pinned.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def run_git(git: str, args: list[str] | tuple[str, ...], sandbox: Sandbox, env: dict[str, str],
            timeout: float) -> tuple[int, str]:
    """Run ``git ARGS`` at the top of the working repository inside the process sandbox.

    The sandbox's directory (both repositories) is the run directory, writable; the
    pinned ``HOME`` is only readable. Returns (exit code, the tail of its output);
    :data:`_TIMED_OUT` when the deadline stopped it.
    """
    open_up(sandbox)
    extra: dict[str, Any] = {"readable": [Path(env["HOME"])]} if _TAKES_READABLE else {}
    result = run_sandboxed([git, "-C", str(sandbox.work), *args], cwd=sandbox.root, timeout=max(timeout, 0.05),
                           env=env, network=False, **extra)
    output = (result.stdout + result.stderr)[-_OUTPUT_LIMIT:]
    if result.timed_out:
        return _TIMED_OUT, "timed out"
    if result.exit_code is None or result.killed_reason:
        return (result.exit_code if result.exit_code else -9), f"{output}\n{result.killed_reason or 'killed'}".strip()
    return result.exit_code, output


def check_remotes(git: str, command: Command, sandbox: Sandbox, env: dict[str, str], timeout: float) -> bool:
    """Before a fetch, pull, push or remote command: every remote and upstream must be the level's own.

    git takes a name that is not a configured remote for a path, and a path can be a
    repository the solution wrote; so the names are checked against what is configured now.
    Returns False when the deadline stopped the check.
    """
    code, output = run_git(git, ["config", "--null", "--get-regexp", r"^(remote|branch|url)\."], sandbox, env, timeout)
    if code == _TIMED_OUT:
        return False
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
    return True


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
    with pinned_home(sandbox) as config:
        _replay(sandbox, commands, git, config, deadline, log)
    log.duration_s = time.monotonic() - started
    return log


def _replay(sandbox: Sandbox, commands: list[Command], git: str, config: Path, deadline: float, log: ReplayLog) -> None:
    for number, command in enumerate(commands):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            log.timed_out = True
            break
        if command.op == "git":
            env = replay_env(sandbox, config, git, REPLAY_EPOCH + 60 * number)
            if remote_arguments(command.args) is not None:
                if not check_remotes(git, command, sandbox, env, remaining):
                    log.timed_out = True
                    break
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
