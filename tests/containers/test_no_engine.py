"""Without a Docker engine: exit 3 with how to get one; the rest of the lab still works."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

from learnbackend.containers.handler import HANDLER
from learnbackend.course.catalog import load_catalog


@pytest.fixture
def dead_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """DOCKER_HOST pointing at a unix socket nobody listens on."""
    host = f"unix://{tmp_path / 'nobody-here.sock'}"
    monkeypatch.setenv("DOCKER_HOST", host)
    return {"DOCKER_HOST": host}


@pytest.mark.parametrize("demo", ["memory", "pids", "cpu", "density", "boundary"])
def test_engine_demos_exit_3_with_how_to_install(dead_engine: dict[str, str], demo: str) -> None:
    result = run_cli("containers", "demo", demo, "--yes", env=dead_engine)
    assert result.exit_code == 3
    assert "No Docker engine is reachable" in result.stderr
    assert "docker.io" in result.stderr and "Traceback" not in result.stderr


def test_exercise_check_reports_missing_environment(dead_engine: dict[str, str], tmp_path: Path) -> None:
    entry, exercise = load_catalog().exercise("containers-limits/read-only-root")
    work = tmp_path / "ws"
    [spec_file] = HANDLER.materialize(entry, exercise, work)
    spec_file.write_text(spec_file.read_text().replace("read_only: TODO", "read_only: true"))
    result = HANDLER.check(entry, exercise, work, timeout=30)
    assert result.status == "error" and result.missing_environment
    assert "docker" in result.message.lower()


def test_isolation_demo_falls_back_to_namespaces(dead_engine: dict[str, str]) -> None:
    result = run_cli("containers", "demo", "isolation", "--yes", "--no-vm", "--json", env=dead_engine)
    assert result.exit_code == 0, result.stderr
    assert "container" not in result.json["columns"]
    assert any("No Docker engine" in note for note in result.json["notes"])
    if "namespaces (unshare)" in result.json["columns"]:
        column = result.json["columns"].index("namespaces (unshare)")
        rows = {row[0]: row for row in result.json["rows"]}
        assert rows["pid of this shell"][column] == "1"


def test_compare_and_doctor_and_clean_still_work(dead_engine: dict[str, str]) -> None:
    result = run_cli("containers", "compare", "--runs", "1", "--vm-runs", "0", "--json", env=dead_engine)
    assert result.exit_code == 0, result.stderr
    models = {m["key"]: m for m in result.json["models"]}
    assert models["bare"]["available"] and models["bare"]["launch_ms"]["median"] > 0
    assert not models["container"]["available"] and "No Docker engine" in models["container"]["reason"]
    assert models["container"]["launch_ms"] is None  # never a made-up number
    doctor = run_cli("containers", "doctor", "--json", env=dead_engine)
    assert doctor.exit_code == 0
    engine_check = next(c for c in doctor.json["checks"] if c["name"] == "docker engine")
    assert not engine_check["ok"] and "docker" in engine_check["fix"]
    clean = run_cli("containers", "clean", env=dead_engine)
    assert clean.exit_code == 0 and "No Docker engine" in clean.stdout


def test_isolation_without_an_engine_tells_a_whole_conclusion(dead_engine: dict[str, str]) -> None:
    result = run_cli("containers", "demo", "isolation", "--yes", "--no-vm", env=dead_engine)
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Without a Docker engine there is no container column" in text
    assert "sees only its own processes (" not in text  # the old text, cut mid-sentence
    assert text.rstrip().endswith("memory size of its own.")
