"""The isolated git environment every command of the tool runs in.

The learner's own settings never leak in: git reads only a config file the
tool writes (``GIT_CONFIG_GLOBAL``, ``GIT_CONFIG_NOSYSTEM=1``) with fixed
identities, ``main`` as the default branch, hooks pointed at an empty
directory, only the ``file`` transport, and no pager or editor. Setup commits
get fixed dates, so a level is built the same (same commit ids) every time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from learnbackend.errors import ContentError, EnvironmentMissing

REAL_GIT_ENV = "LEARNBACKEND_REAL_GIT"
LEARNER = ("You", "you@learnbackend.invalid")
TEAMMATE = ("Sam (teammate)", "sam@learnbackend.invalid")
#: 2026-01-05 09:00 UTC: setup commits are 10 minutes apart from here.
SETUP_EPOCH = 1767603600

_CONFIG = """\
# Written by learnbackend: the only git configuration used inside this sandbox.
[user]
\tname = {learner_name}
\temail = {learner_email}
[init]
\tdefaultBranch = main
[core]
\thooksPath = {hooks}
\tautocrlf = false
[pull]
\trebase = false
[merge]
\tconflictStyle = merge
[commit]
\tgpgSign = false
[tag]
\tgpgSign = false
[protocol]
\tallow = never
[protocol "file"]
\tallow = always
[advice]
\tdetachedHead = false
[color]
\tui = auto
"""


def git_executable() -> str:
    """The absolute path of ``git``; :class:`EnvironmentMissing` (exit 3) without it.

    Inside `learnbackend git shell` the ``git`` on PATH is the recording wrapper;
    ``LEARNBACKEND_REAL_GIT`` names the real one, so the tool's own commands are never recorded.
    """
    found = os.environ.get(REAL_GIT_ENV) or shutil.which("git")
    if not found:
        raise EnvironmentMissing(
            "git is not installed, and the git sandbox drives the real git.",
            fix="Install git: `sudo apt-get install git` (Debian/Ubuntu), `brew install git` (macOS).",
        )
    return str(Path(found).resolve())


def write_config(config: Path, hooks: Path) -> None:
    """Write the sandbox's git config and the empty hooks directory it points at."""
    hooks.mkdir(parents=True, exist_ok=True)
    config.write_text(_CONFIG.format(learner_name=LEARNER[0], learner_email=LEARNER[1], hooks=hooks.as_posix()))


def isolated_env(config: Path, ceiling: Path, *, identity: tuple[str, str] = LEARNER,
                 base: dict[str, str] | None = None, when: int | None = None) -> dict[str, str]:
    """The environment for one git process: isolated config, fixed identity, no prompts, no pager.

    ``base`` is the environment to start from (default: a minimal one, not the
    user's); ``when`` fixes author and committer dates (a Unix time).
    """
    env = dict(base) if base is not None else {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(ceiling),
    }
    for key in list(env):
        if key.startswith("GIT_") and key not in ("GIT_PYTHON_GIT_EXECUTABLE",):
            del env[key]
    env.update({
        "GIT_CONFIG_GLOBAL": str(config),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CEILING_DIRECTORIES": str(ceiling),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ALLOW_PROTOCOL": "file",
        "GIT_PAGER": "cat",
        "GIT_EDITOR": "true",
        "GIT_SEQUENCE_EDITOR": "true",
        "GIT_AUTHOR_NAME": identity[0],
        "GIT_AUTHOR_EMAIL": identity[1],
        "GIT_COMMITTER_NAME": identity[0],
        "GIT_COMMITTER_EMAIL": identity[1],
        "GIT_MERGE_AUTOEDIT": "no",
        # Over any repository configuration: the tool's own git never runs a filesystem monitor.
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "core.fsmonitor",
        "GIT_CONFIG_VALUE_0": "false",
    })
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{when} +0000"
    return env


@dataclass
class GitRunner:
    """Runs the tool's own git commands (setup), failing loudly: a failing setup is a content bug."""

    git: str
    config: Path
    ceiling: Path
    clock: int = SETUP_EPOCH

    def run(self, cwd: Path, *args: str, identity: tuple[str, str] = LEARNER, timeout: float = 20.0) -> str:
        """Run ``git ARGS`` in ``cwd``; return stdout; :class:`ContentError` if it fails."""
        self.clock += 600
        env = isolated_env(self.config, self.ceiling, identity=identity, when=self.clock)
        try:
            done = subprocess.run([self.git, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ContentError(f"Building the level timed out on `git {' '.join(args)}`.") from None
        if done.returncode != 0:
            raise ContentError(
                f"Building the level failed on `git {' '.join(args)}` (exit {done.returncode}): "
                f"{(done.stderr or done.stdout).strip()}",
                fix="The level's setup steps do not work; check them with `learnbackend lessons validate`.",
            )
        return done.stdout
