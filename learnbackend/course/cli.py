"""`learnbackend lessons ...`, `learnbackend progress ...` and `learnbackend doctor`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from learnbackend.apps import env_of, make_app

lessons_app = make_app("Browse, validate and export the schema of lesson files.")
progress_app = make_app("Show or reset your progress.", no_args_is_help=False, invoke_without_command=True)

MODULE_HELP = "One module: roadmap, git, containers or counter."


@lessons_app.command("list")
def lessons_list(
    ctx: typer.Context,
    module: Annotated[str | None, typer.Option(help=MODULE_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List every lesson with its number of exercises."""
    from learnbackend.course import render

    env = env_of(ctx)
    render.lessons_list(env, env.catalog(), module=module, as_json=as_json)


@lessons_app.command("show")
def lessons_show(ctx: typer.Context, lesson_id: Annotated[str, typer.Argument(metavar="ID", help="A lesson id.")]) -> None:
    """Show one lesson: its text and its exercises."""
    from learnbackend.course import render

    env = env_of(ctx)
    render.lesson_show(env, env.catalog().lesson(lesson_id))


@lessons_app.command("validate")
def lessons_validate(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Lesson files or directories.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the problems as JSON.")] = False,
    lint: Annotated[bool, typer.Option("--lint", help="Count quiz lints (e.g. the right option is the longest) as problems.")] = False,
) -> None:
    """Check lesson files; every problem is reported with file, line and fix. Exit 2 if any.

    Quiz lints (questions answerable by test-taking) are printed as warnings, or as problems with --lint.
    """
    from learnbackend.course import render
    from learnbackend.course.lint import lint_paths, print_warnings
    from learnbackend.course.validate import validate_paths

    count, problems = validate_paths(paths)
    warnings = [] if problems else lint_paths(paths)
    problems, warnings = (problems + warnings, []) if lint else (problems, warnings)
    render.validation(env_of(ctx), count, problems, as_json=as_json)
    print_warnings(env_of(ctx), warnings, as_json=as_json)
    if problems or count == 0:
        raise typer.Exit(2)


@lessons_app.command("schema")
def lessons_schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the JSON Schema of lesson files (for editor completion)."""
    import json

    from learnbackend.course.schema import lesson_schema

    text = json.dumps(lesson_schema(), indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        typer.echo(text)


@progress_app.callback()
def progress_show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show your progress in every module."""
    if ctx.invoked_subcommand is not None:
        return
    from learnbackend.course import render
    from learnbackend.course.overview import course_overview

    env = env_of(ctx)
    with env.progress() as store:
        overview = course_overview(env.catalog(), store)
    render.progress(env, overview, as_json=as_json)


@progress_app.command("reset")
def progress_reset(
    ctx: typer.Context,
    module: Annotated[str | None, typer.Option(help=MODULE_HELP)] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase your progress (all of it, or one module's) after a confirmation."""
    from learnbackend.course.models import MODULES
    from learnbackend.errors import UsageError
    from learnbackend.ui.prompts import confirm

    env = env_of(ctx)
    if module is not None and module not in MODULES:
        raise UsageError(f"Unknown module {module!r}.", fix=f"Use one of: {', '.join(MODULES)}.")
    what = f"your {module} progress" if module else "all your progress"
    if not yes and not confirm(env, f"Erase {what}? This cannot be undone.", what="progress reset"):
        env.out.print("Nothing was erased.")
        return
    with env.progress() as store:
        removed = store.reset(module=module)
    env.out.print(f"Erased {what} ({removed} attempts).")


def doctor(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What is installed and reachable: git, Docker engine, QEMU, Redis (and how to fix each)."""
    from learnbackend.course import render
    from learnbackend.doctor import run_doctor

    render.doctor(env_of(ctx), run_doctor(), as_json=as_json)
