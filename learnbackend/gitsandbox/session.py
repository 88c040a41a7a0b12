"""The learner's session with the git sandbox: the engine behind `learnbackend git ...`.

The current level, the hints revealed and the saved solutions live in the
progress store (keys ``git.*``, outcomes under module ``git``). Each function
returns data for ``render.py``; none prints.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learnbackend.course.results import ExerciseResult, from_conditions
from learnbackend.errors import EnvironmentMissing, UsageError
from learnbackend.gitsandbox.gitenv import git_executable
from learnbackend.gitsandbox.graph import Graph, goal_graph, load_goal, read_graph, save_goal
from learnbackend.gitsandbox.levels import (
    MODULE,
    LevelRef,
    all_levels,
    find_level,
    git_catalog,
)
from learnbackend.gitsandbox.sandbox import (
    Sandbox,
    build,
    is_owned,
    owned_roots,
    remove,
    sandbox_root,
)

if TYPE_CHECKING:
    from learnbackend.context import Environment
    from learnbackend.course.catalog import Catalog
    from learnbackend.gitsandbox.areas import AreaSnapshot

CURRENT = "git.current"


def _hints_key(key: str) -> str:
    return f"git.hints.{key}"


def _solution_key(key: str) -> str:
    return f"git.solution.{key}"


@dataclass
class LevelRow:
    """One line of `git levels`."""

    ref: LevelRef
    state: str
    current: bool
    built: bool


@dataclass
class Started:
    """A level that was just built."""

    ref: LevelRef
    sandbox: Sandbox
    #: Run from the `git shell` of this very sandbox: the shell's directory was replaced.
    inside_its_shell: bool = False
    #: The level was already in progress and was kept as it is (not rebuilt).
    resumed: bool = False
    #: Run from the `git shell` of another level: that shell still works on the other repository.
    inside_other_shell: bool = False
    #: The commit graphs now and at the goal (None when they could not be read).
    now: Graph | None = None
    goal: Graph | None = None
    #: The lesson's idea (its body), shown before the goal of the first level the learner opens in it.
    concept: str | None = None


@dataclass
class StatusView:
    """The current level and its four areas."""

    ref: LevelRef
    sandbox: Sandbox
    areas: AreaSnapshot
    #: `git log --graph` of the repositories now, and after the reference solution (None if unknown).
    now: Graph | None = None
    goal: Graph | None = None


@dataclass
class HintView:
    """The hints revealed so far (the last one is new unless all were shown already)."""

    ref: LevelRef
    shown: list[str]
    total: int
    new: bool


@dataclass
class CheckView:
    """The outcome of `git check`."""

    ref: LevelRef
    result: ExerciseResult
    solution_path: Path | None = None
    next_level: LevelRef | None = None
    transcript: list[str] = field(default_factory=list)


def is_passed(env: Environment, ref: LevelRef) -> bool:
    """Whether the learner has passed this level (at any time)."""
    with env.progress() as store:
        return store.statuses(module=MODULE).get(ref.key) == "passed"


def list_levels(env: Environment) -> list[LevelRow]:
    """Every level with the learner's progress on it."""
    catalog = git_catalog(env)
    with env.progress() as store:
        statuses = store.statuses(module=MODULE)
        current = store.get_value(CURRENT, kind=str)
    return [LevelRow(ref, statuses.get(ref.key, "new"), ref.key == current, is_owned(sandbox_root(env.home, ref.key)))
            for ref in all_levels(catalog)]


