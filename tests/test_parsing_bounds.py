"""Hostile YAML and JSON: every file learnbackend parses is bounded, and bad input is exit 2 with a line, never 70.

A 500-byte "billion laughs" document (nested aliases) would expand to 10^9 values; deep
nesting used to overflow the stack; Python tags used to crash the loader. Each case runs
through the real CLI on real files: lessons, assignments, a workspace manifest, a learner's
container spec, quiz answers files and check reports.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import run_cli  # type: ignore[import-not-found]

#: 9 levels of 10 aliases each: 10^9 values if expanded, 500 bytes on disk.
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8))


def _lesson_dir(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "pack"
    (root / "roadmap").mkdir(parents=True)
    (root / "roadmap" / "hostile.yaml").write_text(text, encoding="utf-8")
    return root


def _no_crash(result: object) -> None:
    text = result.stdout + result.stderr  # type: ignore[attr-defined]
    assert result.exit_code != 70 and "Traceback" not in text and "Internal error" not in text, text  # type: ignore[attr-defined]


def test_the_bomb_is_tiny_but_would_expand_a_billion_times() -> None:
    assert len(BOMB) < 600
    assert BOMB.count("*") == 80


def test_a_yaml_bomb_in_a_lesson_is_refused_with_its_line(tmp_path: Path) -> None:
    result = run_cli("lessons", "validate", str(_lesson_dir(tmp_path, BOMB)))
    _no_crash(result)
    assert result.exit_code == 2
    assert "hostile.yaml:" in result.stdout + result.stderr and "aliases" in result.stdout + result.stderr


def test_a_yaml_bomb_in_an_assignment_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("format_version: 1\nname: w\ntitle: W\npass_mark: 50\n" + BOMB.replace("a: &a", "z: &a"))
    result = run_cli("assignment", "validate", str(path))
    _no_crash(result)
    assert result.exit_code == 2 and "aliases" in result.stderr
    init = run_cli("init", str(tmp_path / "ws"), "--assignment", str(path))
    assert init.exit_code == 2 and not (tmp_path / "ws").exists()


def test_a_yaml_bomb_in_a_learners_container_spec_is_an_error_result(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert run_cli("init", str(root), "--lesson", "containers-limits").exit_code == 0
    spec = next((root / "exercises").glob("01-*")) / "spec.yaml"
    spec.write_text(BOMB)
    result = run_cli("check", str(root), "--only", "1", "--format", "json")
    _no_crash(result)
    assert result.exit_code == 1
    first = result.json["results"][0]
    assert first["status"] == "error" and "aliases" in first["message"] and "spec.yaml" in first["message"]


def test_six_hundred_levels_in_a_lesson_are_a_clear_problem(tmp_path: Path) -> None:
    for depth in (600, 5000):
        result = run_cli("lessons", "validate", str(_lesson_dir(tmp_path / str(depth), "a: " + "[" * depth + "]" * depth + "\n")))
        _no_crash(result)
        assert result.exit_code == 2 and "nest" in result.stdout + result.stderr


def test_a_5000_deep_manifest_is_exit_2(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert run_cli("init", str(root), "--lesson", "roadmap-fundamentals").exit_code == 0
    manifest = root / "learnbackend.yaml"
    manifest.write_text(manifest.read_text() + "extra: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n")
    for command in (["check", str(root)], ["list", "-w", str(root)], ["hint", "-w", str(root)]):
        result = run_cli(*command)
        _no_crash(result)
        assert result.exit_code == 2 and "learnbackend.yaml" in result.stderr, command


def test_python_tags_are_refused_everywhere_with_the_line(tmp_path: Path) -> None:
    lesson = run_cli("lessons", "validate", str(_lesson_dir(tmp_path, "format_version: 1\nid: !!python/name:os.system\n")))
    _no_crash(lesson)
    assert lesson.exit_code == 2 and "hostile.yaml:2" in lesson.stderr and "!!python/name" in lesson.stderr
    root = tmp_path / "ws"
    assert run_cli("init", str(root), "--lesson", "roadmap-fundamentals").exit_code == 0
    manifest = root / "learnbackend.yaml"
    manifest.write_text(manifest.read_text().replace("student: ''", "student: !!python/object/apply:os.system ['true']"))
    result = run_cli("check", str(root))
    _no_crash(result)
    assert result.exit_code == 2 and "!!python/object/apply" in result.stderr and "learnbackend.yaml:" in result.stderr


def test_nul_bytes_and_invalid_utf8_are_refused(tmp_path: Path) -> None:
    for name, data in (("nul", b"format_version: 1\nid: a\0b\n"), ("latin", b"format_version: 1\ntitle: caf\xe9\n")):
        root = tmp_path / name
        (root / "roadmap").mkdir(parents=True)
        (root / "roadmap" / "x.yaml").write_bytes(data)
        result = run_cli("lessons", "validate", str(root))
        _no_crash(result)
        assert result.exit_code == 2 and "x.yaml:2" in result.stderr
        assert ("NUL" if name == "nul" else "UTF-8") in result.stderr


def test_an_oversized_lesson_is_not_read(tmp_path: Path) -> None:
    result = run_cli("lessons", "validate", str(_lesson_dir(tmp_path, "# padding\n" * 300_000)))
    _no_crash(result)
    assert result.exit_code == 2 and "larger than" in result.stderr


def test_a_yaml_bomb_as_quiz_answers_is_exit_2(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(BOMB)
    result = run_cli("quiz", "start", "--branch", "fundamentals", "--count", "1", "--answers", str(answers))
    _no_crash(result)
    assert result.exit_code == 2 and "aliases" in result.stderr


def test_a_deeply_nested_or_huge_json_report_is_exit_2(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    result = run_cli("grade", str(deep))
    _no_crash(result)
    assert result.exit_code == 2 and "nested too deeply" in result.stderr
    fair = tmp_path / "fair.json"
    fair.write_text(json.dumps({"results": [], "summary": {"x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}))
    result = run_cli("grade", str(fair))
    _no_crash(result)
    assert result.exit_code == 2 and "nested too deeply" in result.stderr


def test_plain_yaml_is_still_read_the_same(tmp_path: Path) -> None:
    """The bounded loader reads what yaml.safe_load reads for plain documents (anchors included)."""
    from learnbackend.course.yamlsource import load_yaml

    text = "a: &x {k: [1, 2.5, true, null, 2026-01-02, 'q']}\nb: *x\nc: |\n  block\n"
    source = load_yaml(tmp_path / "p.yaml", text)
    assert not source.problems and source.data == yaml.safe_load(text)
    assert source.line_of(("c",)) == 3


def test_a_nul_byte_in_a_replayed_solution_is_exit_2(tmp_path: Path) -> None:
    solution = tmp_path / "solution.txt"
    solution.write_bytes(b"git add notes\0.md\n")
    result = run_cli("git", "replay", "git-local/stage-a-file", str(solution))
    _no_crash(result)
    assert result.exit_code == 2 and "line 1 contains a NUL byte" in result.stderr


def test_a_report_whose_summary_points_is_an_object_is_exit_2(tmp_path: Path) -> None:
    report = tmp_path / "ada.json"
    report.write_text(json.dumps({"student": "ada", "results": [{"id": "a/b", "status": "passed"}],
                                  "summary": {"points": {"$gt": 0}, "max_points": 1}}))
    result = run_cli("grade", str(report))
    _no_crash(result)
    assert result.exit_code == 2 and "is not a learnbackend check report" in result.stderr


def test_without_libyaml_the_same_bounds_hold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Installations without libyaml use PyYAML's pure-Python parser: recursive, and stricter about characters."""
    from learnbackend.course import yamlsource

    monkeypatch.setattr(yamlsource, "_LOADER", yaml.SafeLoader)
    for name, text in (("deep", "a: " + "[" * 5000 + "]" * 5000 + "\n"), ("bomb", BOMB), ("bell", "a: \x07\n")):
        result = run_cli("lessons", "validate", str(_lesson_dir(tmp_path / name, text)))
        _no_crash(result)
        assert result.exit_code == 2 and "hostile.yaml" in result.stderr, name


def test_a_fifo_or_a_link_to_dev_zero_among_lessons_is_refused_not_read(tmp_path: Path) -> None:
    import os

    root = _lesson_dir(tmp_path, "format_version: 1\n")
    os.mkfifo(root / "roadmap" / "fifo.yaml")
    os.symlink("/dev/zero", root / "roadmap" / "zero.yaml")
    result = run_cli("lessons", "validate", str(root))
    _no_crash(result)
    assert result.exit_code == 2
    assert "fifo.yaml: is not a regular file" in result.stderr and "zero.yaml: is not a regular file" in result.stderr
