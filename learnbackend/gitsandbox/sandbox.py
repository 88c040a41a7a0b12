"""Sandboxes: directories the tool creates, marks as its own, builds a level in, and alone may delete.

Layout of one sandbox (``<learner data dir>/git/<lesson>/<level>/`` or a
temporary directory for a replay)::

    .learnbackend-sandbox   the ownership marker (JSON with a random token)
    gitconfig  hooks/       the isolated git configuration and an empty hooks dir
    remote.git/             a bare repository acting as the remote ("origin")
    work/                   the learner's working repository
    teammate/               a clone that commits and pushes on its own (some levels)
    bin/git                 the recording wrapper used by `learnbackend git shell`
    transcript.txt          the commands recorded so far
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from learnbackend.errors import RefusedError
from learnbackend.gitsandbox import gitenv
from learnbackend.gitsandbox.models import GitLevel
from learnbackend.gitsandbox.policy import check_path

MARKER = ".learnbackend-sandbox"


@dataclass(frozen=True)
class Sandbox:
    """The paths of one sandbox."""

    root: Path

    @property
    def marker(self) -> Path:
        return self.root / MARKER

    @property
    def config(self) -> Path:
        return self.root / "gitconfig"

    @property
    def hooks(self) -> Path:
        return self.root / "hooks"

    @property
    def remote(self) -> Path:
        return self.root / "remote.git"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def teammate(self) -> Path:
        return self.root / "teammate"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def transcript(self) -> Path:
        return self.root / "transcript.txt"

    @property
    def snapshot(self) -> Path:
        return self.root / "snapshot.json"

    def level_key(self) -> str:
        """The level this sandbox was built for (from the marker)."""
        return str(read_marker(self.root).get("level", ""))

    def git_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The isolated environment for git processes reading this sandbox."""
        return gitenv.isolated_env(self.config, self.root, base=base)


