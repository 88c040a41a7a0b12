"""Running a quiz session: ask each question (terminal, answers file or stdin), grade, record, render."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from learnbackend.errors import UsageError
from learnbackend.roadmap import render
from learnbackend.roadmap.grading import Presented, Response, grade, parse_response
from learnbackend.roadmap.quiz import QuizEngine, Ramp, SessionPlan, SessionResult

if TYPE_CHECKING:
    from rich.console import Console

    from learnbackend.ui.prompts import Prompter

HINT = "Show a hint"


class TerminalAnswers:
    """Asks on a real terminal with arrow-key prompts; a hint is one of the options."""

    #: Practice on a terminal follows the ramp: the next question depends on the last answers.
    adaptive = True

    def __init__(self, prompter: Prompter, console: Console) -> None:
        self.prompter = prompter
        self.console = console

    def _label(self, option: str, message: str = "Your answer:") -> str:
        """The option cut so that it fits a line twice: in the list ("  a) …") and in the echo
        ("? MESSAGE …") once picked; the panel above shows the full, wrapped text."""
        room = max(20, self.console.width - max(8, len(message) + 5))
        return option if len(option) <= room else option[: room - 1].rstrip() + "…"

    @staticmethod
    def _keys(item: Presented, options: list[str], hint: bool) -> list[str]:
        """The same letters as in the panel, and h (or 0 if h is an option) for the hint."""
        letters = [chr(ord("a") + item.options.index(o)) for o in options]
        if not hint:
            return letters
        return letters + ["0" if len(item.options) >= 8 else "h"]

    def pause(self, message: str) -> None:
        """Wait for any key, so what was just printed is read before the next screen pushes it up."""
        press_any_key(message)

    def answer(self, item: Presented) -> Response:
        q = item.question
        options = list(item.options)
        labels = [self._label(o) for o in options]
        hinted = False

        def extra() -> list[str]:
            return [] if hinted else [HINT]

        while True:
            if q.kind == "text":
                typed = self.prompter.text("Your answer (? for a hint):").strip()
                if typed == "?":
                    render.hint(self.console, q.hint)
                    hinted = True
                    continue
                if not typed:
                    continue
                return typed
            if q.kind == "single":
                index = self.prompter.select("Your answer:", labels + extra(), keys=self._keys(item, options, not hinted))
                if index == len(options):
                    render.hint(self.console, q.hint)
                    hinted = True
                    continue
                return options[index]
            if q.kind == "multiple":
                # Checkboxes have no shortcut keys: the letters in the titles match the panel; h shows
                # the hint (a key, not a box to tick among the answers).
                lettered = [f"{chr(ord('a') + i)}) {self._label(o, 'Pick every right answer: a) ')}"
                            for i, o in enumerate(options)]
                picked = self.prompter.checkbox("Pick every right answer:", lettered,
                                                escape_key=None if hinted else "h")
                if picked == [-1]:
                    render.hint(self.console, q.hint)
                    hinted = True
                    continue
                if not picked:
                    self.console.print("Pick at least one (Space), then Enter.", style="warn")
                    continue
                return [options[i] for i in picked]
            # Ordering: pick the first item, then the next, from what is left.
            remaining = list(options)
            chosen: list[str] = []
            while remaining:
                label = "What comes first?" if not chosen else f"What comes after {chr(ord('a') + item.options.index(chosen[-1]))})?"
                if len(remaining) == 1:
                    chosen.append(remaining.pop())
                    break
                index = self.prompter.select(label, [self._label(r, label) for r in remaining] + ([] if chosen else extra()),
                                             keys=self._keys(item, remaining, not chosen and not hinted))
                if index == len(remaining):
                    render.hint(self.console, q.hint)
                    hinted = True
                    continue
                chosen.append(remaining.pop(index))
            return chosen


class ScriptedAnswers:
    """Answers from an answers file (by question id) or from lines on stdin (in order)."""

    def __init__(self, by_id: dict[str, Any] | None = None, lines: Iterator[str] | None = None) -> None:
        self.by_id = by_id
        self.lines = lines
        self.read_any = False

    def answer(self, item: Presented) -> Response | None:
        if self.by_id is not None:
            raw = self.by_id.get(item.qid)
            if raw is None:
                raise UsageError(f"The answers file has no answer for {item.qid}.")
        else:
            assert self.lines is not None
            raw = next(self.lines, None)
            if raw is None:
                if not self.read_any:
                    # Nothing at all on stdin (e.g. < /dev/null, or cron): say so instead of an empty summary.
                    raise UsageError("The quiz needs answers, but there is no terminal to ask on and stdin is empty.",
                                     fix="Run it in a terminal, pass --answers FILE (question id: answer), "
                                         "or pipe one answer per line.")
                return None  # stdin ended: stop the session here
            self.read_any = True
            raw = raw.rstrip("\n")
        if isinstance(raw, (int, float)):
            raw = str(raw)
        return parse_response(item, raw)


def load_answers_file(path: Any) -> dict[str, Any]:
    """A YAML or JSON mapping: question id → answer (text, or a list for multiple/order)."""
    from pathlib import Path

    from learnbackend.course.yamlsource import load_yaml

    path = Path(path)
    source = load_yaml(path)  # JSON is YAML: one bounded loader for both
    if source.problems:
        first = source.problems[0]
        if first.message.startswith("cannot be read"):
            raise UsageError(f"Cannot read the answers file {path}: {first.message.removeprefix('cannot be read: ')}.")
        raise UsageError(f"The answers file {first.where()}: {first.message}.", fix=first.fix)
    data = source.data
    if not isinstance(data, dict) or not data:
        raise UsageError(f"The answers file {path} must map question ids to answers.",
                         fix="For example:\n  roadmap-fundamentals/dns-ttl: Resolvers cached the record...")
    return {str(k): v for k, v in data.items()}


def press_any_key(message: str) -> None:
    """Wait for one key press on the terminal; Ctrl-C and Ctrl-D interrupt as everywhere else."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.keys import Keys

    bindings = KeyBindings()

    @bindings.add("c-c")
    @bindings.add("c-d")
    def _stop(event: Any) -> None:
        event.app.exit(exception=KeyboardInterrupt())

    @bindings.add(Keys.Any)
    @bindings.add("enter")
    def _go(event: Any) -> None:
        event.app.exit(result="")

    PromptSession(message, key_bindings=bindings).prompt()


