"""The four areas of the Git workflow, read from the real repositories through GitPython.

Working directory (untracked and changed files), staging area (what the next
commit will contain), local repository (HEAD, branches, recent commits) and the
remote (the bare repository's branches, and how far your origin/* copies are).
The result is plain data; ``render.py`` draws it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from learnbackend.gitsandbox.sandbox import Sandbox

_REDIRECTING = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
                "GIT_NAMESPACE", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_EXTERNAL_DIFF", "GIT_SSH_COMMAND", "GIT_SSH")
_CHANGE = {"A": "new", "D": "deleted", "M": "modified", "R": "renamed", "T": "type changed", "C": "copied"}


@dataclass(frozen=True)
class FileEntry:
    """A file in an area and how it differs: new, modified, deleted, renamed, untracked, conflict."""

    path: str
    change: str


@dataclass(frozen=True)
class CommitInfo:
    """One commit, short."""

    sha: str
    summary: str
    author: str = ""
    parents: int = 1


@dataclass
class BranchInfo:
    """A branch and its tip; for local branches, its upstream and how far it is from it."""

    name: str
    commit: CommitInfo | None
    current: bool = False
    upstream: str | None = None
    ahead: int = 0
    behind: int = 0


@dataclass
class AreaSnapshot:
    """The four areas at one moment."""

    working: list[FileEntry] = field(default_factory=list)
    staged: list[FileEntry] = field(default_factory=list)
    head: str = ""
    detached: bool = False
    merging: bool = False
    branches: list[BranchInfo] = field(default_factory=list)
    log: list[CommitInfo] = field(default_factory=list)
    tracking: list[BranchInfo] = field(default_factory=list)
    remote_branches: list[BranchInfo] = field(default_factory=list)
    remote_log: list[CommitInfo] = field(default_factory=list)

    @property
    def untracked(self) -> set[str]:
        return {f.path for f in self.working if f.change == "untracked"}

    @property
    def unstaged(self) -> set[str]:
        """Tracked files whose working copy differs from the staging area (or that are in conflict)."""
        return {f.path for f in self.working if f.change != "untracked"}

    @property
    def staged_paths(self) -> set[str]:
        return {f.path for f in self.staged}

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


@contextmanager
def open_repo(path: Path, sandbox: Sandbox) -> Iterator[Any]:
    """A GitPython ``Repo`` whose git processes use the sandbox's isolated config; closed afterwards."""
    import git

    repo = git.Repo(path)
    env: dict[str, Any] = dict(sandbox.git_env(base={}))
    # A GIT_DIR (or similar) in the user's environment must not redirect GitPython elsewhere.
    env.update({name: None for name in _REDIRECTING})
    repo.git.update_environment(**env)
    try:
        yield repo
    finally:
        repo.close()


def commit_info(commit: Any) -> CommitInfo:
    """A GitPython commit as :class:`CommitInfo`."""
    return CommitInfo(commit.hexsha[:7], str(commit.summary), str(commit.author.name), len(commit.parents))


def read_files(repo: Any) -> tuple[list[FileEntry], list[FileEntry]]:
    """(working directory, staging area) entries of a working repository."""
    unmerged = sorted(repo.index.unmerged_blobs())
    staged: list[FileEntry] = []
    if repo.head.is_valid():
        for diff in repo.index.diff("HEAD", R=True):
            path = diff.b_path or diff.a_path
            if path in unmerged:
                continue
            staged.append(FileEntry(path, _CHANGE.get(diff.change_type or "M", "modified")))
    else:  # no commit yet: everything in the index is new
        staged = [FileEntry(path, "new") for (path, stage) in repo.index.entries if stage == 0]
    working = [FileEntry(p, "conflict") for p in unmerged]
    for diff in repo.index.diff(None):
        path = diff.a_path or diff.b_path
        if path not in unmerged:
            working.append(FileEntry(path, _CHANGE.get(diff.change_type or "M", "modified")))
    working.extend(FileEntry(p, "untracked") for p in repo.untracked_files)
    return sorted(working, key=lambda f: f.path), sorted(staged, key=lambda f: f.path)


def read_areas(sandbox: Sandbox, *, log_size: int = 5) -> AreaSnapshot:
    """Everything the area diagram shows."""
    snapshot = AreaSnapshot()
    with open_repo(sandbox.work, sandbox) as repo:
        snapshot.working, snapshot.staged = read_files(repo)
        snapshot.merging = (Path(repo.git_dir) / "MERGE_HEAD").exists()
        snapshot.detached = repo.head.is_detached
        current = None if snapshot.detached else repo.head.ref.name
        if snapshot.detached:
            snapshot.head = f"detached at {repo.head.commit.hexsha[:7]}"
        else:
            snapshot.head = current or ""
        for head in repo.heads:
            upstream = head.tracking_branch()
            branch = BranchInfo(head.name, commit_info(head.commit), head.name == current,
                                upstream.name if upstream is not None else None)
            if upstream is not None and upstream.is_valid():
                counts = repo.git.rev_list("--left-right", "--count", f"{head.name}...{upstream.name}").split()
                branch.ahead, branch.behind = int(counts[0]), int(counts[1])
            snapshot.branches.append(branch)
        if repo.head.is_valid():
            snapshot.log = [commit_info(c) for c in repo.iter_commits("HEAD", max_count=log_size)]
        for ref in repo.remotes.origin.refs if "origin" in [r.name for r in repo.remotes] else []:
            if ref.remote_head != "HEAD":
                snapshot.tracking.append(BranchInfo(ref.name, commit_info(ref.commit)))
    with open_repo(sandbox.remote, sandbox) as remote:
        for head in remote.heads:
            snapshot.remote_branches.append(BranchInfo(head.name, commit_info(head.commit)))
        if remote.heads:
            main = next((h for h in remote.heads if h.name == "main"), remote.heads[0])
            snapshot.remote_log = [commit_info(c) for c in remote.iter_commits(main.name, max_count=log_size)]
    return snapshot
