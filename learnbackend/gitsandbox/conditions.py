"""Checking a level's goal on the real repositories: one ConditionResult per condition, expected vs actual."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import ExitStack
from functools import cached_property
from typing import Any

from gitdb import exc as gitdb_exc

from learnbackend.course.results import ConditionResult
from learnbackend.gitsandbox import models as m
from learnbackend.gitsandbox.areas import FileEntry, open_repo, read_files
from learnbackend.gitsandbox.sandbox import Sandbox, safe_target
from learnbackend.workspace.safefiles import read_bytes

_MARKERS = re.compile(r"^(<{7}|>{7})( |$)|^={7}$", re.MULTILINE)
Outcome = tuple[bool, Any, Any]


class Inspector:
    """Reads what the conditions need from a sandbox, each thing at most once."""

    def __init__(self, sandbox: Sandbox, stack: ExitStack) -> None:
        self.sandbox = sandbox
        self._stack = stack
        self.repo = stack.enter_context(open_repo(sandbox.work, sandbox))

    @cached_property
    def remote(self) -> Any:
        return self._stack.enter_context(open_repo(self.sandbox.remote, self.sandbox))

    @cached_property
    def files(self) -> tuple[list[FileEntry], list[FileEntry]]:
        return read_files(self.repo)

    def state_of(self, path: str) -> str:
        """Where a file is, in words (the 'actual' of file conditions)."""
        working, staged = self.files
        work = {f.path: f.change for f in working}
        stage = {f.path: f.change for f in staged}
        if work.get(path) == "conflict":
            return "in conflict (unmerged)"
        if path in stage and path in work:
            return f"staged ({stage[path]}), with more changes not staged"
        if path in stage:
            return f"staged ({stage[path]})"
        if work.get(path) == "untracked":
            return "untracked"
        if path in work:
            return f"{work[path]}, not staged"
        if (path, 0) in self.repo.index.entries:
            return "unchanged since the last commit"
        return "does not exist"

    def commit(self, ref: str) -> Any | None:
        """The commit a ref names (``remote:BRANCH`` reads the remote repository), or None."""
        try:
            if ref.startswith("remote:"):
                return self.remote.commit(ref.removeprefix("remote:"))
            return self.repo.commit(ref)
        except (gitdb_exc.BadName, gitdb_exc.BadObject, ValueError, IndexError, KeyError):  # unknown or unborn ref
            return None

    def merging(self) -> bool:
        from pathlib import Path

        return (Path(self.repo.git_dir) / "MERGE_HEAD").exists()


def _short(commit: Any) -> str:
    return f"{commit.hexsha[:7]} {commit.summary}"


def _check(cond: Any, inspector: Inspector) -> Outcome:
    check = _CHECKS[cond.check]
    return check(cond, inspector)


def _file_state(wanted: str, test: Callable[[str], bool]) -> Callable[[Any, Inspector], Outcome]:
    def run(cond: Any, ins: Inspector) -> Outcome:
        state = ins.state_of(cond.path)
        return test(state), wanted, state
    return run


def _file_contains(cond: m.FileContains, ins: Inspector) -> Outcome:
    target = safe_target(ins.sandbox.work, cond.path)
    if not target.is_file():
        return (not cond.present), f"{'contains' if cond.present else 'lacks'} {cond.text!r}", "the file does not exist"
    found = cond.text in read_bytes(ins.sandbox.work, cond.path).decode("utf-8", "replace")  # capped, no links
    return found == cond.present, ("contains " if cond.present else "lacks ") + repr(cond.text), \
        ("contains it" if found else "does not contain it")


def _commit_file(cond: m.CommitFile, ins: Inspector) -> Outcome:
    commit = ins.commit(cond.ref)
    if commit is None:
        return (not cond.exists), f"{cond.path} in {cond.ref}", f"{m.ref_label(cond.ref)} does not exist yet"
    try:
        content = (commit.tree / cond.path).data_stream.read().decode("utf-8", "replace")
    except KeyError:
        return (not cond.exists), ("in " if cond.exists else "not in ") + cond.ref, f"not in {m.ref_label(cond.ref)}"
    if not cond.exists:
        return False, f"not in {m.ref_label(cond.ref)}", f"committed in {_short(commit)}"
    problems = []
    if cond.contains and cond.contains not in content:
        problems.append(f"lacks {cond.contains!r}")
    if cond.lacks and cond.lacks in content:
        problems.append(f"contains {cond.lacks!r}")
    expected = " and ".join(filter(None, [f"contains {cond.contains!r}" if cond.contains else "",
                                          f"lacks {cond.lacks!r}" if cond.lacks else ""])) or "committed"
    return not problems, expected, "; ".join(problems) or expected


def _head_changes(cond: m.HeadChanges, ins: Inspector) -> Outcome:
    commit = ins.commit("HEAD")
    if commit is None:
        return False, sorted(cond.paths), "no commit yet"
    changed = sorted(commit.stats.files)
    return changed == sorted(cond.paths), sorted(cond.paths), changed


def _clean(cond: m.Clean, ins: Inspector) -> Outcome:
    working, staged = ins.files
    parts = []
    if ins.merging():
        parts.append("a merge in progress")
    if staged:
        parts.append(f"{len(staged)} staged: " + ", ".join(f.path for f in staged))
    if working:
        parts.append(f"{len(working)} changed or untracked: " + ", ".join(f.path for f in working))
    return not parts, "clean", "; ".join(parts) or "clean"


def _no_markers(cond: m.NoConflictMarkers, ins: Inspector) -> Outcome:
    from learnbackend.gitsandbox.recorder import snapshot_tree

    marked = []
    for path in sorted(snapshot_tree(ins.sandbox.work)):
        text = read_bytes(ins.sandbox.work, path).decode("utf-8", "replace")  # capped, no links
        if _MARKERS.search(text):
            marked.append(path)
    unmerged = sorted(ins.repo.index.unmerged_blobs())
    actual = (f"markers in {', '.join(marked)}" if marked else "") + (f"; unmerged: {', '.join(unmerged)}" if unmerged else "")
    return not marked and not unmerged, "no markers", actual.strip("; ") or "no markers"


def _message(cond: m.CommitMessage, ins: Inspector) -> Outcome:
    commit = ins.commit(cond.ref)
    if commit is None:
        return False, f"/{cond.matches}/", f"{m.ref_label(cond.ref)} does not exist yet"
    message = str(commit.message).strip()
    return bool(re.search(cond.matches, message, re.IGNORECASE)), f"/{cond.matches}/", message


def _count(cond: m.CommitCount, ins: Inspector) -> Outcome:
    commit = ins.commit(cond.ref)
    count = 0 if commit is None else commit.count()
    return count == cond.count, cond.count, count


def _has_commit(cond: m.HasCommit, ins: Inspector) -> Outcome:
    commit = ins.commit(cond.ref)
    history = [] if commit is None else list(commit.iter_items(commit.repo, commit.hexsha, max_count=200))
    found = next((c for c in history if re.search(cond.message, str(c.message), re.IGNORECASE)), None)
    expected = ("a commit matching " if cond.present else "no commit matching ") + f"/{cond.message}/"
    if found is not None:
        actual = f"has {_short(found)}"
    else:
        actual = "no such commit; recent: " + ", ".join(str(c.summary) for c in history[:4]) if history \
            else f"{m.ref_label(cond.ref)} does not exist"
    return (found is not None) == cond.present, expected, actual


def _same(cond: m.SameCommit, ins: Inspector) -> Outcome:
    a, b = ins.commit(cond.ref), ins.commit(cond.other)

    def show(ref: str, c: Any) -> str:
        return f"{m.ref_label(ref)} = {c.hexsha[:7] if c is not None else 'missing'}"

    return a is not None and b is not None and a.hexsha == b.hexsha, "the same commit", \
        f"{show(cond.ref, a)}, {show(cond.other, b)}"


def _merge(cond: m.MergeCommit, ins: Inspector) -> Outcome:
    commit = ins.commit(cond.ref)
    parents = 0 if commit is None else len(commit.parents)
    return parents >= 2, "2 parents", f"{parents} parent(s)" + (f" ({_short(commit)})" if commit is not None else "")


def _branch(cond: m.BranchExists, ins: Inspector) -> Outcome:
    repo = ins.remote if cond.where == "remote" else ins.repo
    names = sorted(h.name for h in repo.heads)
    return cond.name in names, cond.name, ", ".join(names) or "no branches"


def _current(cond: m.CurrentBranch, ins: Inspector) -> Outcome:
    head = ins.repo.head
    actual = f"detached at {head.commit.hexsha[:7]}" if head.is_detached else head.ref.name
    return actual == cond.name, cond.name, actual


def _upstream(cond: m.Upstream, ins: Inspector) -> Outcome:
    head = next((h for h in ins.repo.heads if h.name == cond.branch), None)
    if head is None:
        return False, cond.upstream, f"there is no branch {cond.branch}"
    tracking = head.tracking_branch()
    actual = tracking.name if tracking is not None else "no upstream"
    return actual == cond.upstream, cond.upstream, actual


_CHECKS: dict[str, Callable[[Any, Inspector], Outcome]] = {
    "staged": _file_state("staged", lambda s: s.startswith("staged")),
    "untracked": _file_state("untracked", lambda s: s == "untracked"),
    "modified": _file_state("modified, not staged", lambda s: s.endswith("not staged")),
    "unchanged": _file_state("unchanged since the last commit", lambda s: s.startswith("unchanged")),
    "file-contains": _file_contains,
    "commit-file": _commit_file,
    "head-changes": _head_changes,
    "clean": _clean,
    "no-conflict-markers": _no_markers,
    "commit-message": _message,
    "commit-count": _count,
    "has-commit": _has_commit,
    "same-commit": _same,
    "merge-commit": _merge,
    "branch-exists": _branch,
    "current-branch": _current,
    "upstream": _upstream,
}


def evaluate(level: m.GitLevel, sandbox: Sandbox) -> list[ConditionResult]:
    """Check every condition of the level's goal (never raises for an unmet one)."""
    results = []
    with ExitStack() as stack:
        inspector = Inspector(sandbox, stack)
        for number, cond in enumerate(level.done_when, 1):
            passed, expected, actual = _check(cond, inspector)
            results.append(ConditionResult(f"{number}-{cond.check}", bool(passed), cond.describe(), expected, actual))
    return results
