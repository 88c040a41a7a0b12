"""The root command: global options, error handling, and one sub-app per module.

Sub-app modules import only Typer at load time (engines are imported inside the
commands), so ``learnbackend --help`` does not load questionary, GitPython, the
Docker SDK or any engine. Errors are mapped to exit codes here, in one place.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup

from learnbackend import __version__
from learnbackend.apps import env_of
from learnbackend.errors import ExitCode, LearnBackendError

#: Every sub-command, in the order of `learnbackend --help`: name -> (module, attribute).
#: The attribute is a Typer sub-app or a command function; nothing is imported or built
#: until that command is used, so `--help` stays about as fast as importing Typer.
COMMANDS: dict[str, tuple[str, str]] = {
    "quiz": ("learnbackend.roadmap.cli", "app"),
    "git": ("learnbackend.gitsandbox.cli", "app"),
    "containers": ("learnbackend.containers.cli", "app"),
    "counter": ("learnbackend.counter.cli", "app"),
    "init": ("learnbackend.workspace.cli", "init"),
    "check": ("learnbackend.workspace.cli", "check"),
    "watch": ("learnbackend.workspace.cli", "watch"),
    "next": ("learnbackend.workspace.cli", "next_exercise"),
    "list": ("learnbackend.workspace.cli", "list_exercises"),
    "hint": ("learnbackend.workspace.cli", "hint"),
    "reset": ("learnbackend.workspace.cli", "reset"),
    "assignment": ("learnbackend.assignment.cli", "app"),
    "grade": ("learnbackend.assignment.cli", "grade"),
    "lessons": ("learnbackend.course.cli", "lessons_app"),
    "progress": ("learnbackend.course.cli", "progress_app"),
    "doctor": ("learnbackend.course.cli", "doctor"),
}


def _target(name: str) -> Any:
    module_name, attribute = COMMANDS[name]
    return getattr(importlib.import_module(module_name), attribute)


def _short_help(target: Any) -> str:
    """The first sentence of a sub-app's help or a command's docstring, without building it."""
    text = target.info.help if isinstance(target, typer.Typer) else (target.__doc__ or "")
    first = (text or "").strip().split("\n\n")[0].replace("\n", " ")
    return first


class RootGroup(TyperGroup):
    """Builds sub-commands lazily, and turns every error raised below into one message and one exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(n for n in super().list_commands(ctx) if n not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        target = _target(cmd_name)
        if not isinstance(target, typer.Typer):
            single = typer.Typer(rich_markup_mode=None, add_completion=False)
            single.command(cmd_name)(target)
            target = single
        command = typer.main.get_command(target)
        command.name = cmd_name
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, _short_help(_target(name))) for name in COMMANDS]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

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
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    lessons: Annotated[
        list[Path] | None,
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
