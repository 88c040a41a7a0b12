"""``learnbackend watch``: re-check the current exercise whenever a workspace file changes.

Like rustlings' watch mode: the screen shows the current exercise and its last check;
keys ``h`` hint, ``l`` list, ``n`` next, ``r`` re-check, ``q`` quit. File events come
from watchfiles (a Rust notify backend) on a background thread; keys are read from the
terminal in cbreak mode, which is always restored, also after Ctrl-C.
"""

from __future__ import annotations

import os
import queue
import select
import sys
import termios
import threading
import tty
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from rich.markdown import Markdown
from rich.text import Text

from learnbackend.errors import LearnBackendError, UsageError
from learnbackend.workspace import render
from learnbackend.workspace.checking import (
    NOT_STARTED,
    CheckReport,
    Outcome,
    check_one,
    check_time,
    record_progress,
    score,
    state_of,
    workspace_catalog,
)
from learnbackend.workspace.manifest import (
    MANIFEST_NAME,
    Manifest,
    WorkspaceExercise,
    load_manifest,
)
from learnbackend.workspace.navigation import advance, current, reveal_hint, states

if TYPE_CHECKING:
    from learnbackend.context import Environment

KEYS = "h hint · l list · n next · r re-check · q quit"
_IGNORED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules"}


def _relevant(change: Any, path: str) -> bool:
    """Editor swap files, caches and the manifest do not trigger a check (.git does: git levels)."""
    parts = Path(path).parts
    name = parts[-1] if parts else ""
    if any(p in _IGNORED_DIRS for p in parts) or name == MANIFEST_NAME:
        return False
    return not (name.endswith((".swp", ".swx", "~", ".pyc", ".tmp", ".lock")) or name.startswith(".#"))


#: How long the first check waits for the file watcher to exist (a save before that would go unseen).
READY_WAIT_S = 10.0


def _watch_files(root: Path, events: queue.Queue[str], stop: threading.Event, ready: threading.Event) -> None:
    """File events as "change" in ``events``; ``ready`` is set once the watches exist (the first wake-up of
    the watcher, at most ``rust_timeout`` after they were made), or once the watcher failed."""
    try:
        import watchfiles

        for changes in watchfiles.watch(root, watch_filter=_relevant, stop_event=stop, debounce=300, step=50,
                                        rust_timeout=100, yield_on_timeout=True, raise_interrupt=False):
            ready.set()
            if changes:
                events.put("change")
    except Exception as exc:  # noqa: BLE001 - the watcher dying must not leave the screen frozen
        events.put(f"error:{exc}")
    finally:
        ready.set()


