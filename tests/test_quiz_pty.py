"""The real interactive quiz and home menu, driven in a pseudo-terminal with pexpect."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest
from conftest import FIXTURES

GOOD = str(FIXTURES / "lessons" / "good")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
DOWN, ENTER, SPACE = "\x1b[B", "\r", " "


def _spawn(*args: str) -> pexpect.spawn:
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env.pop("LEARNBACKEND_WIDTH", None)
    env.update({"TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"})
    child = pexpect.spawn(sys.executable, ["-m", "learnbackend", *args], env=env, encoding="utf-8",
                          dimensions=(24, 80), timeout=30)
    return child


def _read_primer_if_any(child: pexpect.spawn, prompt: str) -> bool:
    """Before a topic's first question its primer is shown, one screenful at a time: read each
    part, press a key, and reach the question's prompt."""
    if child.expect(["Press any key for an example", prompt]) == 1:
        return False
    screen = _screen(child)
    assert "Before the questions:" in screen and "Why it matters" in screen
    child.send(" ")
    child.expect("Press any key for the questions")
    screen = _screen(child)
    assert ": an example" in screen and "Read more:" in screen
    child.send(" ")
    child.expect(prompt)
    return True


def _screen(child: pexpect.spawn) -> str:
    return ANSI.sub("", child.before or "")


def _letters(text: str) -> dict[str, str]:
    """Option text → letter, read from the question panel on screen."""
    found = {}
    for letter, option in re.findall(r"│\s+([a-h])\) (.+?)\s*│", text):
        found[option.strip()] = letter
    return found


def _planned(tmp_path: Path, seed: int) -> list[str]:
    from learnbackend.course.catalog import load_lessons
    from learnbackend.course.progress import ProgressStore
    from learnbackend.roadmap.quiz import QuizEngine

    with ProgressStore.open(tmp_path / "plan.sqlite3") as store:
        plan = QuizEngine(load_lessons([Path(GOOD)]), store).plan("practice", branches=["tiny"], seed=seed)
    return [item.qid.split("/")[1] for item in plan.items]


def test_play_a_whole_quiz_in_a_terminal(tmp_path: Path) -> None:
    order = _planned(tmp_path, 7)
    child = _spawn("--lessons", GOOD, "quiz", "start", "--branch", "tiny", "-n", "4", "--seed", "7")
    primers = 0
    for number, qid in enumerate(order, 1):
        if qid == "type-it":
            primers += _read_primer_if_any(child, r"Your answer \(\? for a hint\):")
            assert f"Question {number}/4" in _screen(child)
            child.send("?" + ENTER)
            child.expect("Hint: ")
            child.expect(r"Your answer \(\? for a hint\):")
            child.send("404 not found" + ENTER)
        elif qid == "pick-one":
            primers += _read_primer_if_any(child, "Your answer:")
            letters = _letters(_screen(child))
            child.send(letters["Right one"])
            child.send(ENTER)
        elif qid == "pick-many":
            primers += _read_primer_if_any(child, "Pick every right answer:")
            letters = _letters(_screen(child))
            wanted = {letters["2"], letters["4"]}
            # h is a key for the hint, not a box to tick among the answers.
            child.expect(r"\(Space to pick, Enter when done, h for a hint\)")
            assert "Show a hint" not in _screen(child)
            for index in range(4):
                if chr(ord("a") + index) in wanted:
                    child.send(SPACE)
                child.send(DOWN)
            child.send(ENTER)
        else:  # put-in-order: pick by letter, one step at a time
            primers += _read_primer_if_any(child, "What comes first\\?")
            letters = _letters(_screen(child))
            for step, item in enumerate(["one", "two", "three"]):
                if step:
                    child.expect("What comes after")
                child.send(letters[item])
                child.send(ENTER)
        child.expect("Right\\.")
        child.expect("Why")
    child.expect("4/4 right")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert primers == 2  # one per topic (Basics, More), each before the topic's first question


def test_ctrl_c_exits_130_and_keeps_answers(tmp_path: Path) -> None:
    child = _spawn("--lessons", GOOD, "quiz", "start", "--branch", "tiny", "--seed", "3")
    _read_primer_if_any(child, r"Question 1/4")
    child.expect(r"(Your answer|Pick every right answer|What comes first)")
    child.sendcontrol("c")
    child.expect("Practice session: Tiny")  # the summary, before the exit
    child.expect("Interrupted")
    assert "0/0 right (stopped after 0 of 4)" in _screen(child)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    # no traceback on screen
    assert "Traceback" not in (child.before or "")


