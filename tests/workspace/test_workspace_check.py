"""init + check through the real CLI: files, exit codes 0/1/2/3, JSON report, JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from conftest import need, run_cli  # type: ignore[import-not-found]
from wsolving import Solver  # type: ignore[import-not-found]

LESSON = "roadmap-fundamentals"
XSD = Path(__file__).with_name("junit.xsd")


def _init(tmp_path: Path, *extra: str) -> Path:
    root = tmp_path / "ws"
    result = run_cli("init", str(root), "--lesson", LESSON, "--student", "ada", *extra)
    assert result.exit_code == 0, result.stderr
    return root


def test_init_writes_manifest_readme_and_one_directory_per_exercise(tmp_path: Path) -> None:
    root = _init(tmp_path)
    manifest = yaml.safe_load((root / "learnbackend.yaml").read_text())
    assert manifest["format_version"] == 1 and manifest["student"] == "ada"
    assert manifest["pack_version"].startswith("learnbackend-core@")
    ids = [e["id"] for e in manifest["exercises"]]
    assert ids[0] == f"{LESSON}/server-side-validation" and len(ids) == len(set(ids)) > 5
    for item in manifest["exercises"]:
        assert (root / item["path"] / "answer.txt").read_text() == "TODO\n"
        assert (root / item["path"] / "QUESTION.md").is_file()
    readme = (root / "README.md").read_text()
    assert "learnbackend watch" in readme and ids[-1] in readme


def test_init_refuses_a_non_empty_directory_and_unknown_lessons(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep me")
    result = run_cli("init", str(tmp_path / "full"), "--lesson", LESSON)
    assert result.exit_code == 2 and "not empty" in result.stderr
    assert (tmp_path / "full" / "mine.txt").read_text() == "keep me"
    result = run_cli("init", str(tmp_path / "new"), "--lesson", "no-such-lesson")
    assert result.exit_code == 2 and not (tmp_path / "new").exists()


def test_check_exit_codes_follow_the_contract(tmp_path: Path) -> None:
    root = _init(tmp_path)
    failing = run_cli("check", str(root))
    assert failing.exit_code == 1
    assert "failed" in failing.stdout and "pass mark 100 % not reached" in failing.stdout
    Solver(root).solve()
    passing = run_cli("check", str(root))
    assert passing.exit_code == 0, passing.stdout
    assert "pass mark 100 % reached" in passing.stdout
    assert run_cli("check", str(root), "--only", "no-such-exercise").exit_code == 2
    assert run_cli("check", str(root), "--format", "yaml").exit_code == 2
    assert run_cli("check", str(tmp_path / "nowhere")).exit_code == 2


def test_a_bad_manifest_is_bad_input(tmp_path: Path) -> None:
    root = _init(tmp_path)
    manifest = root / "learnbackend.yaml"
    manifest.write_text(manifest.read_text().replace("format_version: 1", "format_version: 9"))
    result = run_cli("check", str(root))
    assert result.exit_code == 2 and "format_version 9" in result.stderr
    manifest.write_text(manifest.read_text().replace("format_version: 9", "format_version: 1")
                        .replace(f"id: {LESSON}/dns-ttl", f"id: {LESSON}/gone-from-the-pack"))
    result = run_cli("check", str(root))
    assert result.exit_code == 2 and "gone-from-the-pack" in result.stderr
    manifest.write_text("exercises: [unclosed\n")
    result = run_cli("check", str(root))
    assert result.exit_code == 2 and "learnbackend.yaml:" in result.stderr


def test_json_report_has_results_conditions_summary_and_pack_version(tmp_path: Path) -> None:
    root = _init(tmp_path)
    Solver(root).solve("1", "3")
    Solver(root).botch("2")
    result = run_cli("check", str(root), "--format", "json")
    assert result.exit_code == 1
    report = result.json
    assert report["catalog"]["pack_version"].startswith("learnbackend-core@")
    assert report["student"] == "ada"
    by_id = {r["id"]: r for r in report["results"]}
    first, second = report["results"][0], report["results"][1]
    assert first["status"] == "passed" and first["points"] == 1 and first["failed_conditions"] == []
    assert second["status"] == "failed" and second["points"] == 0
    condition = second["failed_conditions"][0]
    assert set(condition) >= {"id", "expected", "actual", "hint"} and condition["hint"]
    summary = report["summary"]
    assert summary["passed"] == 2 and summary["total"] == len(by_id) == summary["passed"] + summary["failed"]
    assert summary["points"] == 2 and summary["max_points"] == len(by_id)
    assert summary["pass_mark_reached"] is False
    assert {r["status"] for r in report["results"]} <= {"passed", "failed", "error", "skipped"}


def test_check_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764000000")
    root = _init(tmp_path)
    Solver(root).solve("1")

    def strip(text: str) -> dict:
        data = json.loads(text)
        for r in data["results"]:
            r.pop("duration_s")
        data["summary"].pop("duration_s")
        return data

    first = strip(run_cli("check", str(root), "--format", "json").stdout)
    second = strip(run_cli("check", str(root), "--format", "json").stdout)
    assert first == second and first["checked_at"] == "2025-11-24T16:00:00+00:00"


def test_junit_report_validates_and_a_real_consumer_reads_it(tmp_path: Path) -> None:
    root = _init(tmp_path)
    Solver(root).solve("1")
    Solver(root).botch("2")
    out = tmp_path / "reports" / "junit.xml"
    result = run_cli("check", str(root), "--format", "junit", "--output", str(out), "--json-file", str(tmp_path / "r.json"))
    assert result.exit_code == 1 and "passed" in result.stdout  # the text summary still goes to stdout
    text = out.read_text()
    # Structure, with the standard library.
    suites = ET.fromstring(text)
    assert suites.tag == "testsuites"
    cases = suites.findall("./testsuite/testcase")
    total = len(json.loads((tmp_path / "r.json").read_text())["results"])
    assert len(cases) == total == int(suites.get("tests"))
    assert cases[0].get("classname") == LESSON and cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and "expected" in failure.text and "hint" in failure.text
    assert int(suites.get("failures")) == total - 1
    # Against the JUnit schema.
    try:
        import xmlschema
    except ImportError:
        xmlschema = None
    need(xmlschema is not None, "xmlschema is not installed (pip install xmlschema)")
    xmlschema.XMLSchema(str(XSD)).validate(text)
    # And as a CI report consumer reads it.
    try:
        import junitparser
    except ImportError:
        junitparser = None
    need(junitparser is not None, "junitparser is not installed (pip install junitparser)")
    parsed = junitparser.JUnitXml.fromfile(str(out))
    read = [(case.classname, case.name, [type(r).__name__ for r in case.result]) for suite in parsed for case in suite]
    assert read[0] == (LESSON, "server-side-validation", [])
    assert read[1][2] == ["Failure"]


def test_terminal_garbage_in_messages_still_gives_valid_xml() -> None:
    from learnbackend.workspace.reports import _xml

    assert _xml("ok\x1b[31mred\x00") == "ok\ufffd[31mred\ufffd"
