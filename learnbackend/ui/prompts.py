"""Prompts behind a small interface that tests and scripts can replace.

:class:`QuestionaryPrompter` asks on a real terminal; :class:`ScriptedPrompter`
answers from a list (an answers file, stdin). Without a terminal and without
answers, :class:`NoTerminal` is raised instead of hanging.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from learnbackend.errors import NoTerminal, UsageError

if TYPE_CHECKING:
    from learnbackend.context import Environment


class Prompter(Protocol):
    """What the quiz, menus and guided lessons need to ask."""

    def select(self, message: str, choices: list[str], *, default: int | None = None,
               keys: list[str] | None = None) -> int: ...

    def checkbox(self, message: str, choices: list[str], *, escape_key: str | None = None) -> list[int]: ...

    def text(self, message: str) -> str: ...

    def confirm(self, message: str, *, default: bool = False) -> bool: ...


def _answered(value: object) -> object:
    """questionary returns None when the prompt was cancelled (Ctrl-C, EOF)."""
    if value is None:
        raise KeyboardInterrupt
    return value


def _ask(question: Any) -> object:
    """Ask; Ctrl-D (EOFError from prompt_toolkit) ends the session like Ctrl-C instead of an internal error."""
    try:
        return question.unsafe_ask()
    except EOFError:
        raise KeyboardInterrupt from None


class QuestionaryPrompter:
    """Arrow-key prompts on a real terminal."""

    def __init__(self) -> None:
        import questionary

        self._q = questionary

    def select(self, message: str, choices: list[str], *, default: int | None = None,
               keys: list[str] | None = None, quit_index: int | None = None) -> int:
        """Arrow keys, or the shortcut keys shown beside each choice (1, 2... unless ``keys``).

        ``quit_index``: the choice that ``q`` picks at once (a menu's Quit), without Enter.
        """
        if keys is None and len(choices) <= 9:
            keys = [str(i + 1) for i in range(len(choices))]
        options = [self._q.Choice(title=c, value=i, shortcut_key=keys[i] if keys else True)
                   for i, c in enumerate(choices)]
        instruction = "(arrows or key, then Enter" if keys else "(arrows, then Enter"
        instruction += "; q quits)" if quit_index is not None else ")"
        question = self._q.select(
            message, choices=options, default=options[default] if default is not None else None,
            use_shortcuts=bool(keys), instruction=instruction,
        )
        if quit_index is not None:
            from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings

            extra = KeyBindings()

            @extra.add("q", eager=True)
            def _quit(event: Any) -> None:
                event.app.exit(result=quit_index)

            app = question.application
            app.key_bindings = merge_key_bindings([app.key_bindings, extra]) if app.key_bindings else extra
        chosen = _ask(question)
        return int(_answered(chosen))  # type: ignore[call-overload]

    def checkbox(self, message: str, choices: list[str], *, escape_key: str | None = None) -> list[int]:
        """Space picks, Enter ends; ``escape_key`` (e.g. h for a hint) returns ``[-1]`` at once."""
        options = [self._q.Choice(title=c, value=i) for i, c in enumerate(choices)]
        instruction = "(Space to pick, Enter when done" + (f", {escape_key} for a hint)" if escape_key else ")")
        question = self._q.checkbox(message, choices=options, instruction=instruction)
        if escape_key is not None:
            from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings

            extra = KeyBindings()

            @extra.add(escape_key, eager=True)
            def _escape(event: Any) -> None:
                event.app.exit(result=[-1])

            app = question.application
            app.key_bindings = merge_key_bindings([app.key_bindings, extra]) if app.key_bindings else extra
        chosen = _ask(question)
        return list(_answered(chosen))  # type: ignore[call-overload]

    def text(self, message: str) -> str:
        return str(_answered(_ask(self._q.text(message))))

    def confirm(self, message: str, *, default: bool = False) -> bool:
        return bool(_answered(_ask(self._q.confirm(message, default=default))))


class ScriptedPrompter:
    """Answers from a list of strings, in order: for scripts, CI and tests.

    ``select`` accepts a number (1-based) or the choice text; ``checkbox`` a
    comma-separated list of those; ``confirm`` y/yes/n/no.
    """

    def __init__(self, answers: Iterable[str], *, source: str = "the answers") -> None:
        self._answers = iter(answers)
        self._source = source

    def _next(self, message: str) -> str:
        try:
            return next(self._answers).strip()
        except StopIteration:
            raise UsageError(f"{self._source} ran out before: {message}",
                             fix="Give one answer per prompt, or run in a terminal.") from None

    def select(self, message: str, choices: list[str], *, default: int | None = None,
               keys: list[str] | None = None) -> int:
        raw = self._next(message)
        if not raw and default is not None:
            return default
        index = match_choice(raw, choices)
        if index is None:
            raise UsageError(f"{raw!r} is not one of the choices for: {message}", fix="Answer with a number or the choice text.")
        return index

    def checkbox(self, message: str, choices: list[str], *, escape_key: str | None = None) -> list[int]:
        raw = self._next(message)
        picked = []
        for part in [p for p in raw.split(",") if p.strip()]:
            index = match_choice(part.strip(), choices)
            if index is None:
                raise UsageError(f"{part.strip()!r} is not one of the choices for: {message}")
            picked.append(index)
        return picked

    def text(self, message: str) -> str:
        return self._next(message)

    def confirm(self, message: str, *, default: bool = False) -> bool:
        raw = self._next(message).lower()
        if not raw:
            return default
        if raw in ("y", "yes", "true", "1"):
            return True
        if raw in ("n", "no", "false", "0"):
            return False
        raise UsageError(f"{raw!r} is not yes or no, for: {message}")


class NoTerminalPrompter:
    """Refuses every prompt with a clear message: never waits for input that cannot come."""

    def __init__(self, what: str, *, fix: str | None = None) -> None:
        self._what = what
        self._fix = fix

    def select(self, message: str, choices: list[str], *, default: int | None = None,
               keys: list[str] | None = None) -> int:
        raise NoTerminal(self._what, fix=self._fix)

    def checkbox(self, message: str, choices: list[str], *, escape_key: str | None = None) -> list[int]:
        raise NoTerminal(self._what, fix=self._fix)

    def text(self, message: str) -> str:
        raise NoTerminal(self._what, fix=self._fix)

    def confirm(self, message: str, *, default: bool = False) -> bool:
        raise NoTerminal(self._what, fix=self._fix)


def match_choice(raw: str, choices: list[str]) -> int | None:
    """A 1-based number, a letter (a, b, c...), or the choice text (case-insensitive)."""
    raw = raw.strip()
    if raw.isdigit() and 1 <= int(raw) <= len(choices):
        return int(raw) - 1
    if len(raw) == 1 and raw.isalpha() and len(choices) <= 26:
        index = ord(raw.lower()) - ord("a")
        if 0 <= index < len(choices):
            return index
    folded = [c.casefold().strip() for c in choices]
    if raw.casefold() in folded:
        return folded.index(raw.casefold())
    return None


def prompter_for(env: Environment, what: str, *, fix: str | None = None) -> Prompter:
    """A real prompter on a terminal, otherwise one that refuses clearly (``fix`` names the flags to use)."""
    if env.interactive:
        return QuestionaryPrompter()
    return NoTerminalPrompter(what, fix=fix)


def confirm(env: Environment, message: str, *, what: str) -> bool:
    """Ask yes/no on a terminal; without one, refuse (the caller offers --yes)."""
    if not env.interactive:
        raise UsageError(
            f"{what} needs a confirmation, but there is no terminal to ask on.", fix="Pass --yes to confirm."
        )
    return prompter_for(env, what).confirm(message, default=False)