def test_home_menu_on_a_terminal(tmp_path: Path) -> None:
    child = _spawn()
    child.expect("What would you like to do\\?")
    screen = _screen(child)
    child.expect("Quit")
    assert "Roadmap quiz" in screen or "Roadmap quiz" in _screen(child)
    # Quit is the last entry: go up once from the top wraps to it
    child.send("\x1b[A")
    child.send(ENTER)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


@pytest.mark.parametrize("args", [["quiz", "map"]])
def test_map_renders_in_a_terminal(args: list[str]) -> None:
    child = _spawn(*args)
    child.expect(pexpect.EOF)
    text = ANSI.sub("", child.before or "")
    assert "Backend roadmap" in text and "DevOps" in text


def test_ctrl_d_at_a_typed_answer_exits_130_not_an_internal_error(tmp_path: Path) -> None:
    seed = next(s for s in range(50) if _planned(tmp_path, s)[0] == "type-it")
    child = _spawn("--lessons", GOOD, "quiz", "start", "--branch", "tiny", "--seed", str(seed))
    _read_primer_if_any(child, r"Your answer \(\? for a hint\)")
    child.sendcontrol("d")
    child.expect("Interrupted")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Internal error" not in (child.before or "")


RAMP = str(FIXTURES / "lessons" / "ramp")
TITLE = re.compile(r"Question (\d+)/(\d+) · [a-z ]+?  Ramp › Steps · (\w+)")


def test_a_learner_climbs_the_ramp_and_reads_feedback_after_a_wrong_answer() -> None:
    child = _spawn("--lessons", RAMP, "quiz", "start", "--branch", "ramp", "-n", "7", "--seed", "1")
    assert _read_primer_if_any(child, "Your answer:")
    seen = []
    for number in range(1, 8):
        if number > 1:
            child.expect("Your answer:")
        screen = _screen(child)
        found = TITLE.findall(screen)
        assert found and found[-1][0] == str(number), screen
        seen.append(found[-1][2])
        letters = _letters(screen)
        if number == 1:
            child.send(letters["Wrong one"] + ENTER)
            child.expect("Not quite")
            # The feedback stays on screen until a key is pressed.
            child.expect("Press any key to continue")
            assert "Why" in _screen(child)
            child.send("x")
        else:
            child.send(letters["Right"] + ENTER)
            child.expect(r"Right\.")
    child.expect("6/7 right")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    # Wrong first: the run restarts; two right in a row move up a level each time.
    assert seen == ["easy", "easy", "easy", "medium", "medium", "hard", "hard"]


def test_quiz_menu_says_how_many_reviews_are_due_and_when() -> None:
    from conftest import run_cli

    child = _spawn("--lessons", RAMP, "quiz")
    child.expect("Which branch")
    assert "Reviews: no review yet" in _screen(child)
    child.sendcontrol("c")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    answered = run_cli("--lessons", RAMP, "quiz", "start", "--branch", "ramp", "-n", "1", "--seed", "1",
                       input="Right\n")
    assert answered.exit_code == 0, answered.stderr
    child = _spawn("--lessons", RAMP, "quiz")
    child.expect("Which branch")
    assert re.search(r"Reviews: no review due; the next in \d+ (s|min|h|days)", _screen(child))
    child.send(ENTER)  # all branches
    child.expect("How\\?")
    child.expect(r"Review what is due \(no review due; the next in \d+ (s|min|h|days)\)")
    child.sendcontrol("c")
    child.expect(pexpect.EOF)


def test_the_quiz_menu_opens_a_topics_primer() -> None:
    child = _spawn("quiz")
    child.expect("Which branch")
    child.send("2" + ENTER)  # Fundamentals
    child.expect("How\\?")
    child.send("3" + ENTER)  # Read a topic's primer
    child.expect("Which topic\\?")
    child.send("3" + ENTER)  # DNS
    child.expect("Read more:")
    assert "Fundamentals › DNS" in _screen(child) and "Why it matters" in _screen(child)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