def read_marker(root: Path) -> dict[str, object]:
    """The marker's content; ``{}`` when there is no valid marker (a regular file, not a link)."""
    marker = root / MARKER
    try:
        if root.is_symlink() or not stat.S_ISREG(marker.lstat().st_mode):
            return {}
        data = json.loads(marker.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and isinstance(data.get("token"), str) else {}


def is_owned(root: Path) -> bool:
    """Whether ``root`` is a sandbox this tool created (it carries a valid marker)."""
    return bool(read_marker(root))


def remove(root: Path) -> None:
    """Delete a sandbox; refuse anything that does not carry our marker."""
    if not root.exists() and not root.is_symlink():
        return
    if not is_owned(root):
        raise RefusedError(
            f"{root} was not created by learnbackend (it has no {MARKER} marker), so it is left untouched.",
            fix="Move it away yourself if you want the level rebuilt there.",
        )
    # rmtree does not follow symbolic links inside the tree; the root itself is not a link (checked above).
    shutil.rmtree(root)


def create(root: Path, level_key: str) -> Sandbox:
    """Create an empty, marked sandbox at ``root``, replacing a previous sandbox (never anything else)."""
    remove(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    root.mkdir()
    marker = {"token": secrets.token_hex(16), "level": level_key, "created": time.time(), "tool": "learnbackend"}
    (root / MARKER).write_text(json.dumps(marker) + "\n")
    return Sandbox(root)


def safe_target(base: Path, relative: str, line_no: int = 0) -> Path:
    """The file ``relative`` inside ``base``, refusing escapes, ``.git`` and symbolic links."""
    check_path(relative, line_no, inside="work")
    target = base / relative
    resolved_base = base.resolve()
    parent = target.parent.resolve()
    if parent != resolved_base and resolved_base not in parent.parents:
        raise RefusedError(f"{relative} leads outside the repository (through a symbolic link).")
    if target.is_symlink():
        raise RefusedError(f"{relative} is a symbolic link; file operations do not follow links.")
    return target


def write_file(base: Path, relative: str, text: str, *, append: bool = False, line_no: int = 0) -> None:
    """Write (or append) text to a file inside ``base``."""
    target = safe_target(base, relative, line_no)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not target.is_file():
        raise RefusedError(f"{relative} is not a regular file.")
    with open(target, "a" if append else "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def delete_file(base: Path, relative: str, *, line_no: int = 0) -> None:
    """Delete one regular file inside ``base``."""
    target = safe_target(base, relative, line_no)
    if target.is_file():
        target.unlink()
    elif target.exists():
        raise RefusedError(f"{relative} is not a regular file; only files can be deleted.")


def build(level: GitLevel, root: Path, level_key: str, *, git: str | None = None) -> Sandbox:
    """Build a level's scenario from scratch in a new sandbox at ``root``."""
    from learnbackend.gitsandbox.recorder import snapshot_tree

    git = git or gitenv.git_executable()
    sandbox = create(root, level_key)
    gitenv.write_config(sandbox.config, sandbox.hooks)
    runner = gitenv.GitRunner(git, sandbox.config, sandbox.root)
    runner.run(sandbox.root, "init", "--quiet", "--bare", "-b", "main", "remote.git")
    runner.run(sandbox.root, "init", "--quiet", "-b", "main", "work")
    runner.run(sandbox.work, "remote", "add", "origin", "../remote.git")
    _pin_local_config(sandbox.work, sandbox, gitenv.LEARNER)
    for step in level.setup:
        _apply(step, sandbox, runner)
    sandbox.transcript.write_text(f"# learnbackend git level {level_key}\n")
    sandbox.snapshot.write_text(json.dumps(snapshot_tree(sandbox.work)))
    write_wrapper(sandbox, git)
    return sandbox


def _pin_local_config(repo: Path, sandbox: Sandbox, identity: tuple[str, str]) -> None:
    # So that a learner running their own git (outside `git shell`) still commits with the
    # sandbox's identity and no hooks of theirs; appending is faster than two `git config` runs.
    with open(repo / ".git" / "config", "a", encoding="utf-8") as handle:
        handle.write(f"[user]\n\tname = {identity[0]}\n\temail = {identity[1]}\n"
                     f"[core]\n\thooksPath = {sandbox.hooks.as_posix()}\n[pull]\n\trebase = false\n"
                     "[commit]\n\tgpgSign = false\n[tag]\n\tgpgSign = false\n")


def _apply(step: Any, sandbox: Sandbox, runner: gitenv.GitRunner) -> None:
    repo_name = step.repo
    identity = gitenv.TEAMMATE if repo_name == "teammate" else gitenv.LEARNER
    if repo_name == "teammate" and not sandbox.teammate.exists():
        runner.run(sandbox.root, "clone", "--quiet", "remote.git", "teammate", identity=identity)
        _pin_local_config(sandbox.teammate, sandbox, identity)
    repo = sandbox.teammate if repo_name == "teammate" else sandbox.work

    def git(*args: str) -> str:
        return runner.run(repo, *args, identity=identity)

    do = step.do
    if do == "write":
        write_file(repo, step.path, step.text)
    elif do == "append":
        write_file(repo, step.path, step.text, append=True)
    elif do == "delete":
        delete_file(repo, step.path)
    elif do == "add":
        git("add", "-A", "--", *step.paths) if step.paths else git("add", "-A")
    elif do == "commit":
        if step.all:
            git("add", "-A")
        git("commit", "--quiet", "-m", step.message)
    elif do == "push":
        git("push", "--quiet", "-u", "origin", step.branch or "HEAD")
    elif do == "pull":
        git("pull", "--quiet", "--no-edit")
    elif do == "fetch":
        git("fetch", "--quiet")
    elif do == "branch":
        git("switch", "--quiet", "-c", step.name) if step.switch else git("branch", step.name)
    elif do == "switch":
        git("switch", "--quiet", step.name)
    elif do == "merge":
        git("merge", "--quiet", "--no-ff", "--no-edit", step.name)


def write_wrapper(sandbox: Sandbox, real_git: str) -> Path:
    """Write ``bin/git``: records each command into the transcript, then runs the real git."""
    sandbox.bin.mkdir(exist_ok=True)
    wrapper = sandbox.bin / "git"
    python = sys.executable
    wrapper.write_text(
        "#!/bin/sh\n"
        "# Written by learnbackend: records git commands for `learnbackend git check`.\n"
        f"LEARNBACKEND_REAL_GIT={shlex.quote(real_git)} LEARNBACKEND_GIT_SANDBOX={shlex.quote(str(sandbox.root))} \\\n"
        f"  exec {shlex.quote(python)} -m learnbackend.gitsandbox.recorder \"$@\"\n"
    )
    wrapper.chmod(0o755)
    return wrapper


def sandbox_root(home: Path, level_key: str) -> Path:
    """Where a level's sandbox lives in the learner's data directory."""
    lesson_id, _, level_id = level_key.partition("/")
    return home / "git" / lesson_id / level_id


def owned_roots(home: Path) -> list[Path]:
    """Every sandbox in the data directory."""
    base = home / "git"
    if not base.is_dir():
        return []
    return sorted(p for p in base.glob("*/*") if p.is_dir() and is_owned(p))


def is_inside(path: Path, parent: Path) -> bool:
    """Whether ``path`` is ``parent`` or below it (after resolving links)."""
    path, parent = Path(os.path.realpath(path)), Path(os.path.realpath(parent))
    return path == parent or parent in path.parents
