"""The exercise handler for ``git-level``: a workspace holds a solution file, CI replays it.

``materialize`` writes ``solution.txt`` (a commented template: how to record a
solution with `learnbackend git shell`, or write one by hand). ``check``
builds the level in a fresh temporary sandbox, replays the solution through the
safe replayer, checks the goal and removes the sandbox. A solution that tries
something unsafe is refused with :class:`RefusedError` (exit 2), before anything runs.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learnbackend.course.results import ExerciseResult, from_conditions
from learnbackend.errors import RefusedError
from learnbackend.gitsandbox.levels import MODULE

if TYPE_CHECKING:
    from learnbackend.course.catalog import LoadedLesson
    from learnbackend.gitsandbox.models import GitLevel

SOLUTION_FILE = "solution.txt"
#: A recorded solution is a few KB; the cap bounds the replay's parsing of hostile input.
MAX_SOLUTION_BYTES = 256 * 1024
REPLAY_PREFIX = "learnbackend-git-replay-"
_SYNTAX_FIX = "Each line is `git ...`, `write PATH 'TEXT'`, `append PATH 'TEXT'` or `delete PATH`."


def reap_leftovers(max_age_s: float = 3600.0) -> list[Path]:
    """Remove replay sandboxes left behind by a killed run (only marked ones, older than ``max_age_s``)."""
    from learnbackend.gitsandbox.sandbox import is_owned, remove

    removed = []
    now = time.time()
    for parent in Path(tempfile.gettempdir()).glob(REPLAY_PREFIX + "*"):
        try:
            old = now - parent.stat().st_mtime > max_age_s
            roots = sorted(parent.glob("sandbox*")) if old and not parent.is_symlink() else []
        except OSError:
            continue
        for root in roots:
            if is_owned(root):
                remove(root)
                removed.append(root)
        if roots:
            _remove_replay_homes(parent)
            if not any(parent.iterdir()):
                parent.rmdir()
    return removed


def _remove_replay_homes(parent: Path) -> None:
    """The read-only git homes of killed replays (:func:`replay.pinned_home`); links are not followed."""
    from learnbackend.gitsandbox.replay import HOME_PREFIX

    for home in parent.glob(HOME_PREFIX + "*"):
        if home.is_dir() and not home.is_symlink():
            home.chmod(0o755)
            shutil.rmtree(home, ignore_errors=True)


def solution_template(key: str, level: GitLevel) -> str:
    """The starting content of a workspace's solution file."""
    lines = [
        f"# Solution of the git level {key}: {level.title}",
        "#",
        *(f"# {line}" if line else "#" for line in level.goal.strip().splitlines()),
        "#",
        f"# Play it with `learnbackend git start {key}` and `learnbackend git shell`; once it passes,",
        f"# `learnbackend git solution {key} > {SOLUTION_FILE}` writes your recorded commands here.",
        "# Or write them by hand, one per line: git ..., write PATH 'TEXT', append PATH 'TEXT', delete PATH.",
    ]
    return "\n".join(lines) + "\n"


def replay_and_check(key: str, level: GitLevel, solution_text: str, *, timeout: float = 30.0) -> ExerciseResult:
    """Build the level in a fresh temporary sandbox, replay the solution, check the goal, clean up."""
    from learnbackend.gitsandbox.conditions import evaluate
    from learnbackend.gitsandbox.replay import replay, validate
    from learnbackend.gitsandbox.sandbox import build, remove
    from learnbackend.gitsandbox.solution import SolutionSyntaxError, parse_solution

    started = time.monotonic()
    try:
        commands = parse_solution(solution_text)
    except SolutionSyntaxError as exc:
        raise RefusedError(f"Cannot read the solution: {exc}", fix=_SYNTAX_FIX) from None
    validate(commands)  # refuse before building anything
    reap_leftovers()
    # A random name inside a directory only its owner can list: while git may run as another user,
    # the repositories are writable by any user (see replay.prepare), so nobody else may find them.
    root = Path(tempfile.mkdtemp(prefix=REPLAY_PREFIX)) / f"sandbox-{secrets.token_hex(16)}"
    try:
        sandbox = build(level, root, key)
        log = replay(sandbox, commands, timeout=timeout)
        duration = time.monotonic() - started
        if log.timed_out:
            result = ExerciseResult(key, "error", f"the replay did not finish within {timeout:g} s", [], duration, MODULE)
        elif not commands:
            result = ExerciseResult(key, "failed", "the solution has no commands yet: write your git commands in it, one per line (its comments say how)", [], duration, MODULE)
        else:
            result = from_conditions(key, evaluate(level, sandbox), module=MODULE, duration_s=duration)
        result.details["replay"] = log.to_dict()
        return result
    finally:
        remove(root)
        root.parent.rmdir()


class GitLevelHandler:
    """Materialize and check git levels in learner workspaces."""

    def materialize(self, entry: LoadedLesson, exercise: Any, dest: Path) -> list[Path]:
        """Write the solution template into ``dest``."""
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / SOLUTION_FILE
        target.write_text(solution_template(f"{entry.lesson.id}/{exercise.id}", exercise))
        return [target]

    def check(self, entry: LoadedLesson, exercise: Any, workdir: Path, *, timeout: float) -> ExerciseResult:
        """Replay ``workdir/solution.txt`` in a fresh sandbox and check the level's goal."""
        key = f"{entry.lesson.id}/{exercise.id}"
        source = workdir / SOLUTION_FILE
        if not source.is_file():
            return ExerciseResult(key, "error", f"{SOLUTION_FILE} is missing in {workdir}", module=MODULE)
        from learnbackend.workspace.safefiles import read_text

        try:
            text = read_text(workdir, SOLUTION_FILE, max_bytes=MAX_SOLUTION_BYTES)  # a regular file, not a link
        except RefusedError as exc:
            return ExerciseResult(key, "error", f"{exc.message} {exc.fix or ''}".strip(), module=MODULE)
        except OSError as exc:
            return ExerciseResult(key, "error", f"cannot read {source}: {exc.strerror or exc}", module=MODULE)
        return replay_and_check(key, exercise, text, timeout=timeout)


HANDLER = GitLevelHandler()
