"""`learnbackend quiz ...`: practice, review what is due, placement tests, the mind map."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from learnbackend.apps import env_of, make_app

app = make_app(
    "The roadmap quiz: practice a branch, review what is due, test out of a branch, see your mastery map.\n\n"
    "On a terminal, `learnbackend quiz` alone asks what to do. Without a terminal, answers are read from\n"
    "--answers FILE (question id: answer) or one per line on stdin.",
    no_args_is_help=False,
    invoke_without_command=True,
)

Branches = Annotated[list[str] | None, typer.Option("--branch", "-b", help="A branch (e.g. databases); repeatable.")]
Count = Annotated[int | None, typer.Option("--count", "-n", min=1, max=200, help="How many questions.")]
Seed = Annotated[int | None, typer.Option(help="Fix the question order and shuffling (reproducible runs).")]
Answers = Annotated[
    Path | None,
    typer.Option("--answers", metavar="FILE", help="YAML/JSON file mapping question ids to answers: no prompts."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the results as JSON (no questions shown).")]


def _run(ctx: typer.Context, mode: str, branches: list[str] | None, count: int | None, seed: int | None,
         answers: Path | None, as_json: bool) -> None:
    from rich.text import Text

    from learnbackend.course.render import print_json
    from learnbackend.roadmap import play, render
    from learnbackend.roadmap.quiz import QuizEngine, describe_due, due_summary
    from learnbackend.ui.prompts import QuestionaryPrompter

    env = env_of(ctx)
    catalog = env.catalog()
    with env.progress() as store:
        engine = QuizEngine(catalog, store)
        if answers is not None:
            by_id = play.load_answers_file(answers)
            plan = engine.plan_ids(list(by_id), mode=mode, seed=seed)  # type: ignore[arg-type]
            source: object = play.ScriptedAnswers(by_id=by_id)
        else:
            plan = engine.plan(mode, branches=branches, count=count, seed=seed)  # type: ignore[arg-type]
            if env.interactive and not as_json:
                source = play.TerminalAnswers(QuestionaryPrompter(), env.out)
            elif env.stdin_isatty and not as_json:
                # The keyboard is here but the questions would go into a pipe (`quiz | cat`): it would look hung.
                from learnbackend.errors import UsageError

                raise UsageError(
                    "The quiz asks its questions on the terminal, but its output goes to a pipe or a file.",
                    fix="Run it without redirecting its output; for a script, pass --answers FILE or "
                        "answers on stdin (one per line).")
            else:
                source = play.ScriptedAnswers(lines=play.stdin_lines())
        console = None if as_json else env.out
        if console is not None:
            render.plan_note(console, plan)
        if not plan.items:
            if as_json:
                print_json(env, {"mode": plan.mode, "answered": 0, "note": plan.note, "results": []})
            return
        result = play.run_session(engine, plan, source, console)
        due = due_summary(store)
    if as_json:
        print_json(env, result.to_dict())
    else:
        render.summary(env.out, result, len(plan.items))
        env.out.print(Text(f"Reviews: {describe_due(*due)}.", style="muted"))
    if result.interrupted:
        raise KeyboardInterrupt  # the app's handler says "Interrupted" and exits 130


@app.callback()
def quiz_menu(ctx: typer.Context) -> None:
    """On a terminal without a sub-command: pick a branch and a mode, then play."""
    if ctx.invoked_subcommand is not None:
        return
    env = env_of(ctx)
    if not env.interactive:
        typer.echo(ctx.get_help())
        return
    from rich.text import Text

    from learnbackend.roadmap.mastery import mastery_map
    from learnbackend.roadmap.quiz import describe_due, due_summary
    from learnbackend.ui.prompts import QuestionaryPrompter

    with env.progress() as store:
        branches = mastery_map(env.catalog(), store)
        # What is due in each branch: the review offered below is limited to the chosen one.
        due = {prefix: describe_due(*due_summary(store, prefix=prefix))
               for prefix in [""] + [b.lesson_id + "/" for b in branches]}
    env.out.print(Text(f"Reviews: {due['']}.", style="muted"))
    prompter = QuestionaryPrompter()
    labels = ["All branches"] + [f"{b.title} ({b.percent}% known)" for b in branches]
    picked = prompter.select("Which branch?", labels)
    chosen = None if picked == 0 else [branches[picked - 1].lesson_id]
    scope = "" if chosen is None else chosen[0] + "/"
    modes = ["Practise (10 questions, easy first, unseen and missed first)", f"Review what is due ({due[scope]})",
             "Read a topic's primer"]
    if chosen:
        modes.append("Placement test (test out of this branch)")
    mode = ["practice", "review", "learn", "placement"][prompter.select("How?", modes)]
    if mode == "learn":
        from learnbackend.roadmap import primers, render

        found = [p for p in primers.all_primers(env.catalog()) if p.key.startswith(scope)]
        taught = found[prompter.select("Which topic?", [f"{p.branch} › {p.primer.topic}" for p in found])]
        with env.progress() as store:
            primers.mark_seen(store, taught)
        render.primer(env.out, taught, first=False)
        return
    _run(ctx, mode, chosen, None, None, None, False)


@app.command("start")
def start(ctx: typer.Context, branch: Branches = None, count: Count = None, seed: Seed = None,
          answers: Answers = None, as_json: AsJson = False) -> None:
    """Practise: unseen and missed questions first (10 by default), from one branch or all."""
    _run(ctx, "practice", branch, count, seed, answers, as_json)


@app.command("review")
def review(ctx: typer.Context, branch: Branches = None, count: Count = None, seed: Seed = None,
           answers: Answers = None, as_json: AsJson = False) -> None:
    """Review the questions that spaced repetition says are due now."""
    _run(ctx, "review", branch, count, seed, answers, as_json)


@app.command("placement")
def placement(ctx: typer.Context,
              branch: Annotated[str, typer.Option("--branch", "-b", help="The branch to test out of.")],
              count: Count = None, seed: Seed = None, answers: Answers = None, as_json: AsJson = False) -> None:
    """Test out of a branch: 80% right across its topics marks it as known."""
    _run(ctx, "placement", [branch], count, seed, answers, as_json)


@app.command("map")
def mind_map(ctx: typer.Context, as_json: AsJson = False,
             svg: Annotated[Path | None, typer.Option("--svg", metavar="FILE",
                                                         help="Also write the map as an SVG image, coloured by mastery.")] = None,
             ) -> None:
    """The backend roadmap as a mind map, with your mastery of each branch and topic."""
    from learnbackend.course.render import print_json
    from learnbackend.errors import UsageError
    from learnbackend.roadmap import mastery, render

    env = env_of(ctx)
    with env.progress() as store:
        branches = mastery.mastery_map(env.catalog(), store)
    if svg is not None:
        from learnbackend.roadmap.svgmap import mind_map_svg

        try:
            svg.write_text(mind_map_svg(branches), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"Cannot write {svg}: {exc.strerror}.", fix="Pass a path in an existing, writable directory.") from None
    if as_json:
        print_json(env, mastery.to_dict(branches))
    else:
        render.mind_map(env.out, branches)
        if svg is not None:
            env.out.print(f"Wrote the mind map to {svg} (open it in a browser).")


@app.command("learn")
def learn(ctx: typer.Context,
          topic: Annotated[str | None, typer.Argument(metavar="[TOPIC]", help="A topic, e.g. dns or databases/sql.")] = None,
          as_json: AsJson = False) -> None:
    """Read a topic's primer (what, why, an example, a source); without TOPIC, list them all."""
    from learnbackend.course.render import print_json
    from learnbackend.roadmap import primers, render

    env = env_of(ctx)
    catalog = env.catalog()
    if topic is None:
        with env.progress() as store:
            read = primers.seen(store)
        listed = primers.all_primers(catalog)
        if as_json:
            print_json(env, [{"branch": p.branch, "topic": p.primer.topic, "slug": p.slug, "read": p.key in read}
                             for p in listed])
        else:
            render.primer_list(env.out, listed, read)
        return
    found = primers.find(catalog, topic)
    with env.progress() as store:
        primers.mark_seen(store, found)
    if as_json:
        print_json(env, {"branch": found.branch, "topic": found.primer.topic, **found.primer.model_dump()})
    else:
        render.primer(env.out, found, first=False)
        from rich.text import Text

        env.out.print(Text(f"Practise it: learnbackend quiz start --branch {found.lesson_id.removeprefix('roadmap-')}",
                           style="muted"))
