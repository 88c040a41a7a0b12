"""Top-level workspace commands: init, check, watch, next, list, hint, reset.

Only Typer and learnbackend.apps are imported at load time; engines inside the commands.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from learnbackend.apps import env_of

WS_HELP = "The workspace directory (default: the one containing the current directory)."
Workspace = Annotated[Path | None, typer.Option("--workspace", "-w", metavar="DIR", help=WS_HELP)]


def _root(path: Path | None) -> Path:
    from learnbackend.workspace.manifest import find_root

    return find_root(path or Path.cwd())


def init(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A new (or empty) directory for the workspace.")],
    assignment: Annotated[Path | None, typer.Option("--assignment", "-a", metavar="FILE", help="Create it from an assignment file.")] = None,
    module: Annotated[str | None, typer.Option("--module", "-m", metavar="MODULE", help="Only this module's exercises: roadmap, git, containers or counter.")] = None,
    lesson: Annotated[list[str] | None, typer.Option("--lesson", "-l", metavar="ID", help="Only this lesson's exercises (repeatable).")] = None,
    student: Annotated[str, typer.Option("--student", metavar="NAME", help="Your name, recorded in check reports.")] = "",
) -> None:
    """Create a workspace: one directory per exercise, a manifest and a README."""
    from learnbackend.errors import UsageError
    from learnbackend.workspace import render
    from learnbackend.workspace.create import (
        create_workspace,
        select_from_assignment,
        select_from_catalog,
    )

    env = env_of(ctx)
    if assignment is not None:
        if module or lesson:
            raise UsageError("--assignment cannot be combined with --module or --lesson.",
                             fix="The assignment file already lists the exercises.")
        from learnbackend.assignment.load import load_assignment

        loaded = load_assignment(assignment, extra_lesson_dirs=env.extra_lesson_dirs)
        selection, pack_version = select_from_assignment(loaded), loaded.catalog.pack_version
    else:
        from learnbackend.workspace.catalogcache import cached_catalog

        catalog = cached_catalog(env.extra_lesson_dirs)
        selection = select_from_catalog(catalog, module=module, lessons=lesson)
        selection = type(selection)(selection.items, selection.scoring, list(env.extra_lesson_dirs), selection.description)
        pack_version = catalog.pack_version
    render.created(env, create_workspace(directory, selection, pack_version=pack_version, student=student))


def check(
    ctx: typer.Context,
    directory: Annotated[Path | None, typer.Argument(metavar="[DIR]", help=WS_HELP, show_default=False)] = None,
    workspace: Workspace = None,
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="text, json or junit.")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write the report to FILE (a summary still goes to stdout).")] = None,
    only: Annotated[list[str] | None, typer.Option("--only", metavar="ID", help="Check only this exercise (repeatable).")] = None,
    json_file: Annotated[Path | None, typer.Option("--json-file", metavar="FILE", help="Also write the JSON report to FILE.")] = None,
    junit_file: Annotated[Path | None, typer.Option("--junit-file", metavar="FILE", help="Also write the JUnit XML report to FILE.")] = None,
    student: Annotated[str | None, typer.Option("--student", metavar="NAME", help="The learner's name in the reports (default: from the workspace).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", help="Seconds allowed per exercise.")] = 60.0,
    allow_unisolated: Annotated[bool, typer.Option(
        "--allow-unisolated", help="Run learner code with limits only where the sandbox cannot isolate it "
        "(trusted submissions only; see docs/threat-model.md).")] = False,
) -> None:
    """Check every exercise, without a terminal. Exit 0 all pass, 1 any fails, 2 bad input, 3 missing engine."""
    from learnbackend.errors import LearnBackendError, UsageError
    from learnbackend.workspace.checking import check_workspace, record_progress
    from learnbackend.workspace.output import emit_report, stream_outcome

    if format not in ("text", "json", "junit"):
        raise UsageError(f"Unknown report format {format!r}.", fix="Use --format text, json or junit.")
    # Like every workspace command, `check` takes `-w DIR`; `check DIR` keeps working for scripts.
    if directory is not None and workspace is not None and directory != workspace:
        raise UsageError(f"Two workspaces were given: {directory} and -w {workspace}.", fix="Give one of them.")
    directory = directory or workspace
    env = env_of(ctx)
    if allow_unisolated:
        from learnbackend.sandbox.launch import ALLOW_UNISOLATED_ENV

        os.environ[ALLOW_UNISOLATED_ENV] = "1"
    # Text goes to the terminal as each exercise is checked (code exercises take seconds each).
    streaming = format == "text" or output is not None
    report = check_workspace(_root(directory), only=only, timeout=timeout, extra_lesson_dirs=env.extra_lesson_dirs,
                             student=student, on_result=stream_outcome(env) if streaming else None)
    try:
        with env.progress() as store:
            record_progress(store, report)
    except LearnBackendError as exc:  # the report matters more than the learner's progress file (CI)
        from learnbackend.ui.errors import render_warnings

        render_warnings(env, [f"progress not saved: {exc.message}"])
    emit_report(env, report, format=format, output=output, json_file=json_file, junit_file=junit_file)
    raise typer.Exit(int(report.exit_code))


def watch(ctx: typer.Context, workspace: Workspace = None) -> None:
    """Re-check the current exercise whenever a file changes (keys: h hint, l list, n next, q quit)."""
    from learnbackend.workspace.watch import run_watch

    run_watch(env_of(ctx), _root(workspace))


def next_exercise(ctx: typer.Context, workspace: Workspace = None) -> None:
    """Move to the next unsolved exercise and say where it is."""
    from learnbackend.workspace import render
    from learnbackend.workspace.checking import workspace_catalog
    from learnbackend.workspace.manifest import load_manifest
    from learnbackend.workspace.navigation import advance, task_of

    env = env_of(ctx)
    manifest = load_manifest(_root(workspace))
    with env.progress() as store:
        state = advance(store, manifest)
    task = task_of(workspace_catalog(manifest, env.extra_lesson_dirs), state.spec) if state else ""
    render.current_exercise(env, state, len(manifest.exercises), moved=True, task=task)


def list_exercises(
    ctx: typer.Context,
    workspace: Workspace = None,
    status: Annotated[list[str] | None, typer.Option("--status", "-s", metavar="STATUS", help="Only these: passed, failed, error, skipped, not-started (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List the exercises of the workspace with their status."""
    import json

    from learnbackend.errors import UsageError
    from learnbackend.workspace import render
    from learnbackend.workspace.manifest import load_manifest
    from learnbackend.workspace.navigation import STATES, current, states

    wanted = [s.replace("-", " ").replace("_", " ") for s in status or []]
    bad = [s for s in wanted if s not in STATES]
    if bad:
        raise UsageError(f"Unknown status {bad[0]!r}.",
                         fix=f"Use one of: {', '.join(s.replace(' ', '-') for s in STATES)}.")
    env = env_of(ctx)
    manifest = load_manifest(_root(workspace))
    with env.progress() as store:
        items = [s for s in states(store, manifest) if not wanted or s.status in wanted]
        here = current(store, manifest)
    if as_json:
        typer.echo(json.dumps([{"number": s.number, "id": s.spec.id, "kind": s.spec.kind, "status": s.status,
                                "points": s.spec.points, "path": s.spec.path} for s in items], indent=2))
        return
    render.exercise_list(env, items, here.spec.id if here else None)


