"""`containers compare` for real, with one boot of each VM model (QEMU, TCG unless KVM truly works)."""

# ruff: noqa: F811  (pytest fixtures imported by name from lab_fixtures)
from __future__ import annotations

import os
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
    # Pay the boot once, measured: K containers inside each booted guest, timed by the guest's clock.
    pay_once = result.json["pay_once"]
    assert pay_once["containers_per_boot"] >= 2
    assert pay_once["in_vm_first_container_ms"] > 0 and pay_once["in_vm_next_containers_ms"] > 0
    assert pay_once["host_container_ms"] == models["container"]["launch_ms"]["median"]
    # The boot timeline comes from the guest's own uptime, not from a constant.
    [kernel_to_init] = models["vm"]["series_ms"]["guest_kernel_to_init"]
    assert 0 < kernel_to_init < models["vm"]["launch_ms"]["median"]
    assert result.json["cpus"] == os.cpu_count() and "start" in result.json["load_average"]


def test_isolation_vm_column_is_measured_in_the_guest(vm_setup: Any) -> None:
    result = run_cli("containers", "demo", "isolation", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    column = next(i for i, c in enumerate(result.json["columns"]) if c.startswith("VM ("))
    rows = {row[0]: row for row in result.json["rows"]}
    assert rows["pid of this shell"][column] == "1"  # the guest's /init said so
    assert rows["root filesystem"][column] == "rootfs"
    assert rows["kernel"][column] and rows["capabilities (CapEff)"][column].startswith("000")


def test_compare_renders_table_chart_and_explanation(docker_client: Any) -> None:
    result = run_cli("containers", "compare", "--runs", "1", "--vm-runs", "0")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "container" in out and "linear scale" in out and "█" in out and "× container" in out
    assert "not available" in out and "skipped (--vm-runs 0)" in out
    assert "Container: still a process on the host's kernel" in out
