"""``assignment regrade``: learners graded from their own files against the instructor's assignment.

Nothing a learner controls raises a grade: their manifest, their reports, symlinks out of the
submission, oversize files. Shards merge into the same gradebook as one run; the class list
names who is missing; lateness follows the last commit, the grace period, extensions and the
late policy.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import yaml
from classroom import git, learner, write_assignment  # type: ignore[import-not-found]
from conftest import run_cli  # type: ignore[import-not-found]

from learnbackend.assignment.regrade import regrade


def _rows(book: object) -> dict[str, tuple[float, bool]]:
    return {e.student: (e.points, e.passed) for e in book.rows}  # type: ignore[attr-defined]


def test_a_learner_edit_of_manifest_and_reports_earns_nothing(tmp_path: Path) -> None:
    assignment = write_assignment(tmp_path / "instructor")
    cheat = learner(assignment, tmp_path / "class" / "mallory", right=False)
    manifest = yaml.safe_load((cheat / "learnbackend.yaml").read_text())
    manifest["exercises"] = manifest["exercises"][:1]
    manifest["exercises"][0]["points"] = 100
    manifest["scoring"]["pass_mark"] = 1
    (cheat / "learnbackend.yaml").write_text(yaml.safe_dump(manifest))
    (cheat / "reports").mkdir()
    (cheat / "reports" / "learnbackend.json").write_text(json.dumps({"results": [], "summary": {"points": 19, "max_points": 19,
                                                                                            "pass_mark_reached": True}}))
    # A symlink to a right answer outside the submission, and an oversize answer file.
    right = learner(assignment, tmp_path / "elsewhere" / "right", right=True, repo=False)
    first = cheat / "exercises" / "01-pick-one" / "answer.txt"
    first.unlink()
    first.symlink_to(right / "exercises" / "01-pick-one" / "answer.txt")
    shutil.rmtree(cheat / "exercises" / "02-pick-many")  # a directory on the way that is a link out
    os.symlink(right / "exercises" / "02-pick-many", cheat / "exercises" / "02-pick-many")
    (cheat / "exercises" / "05-server-side-validation" / "answer.txt").write_text(
        (right / "exercises" / "05-server-side-validation" / "answer.txt").read_text() + "#" * 400_000)
    git(cheat, "add", "-A")
    git(cheat, "commit", "-q", "-m", "tamper")
    honest = learner(assignment, tmp_path / "class" / "ada", right=True)
    book = regrade(assignment, [cheat, honest], jobs=2)
    rows = {e.student: e for e in book.rows}
    assert (rows["mallory"].points, rows["mallory"].passed, rows["mallory"].max_points) == (0.0, False, 6.0)
    assert rows["mallory"].cells["fixture-tiny/pick-one"].status == "error"
    assert rows["mallory"].cells["fixture-tiny/pick-many"].status == "error"
    assert any("symbolic link" in n for n in rows["mallory"].notes)
    assert any("more than the" in n for n in rows["mallory"].notes)
    assert (rows["ada"].points, rows["ada"].passed) == (6.0, True)
    assert rows["ada"].commit == git(honest, "rev-parse", "HEAD")


def test_shards_merge_into_the_whole_class_and_the_class_list_names_the_missing(tmp_path: Path) -> None:
    assignment = write_assignment(tmp_path / "instructor")
    names = {"ada": True, "bo": ["1", "2", "5"], "cy": False, "dee": ["5"], "eve": True}
    subs = [learner(assignment, tmp_path / "class" / n, right=r) for n, r in names.items()]
    roster = tmp_path / "class.csv"
    roster.write_text("student,email\n" + "".join(f"{n},{n}@school.invalid\n" for n in [*names, "fay", "gus"]))
    whole = tmp_path / "whole"
    result = run_cli("assignment", "regrade", str(assignment), *map(str, subs), "--roster", str(roster), "--output", str(whole))
    assert result.exit_code == 0, result.stderr
    assert "Missing: fay, gus" in result.stdout
    for index in (1, 2, 3):
        shard = run_cli("assignment", "regrade", str(assignment), *map(str, subs), "--roster", str(roster),
                        "--shard", f"{index}/3", "--jobs", "1", "--output", str(tmp_path / f"shard{index}"))
        assert shard.exit_code == 0, shard.stderr
    merged = run_cli("grade", *(str(tmp_path / f"shard{i}" / "gradebook.json") for i in (1, 2, 3)), "--output", str(tmp_path / "merged"))
    assert merged.exit_code == 0, merged.stderr
    one = json.loads((whole / "gradebook.json").read_text())
    joined = json.loads((tmp_path / "merged" / "gradebook.json").read_text())
    assert joined["rows"] == one["rows"] and joined["missing"] == one["missing"] == ["fay", "gus"]
    fresh = run_cli("assignment", "regrade", str(assignment), *map(str, subs), "--roster", str(roster), "--no-reuse", "--jobs", "1",
                    "--output", str(tmp_path / "fresh"))
    assert fresh.exit_code == 0 and json.loads((tmp_path / "fresh" / "gradebook.json").read_text())["rows"] == one["rows"]
    points = {r["student"]: r["points"] for r in one["rows"]}
    assert points == {"ada": 6, "bo": 4, "cy": 0, "dee": 2, "eve": 6}
    shards = [json.loads((tmp_path / f"shard{i}" / "gradebook.json").read_text()) for i in (1, 2, 3)]
    assert sorted(r["student"] for s in shards for r in s["rows"]) == sorted(names)
    assert (whole / "feedback" / "bo.md").read_text().count("| failed |") == 2
    bad = run_cli("assignment", "regrade", str(assignment), str(subs[0]), "--shard", "4/3", "--output", str(tmp_path / "x"))
    assert bad.exit_code == 2 and "--shard" in bad.stderr


def test_lateness_follows_the_commit_grace_extensions_and_policy(tmp_path: Path) -> None:
    assignment = write_assignment(tmp_path / "instructor", extra="""due: 2026-11-30T12:00:00+00:00
