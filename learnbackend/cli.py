"""The root command: global options, error handling, and one sub-app per module.

Sub-app modules import only Typer at load time (engines are imported inside the
commands), so ``learnbackend --help`` does not load questionary, GitPython, the
Docker SDK or any engine. Errors are mapped to exit codes here, in one place.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from learnbackend import __version__
from learnbackend.apps import env_of
from learnbackend.errors import ExitCode, LearnBackendError


#: The order of `learnbackend --help`: the four modules, then workspaces and CI, then the rest.
COMMAND_ORDER = ("quiz", "git", "containers", "counter", "init", "check", "watch", "next", "list", "hint",
                 "reset", "assignment", "grade", "lessons", "progress", "doctor")


class RootGroup(TyperGroup):
    """Turns every error raised below into one message and one exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        return sorted(names, key=lambda name: rank.get(name, len(rank)))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LearnBackendError as exc:
            if _debug(ctx):
                traceback.print_exc()
            from learnbackend.ui.errors import render_error

            render_error(env_of(ctx), exc)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            sys.stderr.write("\nInterrupted.\n")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Exception as exc:
            if _is_click_flow(exc):
                raise
            if _debug(ctx):
                traceback.print_exc()
            from learnbackend.ui.errors import render_internal_error

            render_internal_error(env_of(ctx), exc)
            raise typer.Exit(int(ExitCode.INTERNAL_ERROR)) from None


def _is_click_flow(exc: BaseException) -> bool:
    """Exit/Abort and usage errors are Click's own control flow (Typer may vendor Click)."""
    return isinstance(exc, (typer.Exit, typer.Abort)) or (hasattr(exc, "exit_code") and hasattr(exc, "show"))


def _debug(ctx: Any) -> bool:
    obj = ctx.find_root().obj
    return bool(getattr(obj, "debug", False)) or "--debug" in sys.argv


app = typer.Typer(
    cls=RootGroup,
    help="learnbackend: learn backend development by doing it for real, in your terminal.",
    rich_markup_mode=None,
    add_completion=False,
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"learnbackend {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    lessons: Annotated[
        Optional[list[Path]],
        typer.Option("--lessons", metavar="DIR", help="An extra lesson directory (repeatable; also $LEARNBACKEND_LESSONS)."),
    ] = None,
) -> None:
    """Home: a menu on a terminal, an overview otherwise."""
    from learnbackend.context import Environment

    env = ctx.obj if isinstance(ctx.obj, Environment) else Environment()
    env.debug = debug
    if lessons:
        env.extra_lesson_dirs = [*env.extra_lesson_dirs, *lessons]
    ctx.obj = env
    if ctx.invoked_subcommand is None:
        from learnbackend.home_cli import home

        home(env)


def _mount() -> None:
    from learnbackend.course import cli as course_cli
    from learnbackend.roadmap import cli as roadmap_cli

    app.add_typer(roadmap_cli.app, name="quiz")
    app.add_typer(course_cli.lessons_app, name="lessons")
    app.add_typer(course_cli.progress_app, name="progress")
    app.command("doctor")(course_cli.doctor)  # type: ignore[type-var]

    # The git workflow sandbox (issue 3).
    from learnbackend.gitsandbox import cli as git_cli

    app.add_typer(git_cli.app, name="git")

    # Workspaces, CI checks, assignments and grading (issue 6).
    from learnbackend.assignment import cli as assignment_cli
    from learnbackend.workspace import cli as workspace_cli

    for command_name, command in workspace_cli.COMMANDS.items():
        app.command(command_name)(command)
    app.add_typer(assignment_cli.app, name="assignment")
    app.command("grade")(assignment_cli.grade)

    from learnbackend.containers import cli as containers_cli

    app.add_typer(containers_cli.app, name="containers")

    # The distributed-counter lab (issue 5).
    from learnbackend.counter import cli as counter_cli

    app.add_typer(counter_cli.app, name="counter")


_mount()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit code."""
    try:
        app(args=argv, prog_name="learnbackend", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    return 0