def start(env: Environment, name: str | None = None, *, rebuild: bool = False) -> Started:
    """Build a level (the named one, else the first not passed yet) and make it the current level.

    A level in progress whose sandbox is intact is resumed, unless ``rebuild`` (what `git reset` does).
    """
    catalog = git_catalog(env)
    levels = all_levels(catalog)
    if not levels:
        raise UsageError("The course has no git levels.", fix="Check the lessons/git/ directory of the course.")
    with env.progress() as store:
        statuses = store.statuses(module=MODULE)
        if name:
            ref = find_level(catalog, name)
        else:
            ref = next((r for r in levels if statuses.get(r.key) != "passed"), levels[0])
        root = sandbox_root(env.home, ref.key)
        # Never throw away work in progress: the current level, or any level not passed yet whose
        # sandbox is still intact, is resumed as it is (`learnbackend git reset` rebuilds it).
        intact = is_owned(root) and (root / "work" / ".git").is_dir()
        if intact and not rebuild and (store.get_value(CURRENT, kind=str) == ref.key or statuses.get(ref.key) not in (None, "passed")):
            store.set_value(CURRENT, ref.key)
            shell_of = os.environ.get("LEARNBACKEND_GIT_SANDBOX")
            return Started(ref, Sandbox(root), resumed=True,
                           inside_other_shell=bool(shell_of) and shell_of != str(root),
                           now=read_graph(Sandbox(root)), goal=load_goal(Sandbox(root)))
        sandbox = build(ref.level, sandbox_root(env.home, ref.key), ref.key)
        save_goal(sandbox, goal_graph(ref.level, ref.key))
        store.set_value(CURRENT, ref.key)
        store.set_value(_hints_key(ref.key), 0)
        store.record(MODULE, ref.key, "started")
        # Teach before testing: a lesson's idea is shown with the first of its levels the learner opens.
        concept_key = f"git.concept-shown.{ref.entry.lesson.id}"
        concept = None if store.get_value(concept_key, kind=str) else ref.entry.lesson.body
        store.set_value(concept_key, "yes")
    shell_of = os.environ.get("LEARNBACKEND_GIT_SANDBOX")
    inside = shell_of == str(sandbox.root)
    return Started(ref, sandbox, inside, inside_other_shell=bool(shell_of) and not inside,
                   now=read_graph(sandbox), goal=load_goal(sandbox), concept=concept)


def current(env: Environment, catalog: Catalog | None = None) -> tuple[LevelRef, Sandbox]:
    """The current level and its sandbox; a clear error when there is none."""
    with env.progress() as store:
        key = store.get_value(CURRENT, kind=str)
    if not key:
        raise UsageError("No git level is started yet.", fix="Run `learnbackend git start` (or `learnbackend git levels` to choose).")
    ref = find_level(catalog or git_catalog(env), key)
    sandbox = Sandbox(sandbox_root(env.home, ref.key))
    if not is_owned(sandbox.root) or not (sandbox.work / ".git").is_dir() or not sandbox.remote.is_dir():
        raise UsageError(f"The sandbox of level {ref.key} is missing or damaged.",
                         fix=f"Run `learnbackend git reset` to rebuild it at {sandbox.root}.")
    return ref, sandbox


def status(env: Environment) -> StatusView:
    """The four areas of the current level, read from its repositories."""
    from learnbackend.gitsandbox.areas import read_areas

    ref, sandbox = current(env)
    goal = load_goal(sandbox)
    if goal is None:  # a sandbox built before goal graphs existed
        goal = goal_graph(ref.level, ref.key)
        save_goal(sandbox, goal)
    return StatusView(ref, sandbox, read_areas(sandbox), read_graph(sandbox), goal)


def hint(env: Environment) -> HintView:
    """Reveal the next hint of the current level."""
    ref, _ = current(env)
    hints = ref.level.hints()
    with env.progress() as store:
        shown = store.get_int(_hints_key(ref.key), 0)
        new = shown < len(hints)
        shown = min(shown + 1, len(hints))
        store.set_value(_hints_key(ref.key), shown)
    return HintView(ref, hints[:shown], len(hints), new)


def check(env: Environment) -> CheckView:
    """Check the current level's goal, record the outcome, and save the transcript on success."""
    from learnbackend.gitsandbox.conditions import evaluate
    from learnbackend.gitsandbox.recorder import append_transcript, sync_edits

    catalog = git_catalog(env)
    ref, sandbox = current(env, catalog)
    # Edits made after the last git command belong to the solution too.
    append_transcript(sandbox.root, sync_edits(sandbox.root))
    result = from_conditions(ref.key, evaluate(ref.level, sandbox), module=MODULE)
    transcript = sandbox.transcript.read_text(encoding="utf-8").splitlines() if sandbox.transcript.is_file() else []
    view = CheckView(ref, result, transcript=transcript)
    failed = [c.to_dict() for c in result.conditions if not c.passed]
    with env.progress() as store:
        store.record(MODULE, ref.key, result.status, detail={"failed": failed})
        if result.passed:
            view.solution_path = _save_solution(env, ref, transcript)
            store.set_value(_solution_key(ref.key), transcript)
            statuses = store.statuses(module=MODULE)
            levels = all_levels(catalog)
            # The next level not passed yet, wrapping around to the ones skipped earlier.
            todo = [r for r in levels if r.key != ref.key and statuses.get(r.key) != "passed"]
            view.next_level = next((r for r in todo if r.number > ref.number), todo[0] if todo else None)
    return view


