"""Teaching before measuring: `counter learn` (lesson, reference text, the four layers with live numbers),
each experiment's concept before it runs, experiment runs in the progress, and `counter next`."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from conftest import LESSONS, run_cli
from counter_fixtures import service  # noqa: F401

NOBODY = "http://127.0.0.1:9"


def _counter_progress() -> dict:
    result = run_cli("progress", "--json")
    assert result.exit_code == 0, result.stderr
    return next(m for m in result.json["modules"] if m["module"] == "counter")


def test_learn_without_a_service_teaches_and_says_the_numbers_are_examples():
    result = run_cli("counter", "learn", "--url", NOBODY)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "Netflix's Distributed Counter, as Netflix built it" in out
    for layer in ("1 · client API (Data Gateway)", "2 · event log in time buckets", "3 · rollup queues, immutable windows",
                  "4 · rolled-up counts, cached"):
        assert layer in out
    assert "example numbers" in out and "measured" not in out
    assert "counter learn --design" in out
    assert max(len(line) for line in out.splitlines()) <= 80, "the lesson and picture fit 80 columns"


def test_learn_design_prints_the_shipped_reference_text():
    result = run_cli("counter", "learn", "--design")
    assert result.exit_code == 0, result.stderr
    assert "lab's addition" in result.stdout and "(inferred)" in result.stdout
    from learnbackend.counter.teach import design_path

    # Shipped with the lessons (learnbackend/_lessons in a wheel), not in docs/ only.
    assert design_path() == LESSONS / "counter" / "counter-design.md" and design_path().is_file()


def test_no_counter_text_points_to_a_file_outside_the_project():
    import learnbackend.counter

    package = Path(learnbackend.counter.__file__).parent
    offenders = [str(p) for p in [*package.rglob("*.py"), *(LESSONS / "counter").glob("*.yaml")]
                 if "COUNTER.md" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_learn_picture_shows_the_live_service(service, tmp_path):  # noqa: F811
    import time

    tokens = [{"token": str(uuid.uuid4()), "generation_time": time.time()} for _ in range(5)]
    for token in tokens + tokens[:2]:  # two retries with the same token: the log must keep 5 events
        r = httpx.post(f"{service.url}/v1/counters/default/pageviews/add",
                       json={"delta": 1, "token": token}, timeout=5)
        assert r.status_code == 200, r.text
    result = run_cli("counter", "learn", "--json", "--url", service.url, "--db", str(service.config.db))
    assert result.exit_code == 0, result.stderr
    snap = result.json
    assert snap["measured"] is True and snap["missing"] == []
    assert snap["events"] == 5 and snap["counters"] == 1
    assert {n["name"] for n in snap["namespaces"]} >= {"default", "accurate", "best-effort"}
    picture = run_cli("counter", "learn", "--picture", "--url", service.url, "--db", str(service.config.db))
    assert picture.exit_code == 0, picture.stderr
    assert "live numbers" in picture.stdout and "measured 5 events" in picture.stdout
    assert "example" not in picture.stdout


def test_learn_with_a_wrong_store_file_says_what_was_not_measured(service, tmp_path):  # noqa: F811
    result = run_cli("counter", "learn", "--picture", "--url", service.url, "--db", str(tmp_path / "absent.db"))
    assert result.exit_code == 0, result.stderr
    assert "not measured: the event log" in result.stdout
    bad = run_cli("counter", "learn", "--url", "ftp://x")
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr


@pytest.mark.parametrize("experiment_id", [f"E{i}" for i in range(1, 10)])
def test_every_experiment_has_a_concept_in_its_lesson(experiment_id):
    from learnbackend.counter.teach import concept_for
    from learnbackend.course.catalog import load_lessons

    found = concept_for(load_lessons([LESSONS]), experiment_id)
    assert found is not None, f"no '## {experiment_id}' section in lessons/counter"
    lesson_id, section = found
    assert lesson_id.startswith("counter-")
    for part in ("**What it tests:**", "**Why it matters:**", "**Watch:**"):
        assert part in section
    assert len(section.splitlines()) <= 14, "a few lines, not a chapter"


def test_an_experiment_opens_with_its_concept_and_its_run_counts_in_progress():
    before = _counter_progress()
    result = run_cli("counter", "experiment", "E7", "--scale", "0.2")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.index("What it tests") < out.index("events since rollup"), "the concept comes before the results"
    assert "lessons show counter-windows" in out
    after = _counter_progress()
    assert after["exercises"] == before["exercises"], "runs are known activities, counted from the start"
    assert after["passed"] == before["passed"] + 1
    again = run_cli("counter", "experiment", "E7", "--scale", "0.2", "--json")
    assert again.exit_code == 0
    assert _counter_progress()["passed"] == after["passed"], "running it twice counts once"
    listed = run_cli("counter", "experiments", "--json")
    assert [e["id"] for e in listed.json if e["run"]] == ["E7"]


def test_e4_draws_its_window_on_a_time_line():
    from rich.console import Console

    from learnbackend.counter.render import window_timeline

    console = Console(width=80, record=True, color_system=None)
    console.print(window_timeline(0.05, 0.1, 0.1, width=80))
    text = console.export_text()
    assert "acceptLimit (50 ms: Netflix's)" in text and "margin 100 ms: the lab's addition" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    ruler = next(line for line in text.splitlines() if "━━" in line and "┤" in line)
    assert re.search(r"━+─+┤", ruler), "the rolled-up window, then the open part up to now"


def test_counter_next_opens_the_first_experiment_not_yet_run():
    from learnbackend.context import Environment
    from learnbackend.counter.teach import run_id, suggested_order

    order = suggested_order()
    with Environment().progress() as store:  # the same LEARNBACKEND_HOME the CLI uses
        for experiment_id in order:
            if experiment_id != "E6":
                store.record("counter", run_id(experiment_id), "passed")
    result = run_cli("counter", "next", "--scale", "0.2", "--answer",
                     "Far fewer than 6,000 - a hot counter waiting in the queue is rolled up once for many triggers")
    assert result.exit_code == 0, result.stderr
    assert f"{len(order) - 1} of {len(order)} experiments run; next: E6" in result.stderr
    assert "Skewed rollup triggers" in result.stdout and "Your predictions: 1 of 1 held" in result.stdout
    assert _counter_progress()["passed"] >= len(order) + 1  # every run, and the right prediction


def test_home_continue_opens_the_next_experiment():
    from learnbackend.home_cli import _continue_steps

    assert _continue_steps("counter") == [["counter", "next"]]


def test_predictions_off_a_terminal_keep_the_flags():
    no_terminal = run_cli("counter", "experiment", "E6", "--predict")
    assert no_terminal.exit_code == 2 and "--answer" in no_terminal.stderr
    quiet = run_cli("counter", "experiment", "E6", "--scale", "0.2", "--json")  # no terminal: no question asked
    assert quiet.exit_code == 0 and "predictions" not in quiet.json


@pytest.mark.parametrize("experiment_id", [f"E{i}" for i in range(1, 10)])
def test_every_experiment_opens_with_a_picture_that_fits_80_columns(experiment_id):
    from rich.console import Console

    from learnbackend.counter.render import _PICTURES, flow_picture, window_timeline

    picture = (window_timeline(0.05, 0.1, 0.1) if experiment_id == "E4" else
               window_timeline(0.04, 0.02, 0.0) if experiment_id == "E8" else flow_picture(experiment_id))
    assert picture is not None
    console = Console(width=80, record=True, color_system=None)
    console.print(picture)
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80 and len(lines) <= 9
    if experiment_id in _PICTURES:
        assert len(lines) == len(_PICTURES[experiment_id][1]) + 2, "no line of the drawing wraps"
