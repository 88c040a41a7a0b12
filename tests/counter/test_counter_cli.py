"""The `learnbackend counter` commands, in-process and as a real subprocess."""

from __future__ import annotations

import subprocess
import sys

from conftest import run_cli
from counter_fixtures import service  # noqa: F401


def test_cli_module_imports_no_engine():
    code = ("import sys, learnbackend.counter.cli; "
            "heavy = [m for m in ('rich', 'fastapi', 'redis', 'httpx', 'uvicorn', 'learnbackend.counter.counters') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_experiments_list_json():
    result = run_cli("counter", "experiments", "--json")
    assert result.exit_code == 0
    assert [e["id"] for e in result.json] == [f"E{i}" for i in range(1, 10)]


def test_experiment_renders_table_plot_and_explanation():
    result = run_cli("counter", "experiment", "e7", "--scale", "0.2")
    assert result.exit_code == 0, result.stderr
    for text in ("events since rollup", "GetCount latency vs un-rolled events", "what you just saw", "counter learn --design) says"):
        assert text in result.stdout


def test_experiment_json_and_bad_input():
    result = run_cli("counter", "experiment", "E6", "--scale", "0.2", "--json")
    assert result.exit_code == 0
    assert result.json["id"] == "E6" and result.json["params"]["seed"] == 7
    bad = run_cli("counter", "experiment", "E42")
    assert bad.exit_code == 2 and "Unknown experiment" in bad.stderr


def test_chaos_json_reports_every_design():
    result = run_cli("counter", "chaos", "--increments", "120", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {r["design"]: r for r in result.json["rows"]}
    assert rows["event-log"]["reported"] == rows["event-log"]["acknowledged"] == 120
    assert rows["in-memory"]["reported"] < rows["in-memory"]["acknowledged"]
    assert rows["single-row"]["reported"] > rows["single-row"]["acknowledged"]


def test_load_against_a_running_service(service):
    result = run_cli("counter", "load", "--url", service.url, "-c", "8", "-d", "1.5", "--counters", "5", "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json
    assert report["acked"] > 20 and report["errors"] == 0
    assert report["counted"] == report["acked_increments"], "the event log settles to exactly what was acknowledged"
    assert report["p99_ms"] >= report["p50_ms"] > 0


def test_load_rejects_bad_options_and_status_without_service():
    assert run_cli("counter", "load", "--retry", "sometimes").exit_code == 2
    result = run_cli("counter", "status", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 3 and "counter serve" in result.stderr
    nothing_there = run_cli("counter", "load", "--url", "http://127.0.0.1:9", "-d", "1")
    assert nothing_there.exit_code == 3 and "Nothing answers" in nothing_there.stderr
    assert run_cli("counter", "load", "--url", "http://127.0.0.1:99999").exit_code == 2
    no_redis = run_cli("counter", "chaos", "--redis", "redis://127.0.0.1:9")
    assert no_redis.exit_code == 3 and "Nothing answers" in no_redis.stderr and "Traceback" not in no_redis.stderr
    assert run_cli("counter", "experiment", "E1", "--redis", "http://127.0.0.1:9").exit_code == 2


def test_guided_experiment_records_predictions():
    result = run_cli("counter", "experiment", "E6", "--scale", "0.2", "--json",
                     "--answer", "Far fewer than 6,000 - a hot counter waiting in the queue is rolled up once for many triggers")
    assert result.exit_code == 0, result.stderr
    assert result.json["predictions"] == [{"id": "counter-windows/predict-e6-coalescing", "chosen": result.json[
        "predictions"][0]["chosen"], "correct": True}]
    no_terminal = run_cli("counter", "experiment", "E6", "--predict")
    assert no_terminal.exit_code == 2 and "no terminal" in no_terminal.stderr
