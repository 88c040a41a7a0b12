"""The worked example of docs/instructors.md, end to end with real commands.

An instructor writes a lesson and an assignment (the very files in the docs), two learners
init workspaces and solve them differently (one fully and on time, one partly and late),
``check`` writes JSON and JUnit for each, and ``grade`` prints the right roster.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import REPO, run_cli  # type: ignore[import-not-found]
from wsolving import Solver  # type: ignore[import-not-found]

DOC = REPO / "docs" / "instructors.md"
BEFORE_DUE = int(datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc).timestamp())
AFTER_DUE = int(datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc).timestamp())


def files_in_doc() -> dict[str, str]:
    """Every ```yaml block preceded by ``<!-- file: PATH -->`` in the instructors' guide."""
    pattern = re.compile(r"<!-- file: (?P<path>\S+) -->\n```yaml\n(?P<body>.*?)```", re.DOTALL)
    return {m["path"]: m["body"] for m in pattern.finditer(DOC.read_text(encoding="utf-8"))}


def _check(root: Path, name: str, epoch: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict, str]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    result = run_cli("check", str(root), "--format", "json", "--output", f"reports/{name}.json", "--junit-file", f"junit/{name}.xml")
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    return result.exit_code, json.loads(Path(f"reports/{name}.json").read_text()), Path(f"junit/{name}.xml").read_text()


def test_the_worked_example_from_the_docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = files_in_doc()
    assert set(files) == {"lessons-mine/pack.yaml", "lessons-mine/roadmap/caching.yaml", "week-1.yaml"}
    for relative, body in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    # The instructor lints the lesson and the assignment.
    assert run_cli("lessons", "validate", "lessons-mine").exit_code == 0
    validated = run_cli("assignment", "validate", "week-1.yaml")
    assert validated.exit_code == 0, validated.stderr
    assert "4 exercises, 9 points, pass mark 70 %" in validated.stdout

    # Two learners create their workspaces.
    for student in ("ada", "bob"):
        made = run_cli("init", f"{student}-week-1", "--assignment", "week-1.yaml", "--student", student)
        assert made.exit_code == 0, made.stderr
    ada, bob = tmp_path / "ada-week-1", tmp_path / "bob-week-1"
    assert "Week 1: caching, DNS" in (ada / "README.md").read_text()

    # Ada solves everything; Bob one question right, one wrong, one untouched, and the git level half.
    Solver(ada).solve()
    bob_solver = Solver(bob)
    bob_solver.solve("acme-caching/cache-header")
    bob_solver.botch("acme-caching/invalidate-on-write", "git-local/stage-a-file")

    code, ada_report, ada_junit = _check(ada, "ada", BEFORE_DUE, monkeypatch)
    assert code == 0
    assert ada_report["summary"]["points"] == 9 and ada_report["summary"]["pass_mark_reached"] is True
    assert ada_report["late"] is False and ada_report["catalog"]["pack_version"] == "learnbackend-core@2026.11.0+acme-backend@2026.1" or \
        "acme-backend@2026.1" in ada_report["catalog"]["pack_version"]

    code, bob_report, bob_junit = _check(bob, "bob", AFTER_DUE, monkeypatch)
    assert code == 1
    by_id = {r["id"]: r for r in bob_report["results"]}
    assert by_id["acme-caching/cache-header"]["points"] == 2
    assert by_id["acme-caching/invalidate-on-write"]["status"] == "failed"
    untouched = by_id["roadmap-fundamentals/dns-ttl"]
    assert (untouched["status"], untouched["state"], untouched["points"]) == ("failed", "not started", 0)
    git_level = by_id["git-local/stage-a-file"]
    assert git_level["status"] == "failed" and git_level["points"] == 1  # 1 of 4: only the weight-1 condition held
    assert [c["id"] for c in git_level["failed_conditions"]] == ["1-staged"]
    assert bob_report["summary"]["points"] == 3 and bob_report["summary"]["max_points"] == 9
    assert bob_report["summary"]["pass_mark_reached"] is False and bob_report["late"] is True

    for junit, failures in ((ada_junit, 0), (bob_junit, 3)):
        suites = ET.fromstring(junit)
        assert int(suites.get("tests")) == 4 and int(suites.get("failures")) == failures
        assert [s.get("name") for s in suites.findall("testsuite")] == ["acme-caching", "roadmap-fundamentals", "git-local"]

    # The roster.
    graded = run_cli("grade", "reports", "--assignment", "week-1.yaml")
    assert graded.exit_code == 0, graded.stderr
    rows = {line.split("│")[1].strip(): line for line in graded.stdout.splitlines() if line.count("│") > 5 and ("ada" in line or "bob" in line)}
    assert set(rows) == {"ada", "bob"}
    assert "9/9" in rows["ada"] and "yes" in rows["ada"] and "on time" in rows["ada"] and "✗" not in rows["ada"]
    assert "3/9" in rows["bob"] and "no" in rows["bob"] and "late" in rows["bob"]
    assert rows["bob"].count("✓") == 1 and rows["bob"].count("✗") == 3
    assert "1: acme-caching/cache-header" in graded.stdout

    gradebook = run_cli("grade", "reports", "--csv", "-")
    assert gradebook.exit_code == 0
    table = list(csv.DictReader(io.StringIO(gradebook.stdout)))
    assert [(r["student"], r["points"], r["passed"], r["late"]) for r in table] == [("ada", "9", "yes", "no"), ("bob", "3", "no", "yes")]
    assert table[1]["git-local/stage-a-file"] == "failed" and table[0]["git-local/stage-a-file"] == "passed"
    assert os.path.exists("reports/ada.json")
