"""An experiment in a real 80x24 terminal: its concept first, then the prediction (asked without --predict),
then the measured run and the verdict on the prediction; the run counts in the counter lab's progress."""

from __future__ import annotations

import re
from pathlib import Path

import pexpect
from conftest import ANSI, LESSONS, run_cli, spawn_cli


def _spawn(*args: str) -> pexpect.spawn:
    return spawn_cli(*args, rows=24, cols=80, timeout=90)


def _read_pages(child: pexpect.spawn, end: object) -> str:
    """The results, a screenful at a time on an 80x24 terminal: a key for each next one, until ``end``."""
    seen = ""
    while child.expect(["Press a key for the rest", end], timeout=180) == 0:
        seen += ANSI.sub("", child.before or "")
        child.send(" ")
    return seen + ANSI.sub("", child.before or "")


def test_an_experiment_opens_with_its_concept_and_asks_a_prediction_on_a_terminal(isolated_env: Path) -> None:
    from learnbackend.counter.guide import predictions_for
    from learnbackend.course.catalog import load_lessons

    (prediction,) = predictions_for(load_lessons([LESSONS]), "E7")
    key = str(prediction.choices.index(prediction.answer) + 1)  # questionary's number shortcut
    child = _spawn("counter", "experiment", "E7", "--scale", "0.2")
    try:
        child.expect("What it tests")
        child.expect("Why it matters")
        child.expect("Watch")
        concept = ANSI.sub("", child.before or "")
        assert "events since rollup" not in concept, "nothing has run before the prediction"
        child.expect("Press a key to predict")
        child.send(" ")
        child.expect("Predict first")
        child.expect("Your prediction")
        child.send(key)
        child.send("\r")
        seen = _read_pages(child, pexpect.EOF)
        assert "what you just saw" in seen and "Your predictions: 1 of 1 held" in seen, seen
    finally:
        child.close()
    assert child.exitstatus == 0
    progress = run_cli("progress", "--json")  # the same LEARNBACKEND_HOME as the child's
    counter = next(m for m in progress.json["modules"] if m["module"] == "counter")
    assert counter["passed"] == 2, "the run and the right prediction both count"


def test_home_continue_opens_the_next_experiment_with_its_prediction(isolated_env: Path) -> None:
    from learnbackend.context import Environment
    from learnbackend.counter.teach import run_id, suggested_order

    with Environment().progress() as store:  # the same LEARNBACKEND_HOME as the child's
        for experiment_id in suggested_order():
            if experiment_id != "E7":
                store.record("counter", run_id(experiment_id), "passed")  # the lab was used last
    child = _spawn()
    try:
        child.expect("What would you like to do")
        child.expect("Quit")
        assert "Continue where you left off (counter lab)" in ANSI.sub("", child.before or "")
        child.send("c")
        child.send("\r")
        child.expect("next: E7")
        child.expect("What it tests")
        child.expect("Press a key to predict")
        child.send("\r")
        child.expect("Your prediction")
        child.send("1")
        child.send("\r")
        seen = _read_pages(child, "Press a key for the menu")  # the result stays on screen until read
        assert re.search(r"Your predictions: \d of 1 held", seen), seen
        child.send(" ")
        child.expect("What would you like to do")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    statuses = run_cli("counter", "experiments", "--json").json
    assert all(e["run"] for e in statuses), "E7 ran from Continue and counts"
