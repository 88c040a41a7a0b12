"""Every demo against the real engine, through the CLI as a script would run it."""

# ruff: noqa: F811  (pytest fixtures imported by name from lab_fixtures)
from __future__ import annotations

import os
from typing import Any

from conftest import run_cli
from lab_fixtures import docker_client, lab_image, labelled  # noqa: F401  (fixtures)


def test_memory_demo_gets_oom_killed_under_32_mib_only(docker_client: Any) -> None:
    result = run_cli("containers", "demo", "memory", "--predict", "3", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json
    assert data["figures"]["oom_32"] is True and data["figures"]["exit_32"] == 137
    assert data["figures"]["oom_128"] is False and data["figures"]["exit_128"] == 0
    assert data["prediction"]["correct"] is True
    assert labelled(docker_client, f"{os.getpid()}-") == []


def test_pids_demo_stops_the_fork_storm_at_the_limit(docker_client: Any) -> None:
    result = run_cli("containers", "demo", "pids", "--predict", "All 40", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json["figures"] == {"started_10": 9, "started_20": 19}
    assert result.json["prediction"]["correct"] is False


def test_a_number_predicts_a_quantity_not_a_choice_number(docker_client: Any) -> None:
    two = run_cli("containers", "demo", "pids", "--predict", "2", "--json")
    assert two.exit_code == 0, two.stderr
    assert two.json["prediction"]["given"] == "2 processes" and two.json["prediction"]["correct"] is False
    nine = run_cli("containers", "demo", "pids", "--predict", "9", "--json")
    assert nine.json["prediction"]["correct"] is True and nine.json["prediction"]["measured"] == 9


def test_cpu_demo_burns_a_second_counted_by_the_cgroup_and_grades_against_it(docker_client: Any) -> None:
    result = run_cli("containers", "demo", "cpu", "--predict", "4", "--json")
    assert result.exit_code == 0, result.stderr
    figures = result.json["figures"]
    assert figures["cpu_seconds_full"] >= 1.0 and figures["cpu_seconds_quarter"] >= 1.0
    assert figures["share_quarter"] <= 0.3  # the quota holds, whatever the host load
    assert figures["slowdown"] == figures["share_full"] / figures["share_quarter"]
    full, quarter = result.json["rows"]
    assert full[4].startswith("0 of") and int(quarter[4].split()[0]) > 0  # throttled periods, counted by the kernel
    prediction = result.json["prediction"]
    assert prediction["measured"] == figures["slowdown"]
    assert prediction["correct"] is (abs(4 - figures["slowdown"]) <= 0.3 * figures["slowdown"])


def test_a_measured_prediction_is_graded_against_the_measurement() -> None:
    from learnbackend.containers.demos import text_of
    from learnbackend.containers.render import grade_prediction

    text = text_of("cpu")
    given = {"question": "?", "answer": text.predict.answer, "given": "About twice as long", "value": 2.0}
    busy = grade_prediction(text, given, {"slowdown": 2.2})  # the case: 2.2× measured
    assert busy["correct"] is True and busy["answer"] == "About twice as long"
    idle = grade_prediction(text, given, {"slowdown": 3.9})
    assert idle["correct"] is False and idle["answer"] == "About four times as long"


def test_density_demo_starts_and_removes_n_containers(docker_client: Any) -> None:
    result = run_cli("containers", "demo", "density", "--yes", "--count", "3", "--json")
    assert result.exit_code == 0, result.stderr
    assert len(result.json["rows"]) == 3 and result.json["figures"]["median_memory_mib"] > 0
    assert labelled(docker_client, f"{os.getpid()}-") == []
    figures = result.json["figures"]
    if "vms_per_gib" in figures:  # a VM was booted to compare with (QEMU present)
        assert figures["containers_per_gib"] > figures["vms_per_gib"] > 0
        assert figures["vm_memory_mib"] > figures["median_memory_mib"]
        assert any("fit in 1 GiB" in note for note in result.json["notes"])


def test_isolation_demo_same_kernel_own_pid_namespace(docker_client: Any) -> None:
    result = run_cli("containers", "demo", "isolation", "--yes", "--no-vm", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json
    container = data["columns"].index("container")
    rows = {row[0]: row for row in data["rows"]}
    assert rows["pid of this shell"][container] == "1"
    assert rows["hostname"][container] == "lab-container"
    assert rows["network devices"][container].split() == ["lo"]
    assert rows["kernel"][container] == rows["kernel"][1] == os.uname().release
    assert int(rows["processes visible"][container]) < int(rows["processes visible"][1])


def test_a_demo_without_a_terminal_asks_for_predict_or_yes() -> None:
    result = run_cli("containers", "demo", "pids")
    assert result.exit_code in (2, 3)  # 3 when no engine answers: that is checked first
    if result.exit_code == 2:
        assert "--predict" in result.stderr and "--yes" in result.stderr


def test_an_unknown_demo_or_answer_is_a_usage_error() -> None:
    assert run_cli("containers", "demo", "teleport", "--yes").exit_code == 2
    result = run_cli("containers", "demo", "isolation", "--predict", "zebra", "--no-vm")
    assert result.exit_code == 2 and "not one of the answers" in result.stderr


def test_boundary_demo_root_in_a_container_is_refused_by_the_kernel(docker_client: Any) -> None:
    result = run_cli("containers", "demo", "boundary", "--predict", "0", "--json")
    assert result.exit_code == 0, result.stderr
    figures = result.json["figures"]
    assert figures["uid"] == "0" and figures["attempts"] == 6
    assert figures["allowed"] == 0, result.json["rows"]
    assert figures["no_new_privs"] == "1" and figures["seccomp"] == "2"
    assert int(figures["cap_eff"], 16) & (1 << 21) == 0  # no CAP_SYS_ADMIN
    assert result.json["prediction"]["correct"] is True
    assert labelled(docker_client, f"{os.getpid()}-") == []
