"""The progress store under real concurrent processes, kill -9 and damaged files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml
from conftest import run_cli

from learnbackend.course.progress import ProgressStore

WRITER = """
import sys, time
from pathlib import Path
from learnbackend.course.progress import ProgressStore
path, tag, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
with ProgressStore.open(path) as store:
    print("ready", flush=True)
    for i in range(count):
        store.record("roadmap", f"{tag}/{i}", "passed" if i % 2 else "failed", detail={"i": i})
        if count < 0:
            break
print("done", flush=True)
"""

OPEN_AT = """
import sys, time
from pathlib import Path
from learnbackend.course.progress import ProgressStore
path, start = Path(sys.argv[1]), float(sys.argv[2])
while time.time() < start:  # every process opens the brand-new file at the same instant
    pass
with ProgressStore.open(path) as store:
    store.record("roadmap", f"race/{sys.argv[3]}", "passed")
"""

FOREVER = """
import sys
from pathlib import Path
from learnbackend.course.progress import ProgressStore
with ProgressStore.open(Path(sys.argv[1])) as store:
    i = 0
    while True:
        store.record("git", f"loop/{i}", "passed", detail={"payload": "x" * 2000})
        i += 1
        if i == 50:
            print("writing", flush=True)
"""


def _spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True)


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "progress.sqlite3"
    writers = [_spawn(WRITER, str(path), tag, "300") for tag in ("a", "b")]
    for w in writers:
        out, _ = w.communicate(timeout=120)
        assert w.returncode == 0 and "done" in out
    with ProgressStore.open(path) as store:
        attempts = store.attempts(module="roadmap")
        assert len(attempts) == 600
        assert len(store.statuses(module="roadmap")) == 600
        assert store.warnings == []


def test_processes_creating_the_store_at_the_same_moment_all_succeed(tmp_path: Path) -> None:
    # Switching a new file to WAL needs an exclusive lock that SQLite does not wait for:
    # many rounds of two processes opening a brand-new file at once must all succeed.
    import time as _time

    for round_ in range(20):
        path = tmp_path / f"race-{round_}.sqlite3"
        start = str(_time.time() + 0.6)
        openers = [subprocess.Popen([sys.executable, "-c", OPEN_AT, str(path), start, str(i)],
                                    stderr=subprocess.PIPE, text=True) for i in range(3)]
        for p in openers:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        with ProgressStore.open(path) as store:
            assert len(store.attempts(module="roadmap")) == 3


def test_kill_9_mid_write_never_corrupts(tmp_path: Path) -> None:
    path = tmp_path / "progress.sqlite3"
    for _round in range(3):
        proc = _spawn(FOREVER, str(path))
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "writing"
        time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        with ProgressStore.open(path) as store:
            assert store.warnings == []
            n = len(store.attempts(module="git"))
            assert n >= 50
            # every committed attempt has its status row: transactions were atomic
            assert len(store.statuses(module="git")) == len({a.exercise_id for a in store.attempts(module="git")})
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()


def test_damaged_file_is_moved_aside_with_a_warning(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    damaged = home / "progress.sqlite3"
    damaged.write_bytes(b"this is not a database" * 100)
    result = run_cli("progress", "--json", env={"LEARNBACKEND_HOME": str(home)})
    assert result.exit_code == 0
    assert "was damaged" in result.stderr and "moved to" in result.stderr
    aside = [p for p in home.iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    with ProgressStore.open(damaged) as store:
        assert store.warnings == []


def test_a_pass_is_not_lost_by_a_later_failure(tmp_path: Path) -> None:
    with ProgressStore.open(tmp_path / "p.sqlite3") as store:
        store.record("git", "l/1", "passed")
        store.record("git", "l/1", "failed")
        assert store.statuses() == {"l/1": "passed"}
        assert store.last_outcomes() == {"l/1": "failed"}


def test_progress_reset_needs_confirmation_without_a_terminal() -> None:
    with ProgressStore.open(Path(os.environ["LEARNBACKEND_HOME"]) / "progress.sqlite3") as store:
        store.record("roadmap", "roadmap-apis/x", "passed")
        store.record("git", "git-basics/y", "passed")
    refused = run_cli("progress", "reset")
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr
    done = run_cli("progress", "reset", "--module", "git", "--yes")
    assert done.exit_code == 0 and "Erased your git progress (1 attempts)" in done.stdout
    with ProgressStore.open(Path(os.environ["LEARNBACKEND_HOME"]) / "progress.sqlite3") as store:
        assert store.statuses() == {"roadmap-apis/x": "passed"}
    bad = run_cli("progress", "reset", "--module", "cooking", "--yes")
    assert bad.exit_code == 2


def test_progress_json_shows_every_module() -> None:
    result = run_cli("progress", "--json")
    assert result.exit_code == 0
    modules = {m["module"]: m for m in result.json["modules"]}
    assert set(modules) == {"roadmap", "git", "containers", "counter"}
    assert modules["roadmap"]["exercises"] >= 90


def test_unwritable_home_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("progress", env={"LEARNBACKEND_HOME": str(blocker / "sub")})
    assert result.exit_code == 2
    assert "Cannot open the progress file" in result.stderr


def test_the_last_module_worked_on_is_remembered(tmp_path: Path) -> None:
    with ProgressStore.open(tmp_path / "p.sqlite3") as store:
        assert store.get_value("last_module") is None
        store.record("git", "git-basics/stage", "failed")
        assert store.get_value("last_module") == "git"
        store.record("roadmap", "roadmap-apis/x", "passed")
        assert store.get_value("last_module") == "roadmap"


def test_a_pass_in_a_workspace_counts_in_the_home_overview(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from conftest import run_cli

    root = tmp_path / "ws"
    assert run_cli("init", str(root), "--lesson", "roadmap-fundamentals").exit_code == 0
    answer = next((root / "exercises").glob("*dns-ttl*")) / "answer.txt"
    before = {m["module"]: m["passed"] for m in run_cli("progress", "--json").json["modules"]}
    # Solve one exercise in the workspace the way a learner would, then check it.
    import sys
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent / "workspace"))
    from wsolving import Solver  # type: ignore[import-not-found]

    Solver(root).solve("roadmap-fundamentals/dns-ttl")
    assert run_cli("check", "-w", str(root), "--only", "roadmap-fundamentals/dns-ttl").exit_code == 0
    assert answer.read_text().strip() != "TODO"
    after = {m["module"]: m["passed"] for m in run_cli("progress", "--json").json["modules"]}
    assert after["roadmap"] == before["roadmap"] + 1


def _damage(home: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    db = sqlite3.connect(home / "progress.sqlite3")
    with db:
        for sql, params in statements:
            db.execute(sql, params)
    db.close()


def test_bad_json_in_the_cards_table_does_not_crash_the_quiz(tmp_path: Path) -> None:
    home = Path(os.environ["LEARNBACKEND_HOME"])
    ProgressStore.open(home / "progress.sqlite3").close()
    _damage(home, ("INSERT INTO cards VALUES (?, ?, ?)", ("roadmap-fundamentals/dns-ttl", "{not json", 0.0)),
            ("INSERT INTO cards VALUES (?, ?, ?)", ("roadmap-fundamentals/server-side-validation", '{"due": 5}', 0.0)),
            ("INSERT INTO cards VALUES (?, ?, ?)", ("x/y", "[1, 2]", "soon")),
            ("INSERT INTO kv VALUES ('', 'roadmap.placed', ?)", ("[[1], {}]",)),
            ("INSERT INTO kv VALUES ('', 'last_module', ?)", ("{broken",)))
    answers = tmp_path / "answers.yaml"
    answers.write_text("roadmap-fundamentals/server-side-validation: a\nroadmap-fundamentals/dns-ttl: a\n")
    for command in (["quiz", "map", "--json"], ["progress", "--json"],
                    ["quiz", "review", "--branch", "fundamentals", "--answers", str(answers), "--json"]):
        result = run_cli(*command)
        assert result.exit_code in (0, 1), (command, result.stderr)
        assert "Internal error" not in result.stderr and "Traceback" not in result.stderr
    with ProgressStore.open(home / "progress.sqlite3") as store:
        cards = store.cards()
        assert "roadmap-fundamentals/dns-ttl" not in cards or isinstance(cards["roadmap-fundamentals/dns-ttl"][0], dict)
        assert "x/y" not in cards


def test_a_non_integer_hint_counter_is_handled(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert run_cli("init", str(root), "--lesson", "roadmap-fundamentals").exit_code == 0
    workspace_id = yaml.safe_load((root / "learnbackend.yaml").read_text())["workspace_id"]
    first = yaml.safe_load((root / "learnbackend.yaml").read_text())["exercises"][0]["id"]
    home = Path(os.environ["LEARNBACKEND_HOME"])
    ProgressStore.open(home / "progress.sqlite3").close()
    for value in ('"three"', "not json", "2.5", "true", "[1]"):
        _damage(home, ("INSERT INTO kv VALUES (?, ?, ?) ON CONFLICT (workspace, key) DO UPDATE SET value = excluded.value",
                       (workspace_id, f"workspace.hints.{first}", value)))
        result = run_cli("hint", "-w", str(root))
        assert result.exit_code == 0, (value, result.stderr)
        assert "(1 of " in result.stdout  # a damaged counter starts over at the first hint