class WatchSession:
    """The state of one watch session; :meth:`handle` maps a key or file event to an action.

    The focused exercise stays on screen after it passes (with "n for the next one"),
    like rustlings: moving on is the learner's decision.
    """

    def __init__(self, env: Environment, root: Path) -> None:
        self.env, self.root = env, root
        self.manifest: Manifest = load_manifest(root)
        self.catalog = workspace_catalog(self.manifest, env.extra_lesson_dirs, root=root)
        self.last: Outcome | None = None
        with env.progress() as store:
            state = current(store, self.manifest)
        self.focus: WorkspaceExercise | None = state.spec if state else None

    def check_focus(self) -> None:
        if self.focus is None:
            self.last = None
            return
        result = check_one(self.root, self.catalog, self.focus, timeout=60.0)
        self.last = Outcome(self.focus, result, score(self.focus, result))
        report = CheckReport(self.root, self.manifest, self.catalog.pack_version, self.manifest.student, check_time(), [self.last])
        with self.env.progress() as store:
            record_progress(store, report)

    def screen(self, note: RenderableType | None = None, *, result: bool = True) -> None:
        out = self.env.out
        out.clear()
        with self.env.progress() as store:
            all_states = states(store, self.manifest)
        solved = sum(s.done for s in all_states)
        if self.focus is None:
            out.print(Text(f"All {len(all_states)} exercises are solved. Well done!", style="ok"))
        else:
            state = next(s for s in all_states if s.spec.id == self.focus.id)
            out.print(Text.assemble(f"Exercise {state.number}/{len(all_states)}: ", (state.spec.id, "title"), "  ", render.mark(state.status)))
            out.print(Text.assemble("Edit the files in ", (state.spec.path + "/", "code"), ": every save is checked."))
            if result and self.last is not None and self.last.spec.id == self.focus.id:
                out.print()
                if state_of(self.last.result) == NOT_STARTED:
                    prompt = self._prompt(self.focus)
                    if prompt:
                        # Markdown reflows the lesson's hard-wrapped lines once, to this terminal's width.
                        out.print(Markdown(prompt))
                        out.print()
                    out.print(Text("Not started yet: save an answer and it is checked at once.", style="muted"))
                for line in render.outcome_lines(self.last, verbose=True, hints=False):
                    out.print(line)
                if self.last.result.passed:
                    out.print()
                    out.print(Text.assemble(("Solved! ", "ok"), "Press ", ("n", "key"), " for the next exercise."))
        if note is not None:
            out.print()
            out.print(note)
        out.print()
        out.print(Text(f"Progress: {solved}/{len(all_states)} solved", style="title"))
        out.print(Text(KEYS, style="muted"))

    def _prompt(self, spec: WorkspaceExercise) -> str:
        """What the exercise asks (its question, goal or prompt), from the instructor's lessons."""
        try:
            _, exercise = self.catalog.exercise(spec.id)
        except LearnBackendError:
            return ""
        for name in ("prompt", "goal"):
            value = getattr(exercise, name, None)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return ""

    def move_on(self) -> None:
        with self.env.progress() as store:
            target = advance(store, self.manifest, after=self.focus.id if self.focus else None)
        self.focus = target.spec if target else None
        self.check_focus()

    def handle(self, key: str) -> bool:
        """React to one key or event; False means quit."""
        if key == "q":
            return False
        if key in ("change", "r"):
            self.check_focus()
            self.screen()
        elif key == "n":
            self.move_on()
            self.screen()
        elif key == "h":
            if self.focus is None:
                self.screen(Text("Everything is solved: no hint needed.", style="ok"))
                return True
            with self.env.progress() as store:
                shown, total = reveal_hint(store, self.manifest, self.catalog, self.focus)
            self.screen(Text(f"Hint {len(shown)} of {total}: {shown[-1]}", style="warn"))
        elif key == "l":
            with self.env.progress() as store:
                items = states(store, self.manifest)
            table = render.exercise_table(items, self.focus.id if self.focus else None)
            self.screen(table, result=False)
        elif key.startswith("error:"):
            self.screen(Text(f"File watching stopped: {key[6:]}. Press r to re-check by hand.", style="error"))
        return True


def run_watch(env: Environment, root: Path) -> None:
    """Run the watch loop on a terminal until ``q`` (or Ctrl-C)."""
    if not (env.interactive and sys.stdin.isatty()):
        raise UsageError("watch needs a terminal to read keys from.", fix="Run `learnbackend check` in scripts and CI.")
    session = WatchSession(env, root)
    events: queue.Queue[str] = queue.Queue()
    stop, watching = threading.Event(), threading.Event()
    watcher = threading.Thread(target=_watch_files, args=(root, events, stop, watching), daemon=True)
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        watcher.start()
        watching.wait(READY_WAIT_S)  # the first check after the watches exist: no save falls between the two
        session.check_focus()
        session.screen()
        running = True
        while running:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                key = os.read(fd, 1).decode(errors="ignore").lower()
                running = session.handle(key)
            while running:
                try:
                    event = events.get_nowait()
                except queue.Empty:
                    break
                # One check for a burst of changes.
                while not events.empty():
                    events.get_nowait()
                running = session.handle(event)
    finally:
        stop.set()
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    env.out.print(Text("Bye! Your progress is saved; `learnbackend watch` picks up where you left.", style="muted"))
