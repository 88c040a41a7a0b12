"""Machine-readable check reports: JSON (PRODUCT.md contract) and JUnit XML (CI viewers).

Both are built from a :class:`CheckReport` only, in manifest order, so the same
workspace gives the same report (``checked_at`` follows ``$SOURCE_DATE_EPOCH`` when set).
"""

from __future__ import annotations

import json
import re
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from learnbackend import __version__
from learnbackend.workspace.checking import CheckReport, Outcome, state_of

REPORT_FORMAT = 1
# Characters XML 1.0 cannot hold (terminal escapes in a program's output, NULs...).
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def _plain(value: Any) -> Any:
    """JSON-safe copy of a checker's expected/actual values (unknown types become strings)."""
    return json.loads(json.dumps(value, default=str))


def portable(value: Any, root: Path) -> Any:
    """``value`` (text, or JSON data holding text) with the workspace's absolute path made relative: no machine paths in reports."""
    if isinstance(value, str):
        return value.replace(f"{root}/", "").replace(str(root), ".")
    if isinstance(value, list):
        return [portable(v, root) for v in value]
    if isinstance(value, dict):
        return {k: portable(v, root) for k, v in value.items()}
    return value


def _result_dict(outcome: Outcome, root: Path) -> dict[str, Any]:
    return portable(_raw_result_dict(outcome), root)


def _raw_result_dict(outcome: Outcome) -> dict[str, Any]:
    result = outcome.result
    return {
        "id": result.id,
        "module": result.module,
        "kind": outcome.spec.kind,
        "status": result.status,
        # The learner-facing state: the status, or "not started" for files still as `init` wrote them.
        "state": state_of(result),
        "message": result.message,
        "points": outcome.points,
        "max_points": outcome.max_points,
        "duration_s": round(result.duration_s, 3),
        "missing_environment": result.missing_environment,
        "conditions": [{"id": c.id, "passed": c.passed, "description": c.description} for c in result.conditions],
        "failed_conditions": [
            {"id": c.id, "description": c.description, "expected": _plain(c.expected), "actual": _plain(c.actual), "hint": c.hint}
            for c in result.conditions if not c.passed
        ],
    }


def to_dict(report: CheckReport) -> dict[str, Any]:
    """The JSON report: ``results`` (one per exercise) and ``summary``, plus provenance."""
    scoring = report.manifest.scoring
    return {
        "format_version": REPORT_FORMAT,
        "tool": {"name": "learnbackend", "version": __version__},
        "catalog": {"pack_version": report.pack_version},
        "workspace": {"id": report.manifest.workspace_id},
        "student": report.student,
        "assignment": None if scoring.assignment is None else {
            "name": scoring.assignment, "title": scoring.title, "pass_mark": scoring.pass_mark,
            "due": scoring.due.isoformat() if scoring.due else None,
        },
        "checked_at": report.checked_at.isoformat(),
        "late": report.late,
        "results": [_result_dict(o, report.root) for o in report.outcomes],
        "summary": {
            "total": len(report.outcomes),
            "passed": report.count("passed"),
            "failed": report.count("failed"),
            "error": report.count("error"),
            "skipped": report.count("skipped"),
            "missing_environment": sum(o.result.missing_environment for o in report.outcomes),
            "points": report.points,
            "max_points": report.max_points,
            "percent": report.percent,
            "pass_mark": scoring.pass_mark,
            "pass_mark_reached": report.pass_mark_reached,
            "duration_s": report.duration_s,
        },
        "exit_code": int(report.exit_code),
    }


def to_json(report: CheckReport) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


def _failure_text(outcome: Outcome) -> str:
    lines = [outcome.result.message]
    for c in outcome.result.conditions:
        if c.passed:
            continue
        lines.append(f"- {c.id}: {c.description}".rstrip(": "))
        lines.append(f"    expected: {c.expected!r}")
        lines.append(f"    actual:   {c.actual!r}")
        if c.hint:
            lines.append(f"    hint:     {c.hint}")
    lines.append(f"points: {outcome.points:g} / {outcome.max_points:g}")
    return "\n".join(lines)


def to_junit(report: CheckReport) -> str:
    """JUnit XML: one ``testsuite`` per lesson, one ``testcase`` per exercise (classname = lesson id)."""
    suites = ET.Element("testsuites", name=report.manifest.scoring.assignment or "learnbackend")
    by_lesson: dict[str, list[Outcome]] = {}
    for outcome in report.outcomes:
        by_lesson.setdefault(outcome.spec.id.partition("/")[0], []).append(outcome)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for suite_id, (lesson_id, outcomes) in enumerate(by_lesson.items()):
        counts = {
            "tests": len(outcomes),
            "failures": sum(o.result.status == "failed" for o in outcomes),
            "errors": sum(o.result.status == "error" for o in outcomes),
            "skipped": sum(o.result.status == "skipped" for o in outcomes),
        }
        suite_time = sum(o.result.duration_s for o in outcomes)
        attributes = {"name": lesson_id, "id": str(suite_id), "package": "learnbackend",
                      "timestamp": report.checked_at.replace(tzinfo=None).isoformat(),
                      "hostname": socket.gethostname() or "localhost",
                      **{k: str(v) for k, v in counts.items()}, "time": f"{suite_time:.3f}"}
        suite = ET.SubElement(suites, "testsuite", attributes)
        properties = ET.SubElement(suite, "properties")
        for name, value in (("pack_version", report.pack_version), ("student", report.student),
                            ("assignment", report.manifest.scoring.assignment or ""), ("workspace_id", report.manifest.workspace_id)):
            ET.SubElement(properties, "property", name=name, value=_xml(value))
        for outcome in outcomes:
            result = outcome.result
            case = ET.SubElement(suite, "testcase", name=result.id.partition("/")[2], classname=lesson_id,
                                 time=f"{result.duration_s:.3f}")
            message = portable(result.message, report.root)
            if result.status == "failed":
                ET.SubElement(case, "failure", message=_xml(message), type="failed").text = _xml(portable(_failure_text(outcome), report.root))
            elif result.status == "error":
                kind = "missing-environment" if result.missing_environment else "error"
                ET.SubElement(case, "error", message=_xml(message), type=kind).text = _xml(portable(_failure_text(outcome), report.root))
            elif result.status == "skipped":
                ET.SubElement(case, "skipped", message=_xml(message))
            ET.SubElement(case, "system-out").text = _xml(f"{result.status}: {message}\npoints: {outcome.points:g} / {outcome.max_points:g}")
        ET.SubElement(suite, "system-out").text = ""
        ET.SubElement(suite, "system-err").text = ""
        for key in totals:
            totals[key] += counts[key]
        total_time += suite_time
    for key, total in totals.items():
        if key != "skipped":  # Jenkins' junit-10.xsd (which pytest validates against) has no `skipped` on <testsuites>
            suites.set(key, str(total))
    suites.set("time", f"{total_time:.3f}")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
