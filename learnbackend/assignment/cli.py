"""`learnbackend assignment create|validate` and `learnbackend grade`.

Only Typer and learnbackend.apps are imported at load time; engines inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from learnbackend.apps import env_of, make_app

app = make_app("Assignments: write and validate them, hand them out as a starter repository, regrade a class from source.")


@app.command("validate")
def validate(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Assignment files.")],
) -> None:
    """Check assignment files; every problem with file, line and fix. Exit 2 if any."""
    from learnbackend.assignment import render
    from learnbackend.assignment.load import validate_assignment_file

    env = env_of(ctx)
    found = []
    for path in files:
        loaded, problems = validate_assignment_file(path, extra_lesson_dirs=env.extra_lesson_dirs)
        found.extend(problems)
        if loaded is not None:
            render.valid(env, loaded)
    if found:
        render.problems(env, found)
        raise typer.Exit(2)


@app.command("create")
def create(
    ctx: typer.Context,
    output: Annotated[Path, typer.Argument(metavar="FILE", help="The assignment file to write.", show_default=False)],
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="A short name, e.g. week-1.")] = "",
    title: Annotated[str, typer.Option("--title", metavar="TEXT", help="The title learners see.")] = "",
    exercise: Annotated[list[str] | None, typer.Option("--exercise", "-e", metavar="ID", help="An exercise '<lesson>/<exercise>' (repeatable).")] = None,
    lesson: Annotated[list[str] | None, typer.Option("--lesson", "-l", metavar="ID", help="All exercises of a lesson (repeatable).")] = None,
    points: Annotated[float, typer.Option("--points", metavar="N", help="Points per exercise.")] = 1.0,
    pass_mark: Annotated[float | None, typer.Option("--pass-mark", metavar="PERCENT", help="Percent of the points needed to pass (asked if omitted).")] = None,
    due: Annotated[str | None, typer.Option("--due", metavar="DATE", help="Due date: YYYY-MM-DD or an ISO date-time.")] = None,
    lessons_dir: Annotated[list[Path] | None, typer.Option("--lessons-dir", metavar="DIR", help="Your own lesson directory (repeatable).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Write an assignment: pick exercises interactively, or give them all as flags."""
    from learnbackend.assignment import render
    from learnbackend.assignment.create import AssignmentDraft, write_assignment
    from learnbackend.assignment.picker import pick
    from learnbackend.ui.prompts import prompter_for
    from learnbackend.workspace.catalogcache import cached_catalog

    env = env_of(ctx)
    dirs = [*env.extra_lesson_dirs, *(lessons_dir or [])]
    draft = AssignmentDraft(name=name, title=title, pass_mark=-1.0 if pass_mark is None else pass_mark, exercises=list(exercise or []),
                            lessons=list(lesson or []), points=points, due=due, lesson_dirs=list(lessons_dir or []))
    if not (draft.name and draft.title and draft.pass_mark >= 0 and (draft.exercises or draft.lessons)):
        missing = [flag for flag, given in (("--exercise or --lesson", draft.exercises or draft.lessons),
                                            ("--name", draft.name), ("--title", draft.title),
                                            ("--pass-mark", draft.pass_mark >= 0)) if not given]
        fix = f"Run it in a terminal, or also pass {', '.join(missing)}."
        draft = pick(prompter_for(env, "Creating an assignment", fix=fix), cached_catalog(dirs), draft)
    render.valid(env, write_assignment(draft, output, extra_lesson_dirs=env.extra_lesson_dirs, force=force), created=True)


