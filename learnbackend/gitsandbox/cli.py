"""`learnbackend git ...`: the git workflow sandbox on real repositories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from learnbackend.apps import env_of, make_app

app = make_app("The git sandbox: walk the Git workflow for real, on real repositories.")

LEVEL_HELP = "A level: its number, its id, or LESSON/LEVEL (see `learnbackend git levels`)."
JSON_HELP = "Print JSON instead of a drawing."


@app.command("levels")
def levels(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """List the levels with your progress."""
    from learnbackend.gitsandbox import render, session

    env = env_of(ctx)
    render.levels(env, session.list_levels(env), as_json=as_json)


@app.command("start")
def start(
    ctx: typer.Context,
    level: Annotated[str | None, typer.Argument(metavar="[LEVEL]", help=LEVEL_HELP)] = None,
) -> None:
    """Build a level (default: the first one not passed yet) and show its goal."""
    from learnbackend.gitsandbox import render, session

    env = env_of(ctx)
    render.started(env, session.start(env, level))


@app.command("status")
def status(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Draw the four areas (working directory, staging area, local repository, remote) of the current level."""
    from learnbackend.gitsandbox import render, session

    env = env_of(ctx)
    render.status(env, session.status(env), as_json=as_json)


@app.command("hint")
def hint(ctx: typer.Context) -> None:
    """Reveal the next hint of the current level."""
    from learnbackend.gitsandbox import render, session

    env = env_of(ctx)
    render.hint(env, session.hint(env))


@app.command("check")
def check(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Check the current level's goal; exit 1 (with what failed, expected vs actual) when it is not met."""
    from learnbackend.gitsandbox import render, session

    env = env_of(ctx)
    view = session.check(env)
    render.checked(env, view, as_json=as_json)
    if not view.result.passed:
        raise typer.Exit(1)


@app.command("reset")
def reset(
    ctx: typer.Context,
    level: Annotated[str | None, typer.Argument(metavar="[LEVEL]", help=LEVEL_HELP)] = None,
) -> None:
    """Rebuild a level from scratch (default: the current one)."""
    from learnbackend.gitsandbox import render, session

    env = env_of(ctx)
    render.started(env, session.reset(env, level), rebuilt=True)


@app.command("shell")
def shell(ctx: typer.Context) -> None:
    """Open a shell in the current level's repository; your git commands are recorded as your solution."""
    import signal
    import subprocess

    from learnbackend.gitsandbox import render, session

    env = env_of(ctx)
    spec = session.shell(env)
    render.entering_shell(env, spec)
    # Ctrl-C belongs to the subshell (it interrupts the learner's command), not to us.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = subprocess.call(spec.argv, env=spec.env, cwd=spec.cwd,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    finally:
        signal.signal(signal.SIGINT, previous)
    render.left_shell(env, spec, code, passed=session.is_passed(env, spec.ref))


@app.command("solution")
def solution(
    ctx: typer.Context,
    level: Annotated[str | None, typer.Argument(metavar="[LEVEL]", help=LEVEL_HELP)] = None,
) -> None:
    """Print the commands recorded when you passed a level (a solution file for `learnbackend check`)."""
    from learnbackend.gitsandbox import render, session

    env = env_of(ctx)
    render.solution(env, *session.saved_solution(env, level))


@app.command("replay")
def replay(
    ctx: typer.Context,
    level: Annotated[str, typer.Argument(metavar="LEVEL", help=LEVEL_HELP)],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A solution file (one command per line).")],
    timeout: Annotated[float, typer.Option(help="Seconds the whole replay may take.")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Replay a solution file in a fresh sandbox and check the level (what CI does). Unsafe commands: exit 2."""
    from learnbackend.errors import UsageError
    from learnbackend.gitsandbox import render
    from learnbackend.gitsandbox.handler import MAX_SOLUTION_BYTES, replay_and_check
    from learnbackend.gitsandbox.levels import find_level, git_catalog

    env = env_of(ctx)
    ref = find_level(git_catalog(env), level)
    from learnbackend.workspace.safefiles import read_text

    try:
        # A regular UTF-8 file without NUL bytes, size-capped (exit 2 if not).
        text = read_text(file.parent, file.name, max_bytes=MAX_SOLUTION_BYTES)
    except OSError as exc:
        raise UsageError(f"Cannot read {file}: {exc.strerror or exc}", fix="Pass a UTF-8 text file.") from None
    result = replay_and_check(ref.key, ref.level, text, timeout=timeout)
    render.replayed(env, ref, result, as_json=as_json)
    if not result.passed:
        raise typer.Exit(1)


@app.command("clean")
def clean(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every level sandbox learnbackend created, after a confirmation (your progress is kept)."""
    from learnbackend.gitsandbox import render, session
    from learnbackend.ui.prompts import confirm

    env = env_of(ctx)
    if not yes and not confirm(env, "Delete every git level sandbox, with any work in progress in them?",
                               what="git clean"):
        env.out.print("Nothing was deleted.")
        return
    render.cleaned(env, session.clean(env))