def run_session(engine: QuizEngine, plan: SessionPlan, source: Any, console: Console | None) -> SessionResult:
    """Ask every planned question, grading and recording each answer as it comes.

    A topic's primer is taught before its first question. On a terminal the learner
    presses a key after a primer and after a wrong answer. Ctrl-C ends the session with
    ``interrupted`` set: the answers so far are kept and the caller shows the summary.
    """
    result = SessionResult(plan.mode, plan.branches, plan.seed)
    total = len(plan.items)
    pause = getattr(source, "pause", None) if console is not None else None
    # Scripts answer in the planned order (already easy to hard); a learner at a terminal
    # gets the adaptive order, which depends on their answers.
    adaptive = plan.level is not None and getattr(source, "adaptive", False)
    ramp = Ramp(plan.items, plan.level or 0) if adaptive else None
    order = iter(plan.items) if ramp is None else iter(ramp.next, None)
    to_teach = dict(plan.primers)
    try:
        for number, item in enumerate(order, 1):
            taught = to_teach.pop(f"{item.lesson_id}/{item.question.topic}", None)
            if console is not None and taught is not None:
                if pause is not None:  # one screenful at a time
                    render.primer(console, taught, part="intro")
                    pause("Press any key for an example...")
                    render.primer(console, taught, part="example")
                    pause("Press any key for the questions...")
                else:
                    render.primer(console, taught)
                engine.taught(taught)
            if console is not None:
                render.question(console, item, number, total)
            response = source.answer(item)
            if response is None:
                result.stopped_early = True
                break
            fb = grade(item, response)
            engine.record(item, fb, mode=plan.mode)
            result.feedback.append(fb)
            if ramp is not None:
                ramp.answered(item, fb.correct)
            if console is not None:
                render.feedback(console, fb, item)
                if pause is not None and not fb.correct:
                    pause("Press any key to continue...")
    except KeyboardInterrupt:
        result.stopped_early = result.interrupted = True
    return engine.finish(plan, result)


def stdin_lines() -> Iterator[str]:
    yield from sys.stdin