def grade(
    ctx: typer.Context,
    reports: Annotated[list[Path], typer.Argument(metavar="REPORT", help="JSON reports of `check --format json`, or the gradebook.json of regrade shards (files or directories).")],
    assignment: Annotated[Path | None, typer.Option("--assignment", "-a", metavar="FILE", help="The assignment: its exercises, points, due date and late policy.")] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", metavar="FILE", help="Also write a gradebook CSV ('-' for stdout instead of the table).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="DIR", help="Write gradebook.json, gradebook.csv, report.html and feedback/ there.")] = None,
) -> None:
    """Print the class roster from the learners' JSON reports (or merge regrade shards), scored against the assignment."""
    from learnbackend.assignment.grade import build_roster

    env = env_of(ctx)
    loaded = None
    if assignment is not None:
        from learnbackend.assignment.load import load_assignment

        loaded = load_assignment(assignment, extra_lesson_dirs=env.extra_lesson_dirs)
    _show(env, build_roster(reports, assignment=loaded), csv_file=csv_file, output=output)


def _show(env: Any, book: Any, *, csv_file: Path | None, output: Path | None) -> None:
    from learnbackend.assignment import render
    from learnbackend.assignment.exports import to_csv, write_all

    if csv_file is not None and str(csv_file) == "-":
        typer.echo(to_csv(book), nl=False)
        return
    if csv_file is not None:
        csv_file.write_text(to_csv(book), encoding="utf-8")
    render.roster(env, book)
    if output is not None:
        render.written(env, write_all(book, output))


@app.command("publish")
def publish(
    ctx: typer.Context,
    assignment: Annotated[Path, typer.Argument(metavar="ASSIGNMENT", help="The assignment file.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="DIR", help="A new directory for the starter repository.")],
    wheel: Annotated[Path | None, typer.Option("--wheel", metavar="FILE", help="Ship this learnbackend wheel (default: this version's, built or re-packed).")] = None,
    pip_spec: Annotated[str | None, typer.Option("--pip-spec", metavar="SPEC", help="Let CI install this pip spec instead of a shipped wheel.")] = None,
) -> None:
    """Make a starter repository: the workspace, your lessons, learnbackend's wheel and CI files, one commit."""
    from learnbackend.assignment import render
    from learnbackend.assignment.load import load_assignment
    from learnbackend.assignment.publish import publish as publish_repository

    env = env_of(ctx)
    loaded = load_assignment(assignment, extra_lesson_dirs=env.extra_lesson_dirs)
    render.published(env, publish_repository(loaded, output, wheel=wheel, pip_spec=pip_spec))


@app.command("regrade")
def regrade(
    ctx: typer.Context,
    assignment: Annotated[Path, typer.Argument(metavar="ASSIGNMENT", help="Your assignment file (its lessons are used, not the learners').")],
    submissions: Annotated[list[Path], typer.Argument(metavar="SUBMISSION...", help="Learners' repositories or directories (named after the learner).")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="DIR", help="Write gradebook.json, gradebook.csv, report.html and feedback/ there.")],
    roster: Annotated[Path | None, typer.Option("--roster", metavar="CSV", help="The class list (a `student` column): who has not submitted.")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", metavar="N", min=1, help="Learners graded at once (default: every core).")] = None,
    shard: Annotated[str | None, typer.Option("--shard", metavar="I/N", help="Grade only part I of N of the class (merge with `grade`).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", help="Seconds allowed per exercise.")] = 60.0,
    csv_file: Annotated[Path | None, typer.Option("--csv", metavar="FILE", help="Also write the gradebook CSV to FILE ('-' for stdout instead of the table).")] = None,
    reuse: Annotated[bool, typer.Option("--reuse/--no-reuse", help="Check an answer identical to one already checked (same exercise, same bytes) once.")] = True,
) -> None:
    """Re-check every learner from source against your assignment (hidden tests included) and write the gradebook."""
    from learnbackend.assignment.regrade import regrade as run_regrade

    env = env_of(ctx)
    book = run_regrade(assignment, submissions, extra_lesson_dirs=env.extra_lesson_dirs, roster=roster, jobs=jobs, shard=shard,
                       timeout=timeout, reuse=reuse)
    _show(env, book, csv_file=csv_file, output=output)
    if csv_file is not None and str(csv_file) == "-":
        from learnbackend.assignment.exports import write_all

        write_all(book, output)
