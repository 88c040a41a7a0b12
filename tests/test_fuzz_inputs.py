"""Fuzzing the parsers through the CLI: random and malformed YAML/JSON never reach exit 70 or a traceback.

Targets: `lessons validate` (lesson files), `assignment validate` (assignment files),
`check` (a workspace manifest) and `grade` (JSON reports). Inputs are random text,
random YAML-significant characters spliced into valid files, and random documents (with
numbers, dates, booleans and nulls where text is expected). Derandomized: the same
examples on every run, so a failure reproduces.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import yaml
from conftest import FIXTURES, run_cli  # type: ignore[import-not-found]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ALLOWED = (0, 1, 2)

TINY = (FIXTURES / "lessons" / "good" / "roadmap" / "tiny.yaml").read_text()
ASSIGNMENT = """\
format_version: 1
name: week-2
title: Week 2
pass_mark: 50
due: 2026-12-08
exercises:
  - id: roadmap-fundamentals/dns-ttl
    points: 3
    conditions: {correct: 2}
  - lesson: git-local
"""
#: Fragments that stress a YAML parser: aliases, anchors, tags, flow and block syntax, dates, NULs.
SPICE = ["*a", "&a ", "!!python/name:os.system", "!!binary ", "!x ", "<<: ", "[", "]", "{", "}", ": ", "- ", "? ",
         "\n", "  ", "\t", "'", '"', "|", ">", "#", "%YAML 1.1\n", "---\n", "...\n", "2026-13-01", "3.10", "0x1F",
         "yes", "~", "\0", "\x85", "\ufeff", "[[[[[[[[[[", "1e999", "9" * 5000]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
                    st.dates(min_value=dt.date(1900, 1, 1)))
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["format_version", "id", "module", "title", "summary", "topics", "exercises", "kind", "answer",
                     "choices", "name", "pass_mark", "due", "lessons", "points", "conditions", "path", "x"]),
    inner, max_size=6), max_leaves=25)


@st.composite
def spliced(draw: st.DrawFn, base: str) -> str:
    """``base`` with a few random cuts replaced by YAML-significant fragments or random text."""
    text = base
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 40)))
        piece = draw(st.one_of(st.sampled_from(SPICE), st.text(max_size=12)))
        text = text[:start] + piece + text[end:]
    return text


def inputs(base: str) -> st.SearchStrategy[str]:
    return st.one_of(spliced(base), st.text(max_size=300),
                     documents.map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
                     documents.map(lambda d: json.dumps(d, default=str)))


def _assert_clean(result: object, what: str) -> None:
    out = result.stdout + result.stderr  # type: ignore[attr-defined]
    assert result.exit_code in ALLOWED, (what, result.exit_code, out[-2000:])  # type: ignore[attr-defined]
    assert "Traceback" not in out and "Internal error" not in out, (what, out[-2000:])


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", "surrogatepass"))


def test_the_lesson_validator_never_crashes() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pack = Path(tmp) / "pack" / "roadmap"
        pack.mkdir(parents=True)

        @SETTINGS
        @given(text=inputs(TINY))
        def run(text: str) -> None:
            _write(pack / "fuzz.yaml", text)
            _assert_clean(run_cli("lessons", "validate", str(pack.parent)), text)

        run()


def test_the_assignment_loader_never_crashes() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "assignment.yaml"

        @SETTINGS
        @given(text=inputs(ASSIGNMENT))
        def run(text: str) -> None:
            _write(path, text)
            _assert_clean(run_cli("assignment", "validate", str(path)), text)

        run()


def test_the_manifest_loader_never_crashes() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        assert run_cli("init", str(root), "--lesson", "roadmap-fundamentals").exit_code == 0
        manifest = root / "learnbackend.yaml"
        original = manifest.read_text()

        @SETTINGS
        @given(text=inputs(original))
        def run(text: str) -> None:
            _write(manifest, text)
            _assert_clean(run_cli("check", str(root), "--only", "1"), text)

        run()


def test_the_report_reader_never_crashes() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.json"
        report = json.dumps({"format_version": 1, "student": "ada", "results": [{"id": "a/b", "status": "passed"}],
                             "summary": {"points": 1, "max_points": 1}})

        @SETTINGS
        @given(text=st.one_of(spliced(report), documents.map(lambda d: json.dumps(d, default=str)),
                              st.integers(1, 3000).map(lambda n: "[" * n + "]" * n)))
        def run(text: str) -> None:
            _write(path, text)
            _assert_clean(run_cli("grade", str(path)), text)

        run()
