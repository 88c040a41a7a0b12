"""`containers compare` for real, with one boot of each VM model (QEMU, TCG unless KVM truly works)."""

# ruff: noqa: F811  (pytest fixtures imported by name from lab_fixtures)
from __future__ import annotations

from typing import Any

from conftest import run_cli
from lab_fixtures import docker_client, vm_setup  # noqa: F401  (fixtures)


def test_compare_measures_all_models(docker_client: Any, vm_setup: Any) -> None:
    result = run_cli("containers", "compare", "--runs", "2", "--vm-runs", "1", "--json")
    assert result.exit_code == 0, result.stderr
    models = {m["key"]: m for m in result.json["models"]}
    assert set(models) == {"bare", "namespaces", "container", "vm", "container-in-vm"}
    for key in ("bare", "container", "vm", "container-in-vm"):
        assert models[key]["available"], models[key]["reason"]
        assert models[key]["launch_ms"]["median"] > 0 and models[key]["memory_kib"] > 0
    assert len(models["container"]["launch_ms_runs"]) == 2 and len(models["vm"]["launch_ms_runs"]) == 1
    assert "KVM" in models["vm"]["note"] or "TCG" in models["vm"]["note"]
    assert result.json["kvm"]


def test_compare_renders_table_chart_and_explanation(docker_client: Any) -> None:
    result = run_cli("containers", "compare", "--runs", "1", "--vm-runs", "0")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "container" in out and "log scale" in out and "█" in out
    assert "not available" in out and "skipped (--vm-runs 0)" in out
    assert "Container: still a process on the host's kernel" in out
