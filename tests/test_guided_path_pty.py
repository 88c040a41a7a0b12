"""A new learner's whole path, guided by the home screen alone, in a real 80x24 terminal.

The terminal is emulated (pyte), so each assertion is about what the learner can SEE at that
moment, not about bytes that went by: a result that scrolled away before the learner could read
it fails the test. The path: home → the quiz (a primer before the topic's first question, an
answer and its feedback) → the git sandbox (the level's idea, its shell, `check`, exit) → the
containers lab (the next demo, its prediction, the table and the verdict) → the counter lab
(Netflix's design, then Continue → the next experiment with its concept and prediction) → q.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from pathlib import Path

import pexpect
import pyte
import pytest
from conftest import LESSONS, need

from learnbackend.context import engines_required

ROWS, COLUMNS = 24, 80
MENU = "What would you like to do"
BACK = "Press a key for the menu"


class Terminal:
    """A learnbackend process in a pty, seen through an 80x24 VT100 screen that answers the
    terminal's queries (cursor position) as a real one does."""

    def __init__(self, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "LEARNBACKEND_WIDTH")}
        env.update({"TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "LINES": str(ROWS),
                    "LEARNBACKEND_HOME": str(home)})
        self.child = pexpect.spawn(sys.executable, ["-m", "learnbackend"], env=env, encoding="utf-8",
                                   dimensions=(ROWS, COLUMNS))
        child = self.child

        class Screen(pyte.Screen):
            def write_process_input(self, data: str) -> None:
                child.send(data)

        self.screen = Screen(COLUMNS, ROWS)
        self.stream = pyte.Stream(self.screen)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def _pump(self, seconds: float) -> bool:
        """Feed what the process wrote into the screen; False once it has exited."""
        try:
            self.stream.feed(self.child.read_nonblocking(65536, timeout=seconds))
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            return False
        return True

    def wait(self, pattern: str, timeout: float = 30) -> str:
        """Wait (bounded) until ``pattern`` is on the screen; the screen then."""
        deadline = time.monotonic() + timeout
        while True:
            alive = self._pump(0.2)
            screen = self.text()
            if re.search(pattern, screen):
                return screen
            if not alive or time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never appeared on screen ({'exited' if not alive else 'timeout'});"
                                     f" the screen:\n{screen}")

    def wait_prompt(self, pattern: str, timeout: float = 30) -> str:
        """Wait (bounded) until the line the cursor is on matches ``pattern`` (a prompt waiting for input)."""
        deadline = time.monotonic() + timeout
        while True:
            alive = self._pump(0.2)
            line = self.screen.display[self.screen.cursor.y].rstrip()
            if re.search(pattern, line):
                return self.text()
            if not alive or time.monotonic() > deadline:
                raise AssertionError(f"no prompt {pattern!r} at the cursor; the screen:\n{self.text()}")

    def press(self, keys: str, pattern: str, timeout: float = 30) -> str:
        """Send ``keys`` and wait for a new screen whose cursor line (a prompt) matches ``pattern``."""
        before = self.text()
        self.child.send(keys)
        deadline = time.monotonic() + timeout
        while self.text() == before and time.monotonic() < deadline:
            self._pump(0.2)
        self.settle(0.3)
        return self.wait_prompt(pattern, max(deadline - time.monotonic(), 1))

    def settle(self, quiet: float = 0.5) -> str:
        """The screen once the process has stopped writing for ``quiet`` seconds (bounded)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            before = self.text()
            self._pump(quiet)
            if self.text() == before:
                break
        return self.text()

    def key(self, keys: str) -> None:
        self.child.send(keys)


def _visible(screen: str, *needles: str) -> None:
    for needle in needles:
        assert needle in screen, f"{needle!r} is not on the screen:\n{screen}"


def _quiz(term: Terminal) -> None:
    term.key("1")
    term.key("\r")
    term.wait("Which branch")
    term.key("\r")  # all branches
    term.wait(r"How\?")
    term.key("\r")  # practise: easy first
    screen = term.wait("Press any key for an example")
    _visible(screen, "Before the questions:", "Why it matters")  # the primer, before any question
    topic = re.search(r"Before the questions: (.+?) ─", screen)
    assert topic, screen
    term.key(" ")
    screen = term.wait("Press any key for the questions")
    _visible(screen, ": an example", "Read more:")
    term.key(" ")
    screen = term.wait(r"Question 1/\d+")
    assert topic.group(1).strip() in screen, "the first question is on the topic the primer just taught"
    kind = re.search(r"Question 1/\d+ · (one answer|pick every right answer|put them in order|type a short answer)",
                     screen)
    assert kind, screen
    if kind.group(1) == "type a short answer":
        term.wait_prompt(r"Your answer \(\? for a hint\):")
        term.key("no idea at all\r")
    elif kind.group(1) == "put them in order":  # n items: n - 1 picks, the first one left each time
        count = len(set(re.findall(r"│\s+([a-h])\) ", screen)))
        term.wait_prompt(r"What comes first\?")
        for _ in range(count - 2):
            term.press("\r", r"What comes after")
        term.key("\r")
    elif kind.group(1) == "pick every right answer":
        term.wait_prompt(r"Pick every right answer")
        term.key(" ")  # tick the first one
        term.key("\r")
    else:
        term.wait_prompt(r"Your answer:")
        term.key("\r")  # the first option
    screen = term.wait(r"(✗ Not quite|✓ Right)")
    if "Not quite" in screen:  # the whole feedback is on screen while the quiz waits for a key
        screen = term.wait("Press any key to continue")
        _visible(screen, "Why")
        assert re.search(r"You (answered|picked|ordered)", screen) and re.search(r"(Expected|Right):", screen), screen
        why = screen[screen.index("╭─ Why"):]
        assert "╰" in why, f"the explanation runs off the screen:\n{screen}"
    else:
        _visible(term.settle(), "Why")
    term.child.sendintr()  # enough for today: Ctrl-C ends the session with its summary
    screen = term.wait(BACK)
    _visible(screen, "Practice session", r"right (stopped after")


def _git(term: Terminal) -> None:
    term.key(BACK and " ")
    screen = term.wait(MENU)
    _visible(term.wait("Quit"), "c) Continue where you left off (roadmap quiz)")
    term.key("3")
    term.key("\r")
    screen = term.wait("Press a key for the goal")
    _visible(screen, "The idea:", "three local places", "staging area")  # the concept, read before the goal
    term.key(" ")
    prompt = r"^\(git: stage-a-file\) work \$$"
    screen = term.wait_prompt(prompt)
    _visible(screen, "Goal", "notes.md", "Your git commands are recorded")
    term.child.sendline("git add notes.md")
    term.wait(r"work \$ git add notes.md\n")
    term.wait_prompt(prompt)
    term.child.sendline("check")
    term.wait(r"Level passed")
    term.wait_prompt(prompt)
    term.child.sendline("exit")
    screen = term.wait(BACK)
    _visible(screen, "Left the level's shell")


def _containers(term: Terminal) -> None:
    from learnbackend.containers import engine

    client, why = engine.try_connect()
    if client is None and engines_required():
        pytest.fail(f"required engine missing in CI: a Docker engine: {why}")
    if client is not None:
        client.close()
    term.key(" ")
    term.wait("Quit")
    term.key("5")
    term.key("\r")
    screen = term.wait("Which kernel version will the container report")
    _visible(screen, "What a container can see")  # the demo's idea, above its question
    term.key("\r")
    screen = term.wait(r"(Press a key for the verdict|You predicted)", timeout=180)
    table = term.text()
    _visible(table, "What a container can see", "bare process", "kernel", "processes seen")
    if client is not None:
        _visible(table, "container", "overlay")
    else:
        _visible(table, "No Docker engine")
    if "Press a key for the verdict" in screen:
        term.key(" ")
    screen = term.wait(BACK)
    _visible(screen, "You predicted", "a container is a fenced process")


def _counter(term: Terminal) -> None:
    term.key(" ")
    screen = term.wait("Quit")
    _visible(screen, "c) Continue where you left off (containers lab)")
    term.key("7")
    term.key("\r")
    screen = term.wait("Press a key for more")
    _visible(screen, "Netflix's Distributed Counter, as Netflix built it", "75,000")
    for _ in range(10):  # a screenful at a time, each one read before the next
        screen = term.press(" ", r"(Press a key for more|Press a key for the menu)")
        if BACK in screen.splitlines()[term.screen.cursor.y]:
            break
    _visible(screen, "rolled-up counts, cached", "counter next")  # the four layers, whole, then the way on
    term.key(" ")
    screen = term.wait("Quit")
    _visible(screen, "c) Continue where you left off (counter lab)")
    term.key("c")
    term.key("\r")
    screen = term.wait("Press a key to predict")
    _visible(screen, "E1", "What it tests", "Why it matters")
    from learnbackend.counter.guide import predictions_for
    from learnbackend.course.catalog import load_lessons

    questions = predictions_for(load_lessons([LESSONS]), "E1")
    screen = term.press(" ", r"Your prediction:")
    _visible(screen, "Predict first")

    def asked(screen: str) -> bool:  # one of E1's prediction questions, in full above its choices
        return any(" ".join(q.prompt.split()[-4:]) in " ".join(screen.split()) for q in questions)

    assert asked(screen), screen
    for number in range(len(questions)):
        if number:
            screen = term.wait_prompt(r"Your prediction:")
            assert asked(screen), screen
        term.key("1")
        term.key("\r")
    more = r"(Press a key for the rest|Press a key for the menu)"
    screens = [term.wait_prompt(more, timeout=240)]  # the run, then its results a screenful at a time
    for _ in range(12):
        if BACK in term.screen.display[term.screen.cursor.y]:
            break
        screens.append(term.press(" ", more))
    seen = "\n".join(screens)
    _visible(screens[0], "E1 Concurrent writers", "ops/s", "event-log")  # the table, from its title
    _visible(seen, "what you just saw", "Your predictions:", "you said:")
    assert BACK in screens[-1]


def test_a_new_learner_goes_through_every_module_from_the_home_screen(isolated_env: Path) -> None:
    need(shutil.which("git") is not None, "git is not installed")
    need(shutil.which("bash") is not None, "bash is not installed")
    term = Terminal(isolated_env)
    try:
        screen = term.wait("Quit")
        _visible(screen, "Your progress", "Roadmap quiz", "Git sandbox", "Containers lab", "Counter lab", "q quits")
        assert "Continue where you left off" not in screen, "a new learner has nowhere to continue yet"
        _quiz(term)
        _git(term)
        _containers(term)
        _counter(term)
        term.key(" ")
        term.wait("Quit")
        term.key("q")
        term.child.expect(pexpect.EOF, timeout=30)
    finally:
        term.child.close(force=True)
    assert term.child.exitstatus == 0
