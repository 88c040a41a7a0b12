"""The area diagram shows what `git status --porcelain` reports, for every kind of change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from git_fixtures import build_level, git

from learnbackend.gitsandbox.areas import read_areas

_CONFLICTS = {"DD", "AU", "UD", "UA", "DU", "AA", "UU"}


def porcelain(sandbox: Any) -> dict[str, set[str]]:
    """What real `git status` says, sorted into the diagram's areas."""
    raw = git(sandbox, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    fields = raw.split("\0")
    areas: dict[str, set[str]] = {"untracked": set(), "staged": set(), "unstaged": set(), "conflict": set()}
    i = 0
    while i < len(fields) and fields[i]:
        code, path = fields[i][:2], fields[i][3:]
        i += 1
        if code[0] in "RC":
            i += 1  # the original path follows
        if code == "??":
            areas["untracked"].add(path)
        elif code in _CONFLICTS:
            areas["conflict"].add(path)
        else:
            if code[0] in "MADRCT":
                areas["staged"].add(path)
            if code[1] in "MDT":
                areas["unstaged"].add(path)
    return areas


def diagram(sandbox: Any) -> dict[str, set[str]]:
    areas = read_areas(sandbox)
    return {
        "untracked": areas.untracked,
        "staged": areas.staged_paths,
        "unstaged": {f.path for f in areas.working if f.change not in ("untracked", "conflict")},
        "conflict": {f.path for f in areas.working if f.change == "conflict"},
    }


def test_every_kind_of_local_change(tmp_path: Path) -> None:
    sandbox = build_level("commit-only-one", tmp_path)  # prices.py and README.md modified, not staged
    work = sandbox.work
    (work / "new.txt").write_text("new\n")
    (work / "docs").mkdir()
    (work / "docs" / "guide.md").write_text("guide\n")  # untracked inside an untracked directory
    (work / "staged-new.txt").write_text("x\n")
    git(sandbox, "add", "staged-new.txt", "prices.py")
    (work / "prices.py").write_text("changed again after staging\n")  # staged and modified (MM)
    git(sandbox, "mv", "README.md", "READ-ME.md")  # a staged rename
    expected = porcelain(sandbox)
    assert expected["untracked"] == {"new.txt", "docs/guide.md"}
    assert {"staged-new.txt", "prices.py", "READ-ME.md"} <= expected["staged"]
    assert diagram(sandbox) == expected


def test_deletions_staged_and_not(tmp_path: Path) -> None:
    sandbox = build_level("diff-head", tmp_path)  # app.py staged and modified again
    (sandbox.work / "extra.txt").write_text("x\n")
    git(sandbox, "add", "extra.txt")
    git(sandbox, "commit", "-q", "-m", "extra")
    git(sandbox, "rm", "-q", "--cached", "extra.txt")  # deleted in the index, file now untracked
    (sandbox.work / "app.py").unlink()  # deleted in the working tree only
    expected = porcelain(sandbox)
    assert "extra.txt" in expected["staged"] and "extra.txt" in expected["untracked"]
    assert "app.py" in expected["unstaged"]
    assert diagram(sandbox) == expected


def test_a_merge_conflict(tmp_path: Path) -> None:
    sandbox = build_level("resolve-conflict", tmp_path)
    git(sandbox, "pull", check=False)
    expected = porcelain(sandbox)
    assert expected["conflict"] == {"config.py"}
    assert diagram(sandbox) == expected
    areas = read_areas(sandbox)
    assert areas.merging


def test_a_repository_without_commits(tmp_path: Path) -> None:
    from learnbackend.gitsandbox.models import GitLevel
    from learnbackend.gitsandbox.sandbox import build

    empty = GitLevel.model_validate({
        "id": "empty", "kind": "git-level", "title": "t", "goal": "g", "hints": ["h"], "explanation": "e",
        "setup": [{"do": "write", "path": "a.txt", "text": "a\n"}, {"do": "write", "path": "b.txt", "text": "b\n"},
                  {"do": "add", "paths": ["a.txt"]}],
        "done_when": [{"check": "clean"}], "solution": ["git add -A"],
    })
    sandbox = build(empty, tmp_path / "sandbox", "test/empty")
    expected = porcelain(sandbox)
    assert expected == {"untracked": {"b.txt"}, "staged": {"a.txt"}, "unstaged": set(), "conflict": set()}
    assert diagram(sandbox) == expected
    areas = read_areas(sandbox)
    assert areas.log == [] and areas.remote_branches == []


def test_branches_and_remote_match_git(tmp_path: Path) -> None:
    sandbox = build_level("fetch-and-inspect", tmp_path)
    areas = read_areas(sandbox)
    assert areas.head == "main"
    main = next(b for b in areas.branches if b.name == "main")
    assert main.commit is not None and main.commit.sha == git(sandbox, "rev-parse", "--short=7", "main").strip()
    remote_main = next(b for b in areas.remote_branches if b.name == "main")
    tracking = next(b for b in areas.tracking if b.name == "origin/main")
    assert remote_main.commit and tracking.commit and remote_main.commit.sha != tracking.commit.sha  # not fetched yet
    assert areas.remote_log[0].author == "Sam (teammate)"
    git(sandbox, "fetch", "-q")
    areas = read_areas(sandbox)
    tracking = next(b for b in areas.tracking if b.name == "origin/main")
    assert tracking.commit == areas.remote_log[0]
    assert next(b for b in areas.branches if b.name == "main").behind == 1