def _save_solution(env: Environment, ref: LevelRef, transcript: list[str]) -> Path:
    lesson_id, _, level_id = ref.key.partition("/")
    target = env.home / "git" / "solutions" / lesson_id / f"{level_id}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(transcript) + "\n", encoding="utf-8")
    return target


def reset(env: Environment, name: str | None = None) -> Started:
    """Rebuild a level from scratch (the current one by default); its sandbox must be ours."""
    if name is None:
        with env.progress() as store:
            name = store.get_value(CURRENT, kind=str)
        if not name:
            raise UsageError("No git level is started yet, so there is nothing to reset.",
                             fix="Run `learnbackend git start`.")
    return start(env, name, rebuild=True)


def clean(env: Environment) -> list[Path]:
    """Delete every sandbox the tool created under the data directory; return them."""
    roots = owned_roots(env.home)
    for root in roots:
        remove(root)
    return roots


def saved_solution(env: Environment, name: str | None) -> tuple[LevelRef, list[str]]:
    """The transcript saved when the level last passed."""
    ref = find_level(git_catalog(env), name) if name else current(env)[0]
    with env.progress() as store:
        lines = [str(line) for line in store.get_value(_solution_key(ref.key), [], kind=list)]
    if not lines:
        raise UsageError(f"Level {ref.key} has no saved solution yet.",
                         fix="Solve it in `learnbackend git shell`, then run `learnbackend git check`.")
    return ref, list(lines)


@dataclass
class ShellSpec:
    """How to open the recording subshell."""

    ref: LevelRef
    sandbox: Sandbox
    argv: list[str]
    env: dict[str, str]
    cwd: Path


def shell(env: Environment) -> ShellSpec:
    """The command, environment and directory of `git shell` (the CLI runs it)."""
    if not env.interactive:
        raise UsageError(
            "`learnbackend git shell` opens an interactive shell, but there is no terminal here.",
            fix="Run it in a terminal, or `cd` into the level's `work` directory and use git there "
                "(`learnbackend git status` shows where).",
        )
    bash = shutil.which("bash")
    if bash is None:
        raise EnvironmentMissing("`git shell` needs bash, which is not installed.",
                                 fix="Install bash, or `cd` into the level's directory yourself.")
    ref, sandbox = current(env)
    real_git = git_executable()
    rcfile = sandbox.root / "shellrc"
    rcfile.write_text(_SHELLRC.format(level=ref.level.id, python=shlex.quote(sys.executable)))
    shell_env: dict[str, Any] = dict(os.environ)
    shell_env.update({
        "PATH": f"{sandbox.bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "GIT_CONFIG_GLOBAL": str(sandbox.config),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CEILING_DIRECTORIES": str(sandbox.root),
        "LEARNBACKEND_GIT_SANDBOX": str(sandbox.root),
        "LEARNBACKEND_HOME": str(env.home),
        # The tool's own git calls (GitPython in `git check`, a rebuild) must bypass the recorder.
        "LEARNBACKEND_REAL_GIT": real_git,
        "GIT_PYTHON_GIT_EXECUTABLE": real_git,
    })
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        shell_env.pop(name, None)
    if not any(os.environ.get(name) for name in ("GIT_EDITOR", "VISUAL", "EDITOR")):
        # `git commit` without -m asks for the message on the terminal instead of opening vi.
        shell_env["GIT_EDITOR"] = f"{shlex.quote(sys.executable)} -m learnbackend.gitsandbox.editor"
    return ShellSpec(ref, sandbox, [bash, "--rcfile", str(rcfile), "-i"], shell_env, sandbox.work)


_SHELLRC = """\
# Written by learnbackend for `learnbackend git shell`.
PS1='(git: {level}) \\W $ '
if ! command -v learnbackend >/dev/null 2>&1; then alias learnbackend='{python} -m learnbackend'; fi
alias check='learnbackend git check'
alias hint='learnbackend git hint'
alias areas='learnbackend git status'
echo "Your git commands are recorded. Shortcuts: check, hint, areas (the four areas). Type 'exit' to come back."
"""