late:
  grace_minutes: 30
  penalty_per_day: 25
  max_days: 3
extensions:
  bo: 2
""")
    ontime = learner(assignment, tmp_path / "c" / "ada", when="2026-11-30T12:20:00+00:00")  # in the grace period
    extended = learner(assignment, tmp_path / "c" / "bo", when="2026-12-02T11:00:00+00:00")
    late = learner(assignment, tmp_path / "c" / "cy", when="2026-12-01T13:00:00+00:00")  # 2 started days
    too_late = learner(assignment, tmp_path / "c" / "dee", when="2026-12-05T13:00:00+00:00")
    book = regrade(assignment, [ontime, extended, late, too_late], jobs=2)
    got = {e.student: (e.late, e.days_late, e.points) for e in book.rows}
    assert got == {"ada": (False, 0, 6.0), "bo": (False, 0, 6.0), "cy": (True, 2, 3.0), "dee": (True, 6, 0.0)}


def test_attempts_count_the_commits_that_changed_an_exercise(tmp_path: Path) -> None:
    assignment = write_assignment(tmp_path / "instructor")
    repo = learner(assignment, tmp_path / "c" / "ada", right=["2", "3", "4", "5"])
    answer = repo / "exercises" / "01-pick-one" / "answer.txt"
    answer.write_text("z\n")
    git(repo, "commit", "-qam", "try again")
    book = regrade(assignment, [repo], jobs=1)
    cells = book.rows[0].cells
    assert cells["fixture-tiny/pick-one"].attempts == 2 and cells["fixture-tiny/pick-many"].attempts == 1


def test_a_plain_directory_is_graded_without_commit(tmp_path: Path) -> None:
    assignment = write_assignment(tmp_path / "instructor")
    folder = learner(assignment, tmp_path / "c" / "ada", repo=False)
    [entry] = regrade(assignment, [folder], jobs=1).rows
    assert entry.commit is None and entry.points == 6.0 and entry.submitted_at is not None


def test_git_levels_and_code_are_replayed_and_run_from_the_learners_files(tmp_path: Path) -> None:
    assignment = write_assignment(tmp_path / "instructor", exercises="""  - id: git-local/commit-staged
    points: 3
  - id: counter-build/idempotent-add
    points: 4
""")
    right = learner(assignment, tmp_path / "c" / "ada", right=True)
    starter = learner(assignment, tmp_path / "c" / "bo", right=["1"])  # the git level botched, the code left as the starter
    book = regrade(assignment, [right, starter], jobs=2)
    rows = {e.student: e for e in book.rows}
    assert rows["ada"].points == 13.0 and rows["ada"].cells["counter-build/idempotent-add"].status == "passed"
    assert rows["bo"].cells["git-local/commit-staged"].status == "failed"
    assert rows["bo"].cells["counter-build/idempotent-add"].points == 0.0
    assert rows["bo"].points == 1.0


def test_ctrl_c_stops_the_class_and_leaves_no_scratch_directory(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    assignment = write_assignment(tmp_path / "instructor", exercises="  - id: counter-build/idempotent-add\n")
    subs = []
    for name in ("ada", "bo", "cy"):
        root = learner(assignment, tmp_path / "c" / name, right=True)
        code = next(root.glob("exercises/06-*/*.py"))
        code.write_text("while True:\n    pass\n")  # the tests never finish: the regrade is busy when interrupted
        git(root, "commit", "-qam", "spin")
        subs.append(root)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = subprocess.Popen([sys.executable, "-m", "learnbackend", "assignment", "regrade", str(assignment), *map(str, subs),
                             "--jobs", "2", "--timeout", "120", "--output", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not list(scratch.glob("learnbackend-regrade-*/learner-*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(scratch.glob("learnbackend-regrade-*/learner-*")), "no learner was being graded"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err and "Interrupted" in err
    assert not list(scratch.glob("learnbackend-regrade-*"))
    assert not (tmp_path / "out").exists()


def test_late_rules_are_validated_with_their_line(tmp_path: Path) -> None:
    bad = write_assignment(tmp_path / "a", extra="late:\n  penalty_per_day: 200\n")
    result = run_cli("assignment", "validate", str(bad))
    assert result.exit_code == 2 and "late.penalty_per_day" in result.stderr and "week-1.yaml:7" in result.stderr
    undated = write_assignment(tmp_path / "b", extra="extensions: {ada: 2}\n")
    result = run_cli("assignment", "validate", str(undated))
    assert result.exit_code == 2 and "need a `due` date" in result.stderr
    negative = write_assignment(tmp_path / "c", extra="due: 2026-12-01\nextensions: {ada: -3}\n")
    result = run_cli("assignment", "validate", str(negative))
    assert result.exit_code == 2 and "extensions" in result.stderr
