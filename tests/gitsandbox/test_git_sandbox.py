"""The sandbox never touches a path it did not create, and only deletes what carries its marker."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli
from git_fixtures import need_git, tree_state

from learnbackend.errors import RefusedError
from learnbackend.gitsandbox.sandbox import MARKER, create, is_owned, remove


def test_a_directory_without_the_marker_is_never_deleted(tmp_path: Path) -> None:
    mine = tmp_path / "my-project"
    mine.mkdir()
    (mine / "precious.txt").write_text("do not delete")
    with pytest.raises(RefusedError):
        remove(mine)
    with pytest.raises(RefusedError):
        create(mine, "git-local/stage-a-file")
    assert (mine / "precious.txt").read_text() == "do not delete"


def test_a_forged_or_linked_marker_is_not_ownership(tmp_path: Path) -> None:
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / MARKER).write_text("not json")
    assert not is_owned(forged)
    real = create(tmp_path / "real", "x/y")
    link = tmp_path / "link"
    link.symlink_to(real.root)
    assert is_owned(real.root) and not is_owned(link)
    with pytest.raises(RefusedError):
        remove(link)
    assert real.root.exists()
    marker_link = tmp_path / "marker-link"
    marker_link.mkdir()
    (marker_link / MARKER).symlink_to(real.marker)
    assert not is_owned(marker_link)


def test_the_cli_touches_nothing_outside_its_sandboxes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """start/status/hint/check/reset/clean/replay: everything outside the sandboxes stays as it was."""
    need_git()
    home = tmp_path / "data"
    home.mkdir()
    monkeypatch.setenv("LEARNBACKEND_HOME", str(home))
    # Things the tool did not create: beside the data dir, in it, and where a sandbox would go.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "notes.txt").write_text("mine")
    (home / "user-file.txt").write_text("mine")
    squatted = home / "git" / "git-local" / "commit-staged"
    squatted.mkdir(parents=True)
    (squatted / "precious.txt").write_text("mine")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # a repository *around* everything
    solution = outside / "solution.txt"
    solution.write_text("git add notes.md\n")
    before_outside = tree_state(tmp_path, skip=(home,))
    before_home = tree_state(home, skip=(home / "git" / "git-local" / "stage-a-file",))

    assert run_cli("git", "start", "stage-a-file").exit_code == 0
    assert run_cli("git", "status").exit_code == 0
    assert run_cli("git", "hint").exit_code == 0
    assert run_cli("git", "check").exit_code == 1
    assert run_cli("git", "reset").exit_code == 0
    assert run_cli("git", "replay", "stage-a-file", str(solution)).exit_code == 0
    refused = run_cli("git", "start", "commit-staged")
    assert refused.exit_code == 2 and "not created by learnbackend" in refused.stderr
    refused = run_cli("git", "clean")  # no terminal to confirm on: refused, nothing deleted
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert run_cli("git", "clean", "--yes").exit_code == 0

    assert tree_state(tmp_path, skip=(home,)) == before_outside
    created = {"progress.sqlite3", "progress.sqlite3-wal", "progress.sqlite3-shm", "git/git-local/stage-a-file"}
    after_home = {k: v for k, v in tree_state(home, skip=(home / "git" / "git-local" / "stage-a-file",)).items()
                  if k not in created}
    assert after_home == {k: v for k, v in before_home.items() if k not in created}
    assert (squatted / "precious.txt").read_text() == "mine"
    assert not (home / "git" / "git-local" / "stage-a-file").exists()  # clean removed our own sandbox
    # The repository around everything saw no commit, no new branch and no index.
    assert not (tmp_path / ".git" / "index").exists()
    assert subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, check=False).returncode != 0


def test_the_marker_names_the_level_and_a_random_token(tmp_path: Path) -> None:
    first = create(tmp_path / "a", "git-local/stage-a-file")
    second = create(tmp_path / "b", "git-local/stage-a-file")
    one, two = json.loads(first.marker.read_text()), json.loads(second.marker.read_text())
    assert one["level"] == "git-local/stage-a-file" and one["token"] != two["token"]


def test_a_damaged_sandbox_is_reported_not_read_elsewhere(isolated_env: Path) -> None:
    """Without work/.git, git would climb to a parent repository; the tool says to reset instead."""
    need_git()
    assert run_cli("git", "start", "stage-a-file").exit_code == 0
    import shutil

    shutil.rmtree(isolated_env / "git" / "git-local" / "stage-a-file" / "work" / ".git")
    result = run_cli("git", "check")
    assert result.exit_code == 2
    assert "git reset" in result.stderr


def test_replay_leftovers_of_a_killed_run_are_reaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import tempfile

    from learnbackend.gitsandbox.handler import REPLAY_PREFIX, reap_leftovers

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old = tmp_path / f"{REPLAY_PREFIX}old"
    create(old / "sandbox", "x/y")
    home = old / "git-home-1"  # the read-only git home of the killed replay
    (home / "hooks").mkdir(parents=True)
    (home / "gitconfig").write_text("[user]\n")
    for path in (home / "hooks", home):
        path.chmod(0o555)
    foreign = tmp_path / f"{REPLAY_PREFIX}foreign"
    (foreign / "sandbox").mkdir(parents=True)  # no marker: not ours
    fresh = tmp_path / f"{REPLAY_PREFIX}fresh"
    create(fresh / "sandbox", "x/y")  # a replay running right now
    for parent in (old, foreign):
        os.utime(parent, (0, 0))
    assert reap_leftovers() == [old / "sandbox"]
    assert not old.exists() and foreign.exists() and fresh.exists()
