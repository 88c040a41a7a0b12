"""Commit graphs of a level, as it is now and as its goal looks, drawn from real repositories.

Like LearnGitBranching's goal window: the goal graph comes from building the level in a
temporary sandbox and replaying the reference solution there, so it is what git really makes,
not a drawing in the lesson file. Commit ids differ between the two (other timestamps), so
graphs show commit messages and branch names only.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from learnbackend.gitsandbox import gitenv

if TYPE_CHECKING:
    from learnbackend.gitsandbox.models import GitLevel
    from learnbackend.gitsandbox.sandbox import Sandbox

#: Where a sandbox keeps its level's goal graph (computed once, when the level is built).
GOAL_FILE = "goal-graph.json"
MAX_COMMITS = 12


@dataclass(frozen=True)
class Graph:
    """`git log --graph` lines of your repository (branches and origin/*) and of the remote."""

    work: list[str]
    remote: list[str]

    def to_dict(self) -> dict[str, list[str]]:
        return asdict(self)


def _log(repo: Path, sandbox: Sandbox) -> list[str]:
    env = gitenv.isolated_env(sandbox.config, sandbox.root)
    try:
        done = subprocess.run(
            [gitenv.git_executable(), "log", "--graph", "--all", "--color=never", "--decorate=short",
             "--format=%s%d", "-n", str(MAX_COMMITS)],
            cwd=repo, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    if done.returncode != 0:
        return []  # an empty repository has no log yet
    return [line.rstrip() for line in done.stdout.splitlines()][: MAX_COMMITS * 2]


def read_graph(sandbox: Sandbox) -> Graph:
    """The commit graphs of a sandbox's work repository and its remote, as they are now."""
    return Graph(work=_log(sandbox.work, sandbox), remote=_log(sandbox.remote, sandbox))


def goal_graph(level: GitLevel, level_key: str) -> Graph | None:
    """Build the level aside, replay its reference solution, and read the graphs (None if that fails)."""
    from learnbackend.errors import LearnBackendError
    from learnbackend.gitsandbox.replay import replay
    from learnbackend.gitsandbox.sandbox import build, remove
    from learnbackend.gitsandbox.solution import parse_solution

    base = Path(tempfile.mkdtemp(prefix="learnbackend-goal-"))
    try:
        sandbox = build(level, base / "sandbox", level_key)
        log = replay(sandbox, parse_solution("\n".join(level.solution)), timeout=30.0)
        if log.timed_out:
            return None
        return read_graph(sandbox)
    except (LearnBackendError, OSError):
        return None
    finally:
        if (base / "sandbox").exists():
            remove(base / "sandbox")
        shutil.rmtree(base, ignore_errors=True)


def save_goal(sandbox: Sandbox, graph: Graph | None) -> None:
    if graph is not None:
        (sandbox.root / GOAL_FILE).write_text(json.dumps(graph.to_dict()))


def load_goal(sandbox: Sandbox) -> Graph | None:
    """The goal graph saved when the level was built, or None."""
    try:
        data = json.loads((sandbox.root / GOAL_FILE).read_text())
        return Graph(work=[str(x) for x in data["work"]], remote=[str(x) for x in data["remote"]])
    except (OSError, ValueError, KeyError, TypeError):
        return None
