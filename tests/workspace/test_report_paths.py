"""Reports carry no absolute machine paths, and the JUnit XML fits Jenkins' junit-10 rules as well."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import run_cli  # type: ignore[import-not-found]

XSD = Path(__file__).with_name("junit.xsd")


def test_json_and_junit_reports_hold_no_machine_path(tmp_path: Path) -> None:
    root = tmp_path / "deep" / "home" / "learner" / "ws"
    assert run_cli("init", str(root), "--lesson", "roadmap-fundamentals").exit_code == 0
    next(root.glob("exercises/01-*/answer.txt")).unlink()  # its message names the missing file
    json_file, junit_file = tmp_path / "r.json", tmp_path / "r.xml"
    result = run_cli("check", str(root), "--format", "json", "--output", str(json_file), "--junit-file", str(junit_file))
    assert result.exit_code == 1, result.stderr
    text, xml = json_file.read_text(), junit_file.read_text()
    assert str(tmp_path) not in text and str(tmp_path) not in xml
    assert "answer.txt is missing" in text
    suites = ET.fromstring(xml)
    # junit-10.xsd: <testsuites> takes name, time, tests, failures, errors only.
    assert set(suites.attrib) <= {"name", "time", "tests", "failures", "errors"}
    import xmlschema

    xmlschema.XMLSchema(str(XSD)).validate(xml)