def hint(
    ctx: typer.Context,
    exercise: Annotated[str | None, typer.Argument(metavar="EXERCISE", show_default=False, help="An exercise id or number (default: the current one).")] = None,
    workspace: Workspace = None,
) -> None:
    """Show the next hint for the current (or named) exercise."""
    from learnbackend.workspace import render
    from learnbackend.workspace.checking import workspace_catalog
    from learnbackend.workspace.manifest import load_manifest
    from learnbackend.workspace.navigation import current, reveal_hint

    env = env_of(ctx)
    root = _root(workspace)
    manifest = load_manifest(root)
    with env.progress() as store:
        state = current(store, manifest)
        spec = manifest.exercise(exercise) if exercise else (state.spec if state else manifest.exercises[-1])
        shown, total = reveal_hint(store, manifest, workspace_catalog(manifest, env.extra_lesson_dirs, root=root), spec)
    render.hints(env, spec.id, shown, total, again=f"learnbackend hint {exercise}" if exercise else "learnbackend hint")


def reset(
    ctx: typer.Context,
    exercise: Annotated[str, typer.Argument(metavar="EXERCISE", help="An exercise id or number.")],
    workspace: Workspace = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Start an exercise over: its files go back to how `init` wrote them."""
    from learnbackend.ui.prompts import confirm
    from learnbackend.workspace import render
    from learnbackend.workspace.checking import workspace_catalog
    from learnbackend.workspace.manifest import load_manifest
    from learnbackend.workspace.navigation import reset_exercise

    env = env_of(ctx)
    root = _root(workspace)
    manifest = load_manifest(root)
    spec = manifest.exercise(exercise)
    if not yes and not confirm(env, f"Throw away your changes in {spec.path}/?", what="Resetting an exercise"):
        raise typer.Exit(1)
    with env.progress() as store:
        files = reset_exercise(root, store, manifest, workspace_catalog(manifest, env.extra_lesson_dirs, root=root), spec)
    render.reset_done(env, spec.id, spec.path, len(files))


COMMANDS = {"init": init, "check": check, "watch": watch, "next": next_exercise, "list": list_exercises,
            "hint": hint, "reset": reset}
