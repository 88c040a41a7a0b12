"""The home screen: a menu on a terminal, an overview otherwise (never waits for input)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:
    from learnbackend.context import Environment


def home(env: Environment) -> None:
    from learnbackend import __version__
    from learnbackend.course import render
    from learnbackend.course.overview import course_overview

    catalog = env.catalog()
    with env.progress() as store:
        overview = course_overview(catalog, store)
    env.out.print(Text(f"learnbackend {__version__}", style="title"),
                  Text("— learn backend development by doing it for real", style="muted"))
    render.progress(env, overview, as_json=False)
    if not env.interactive:
        env.out.print(Text("Run `learnbackend --help` for every command; `learnbackend quiz` to start.", style="muted"))
        return
    _menu(env)


def _menu(env: Environment) -> None:
    """Loop: pick an action, run it, come back; leave with Quit or Ctrl-C."""
    from learnbackend.ui.prompts import QuestionaryPrompter

    prompter = QuestionaryPrompter()
    while True:
        with env.progress() as store:
            last = store.get_value("last_module", kind=str)
        actions: list[tuple[str, list[str]]] = []
        if last:
            actions.append((f"Continue where you left off ({last})", _continue_args(last)))
        actions += [
            ("Roadmap quiz: pick a branch and play", ["quiz"]),
            ("Roadmap quiz: your mind map", ["quiz", "map"]),
            ("Git sandbox: build the next level", ["git", "start"]),
            ("Git sandbox: open the recording shell in the current level", ["git", "shell"]),
            ("Git sandbox: all levels", ["git", "levels"]),
            ("Containers lab: what this machine can run", ["containers", "doctor"]),
            ("Containers lab: measure bare process vs container vs VM", ["containers", "compare"]),
            ("Counter lab: the experiments", ["counter", "experiments"]),
            ("Your progress", ["progress"]),
            ("Check the environment (doctor)", ["doctor"]),
            ("Quit", []),
        ]
        index = prompter.select("What would you like to do?", [a for a, _ in actions])
        args = actions[index][1]
        if not args:
            return
        _run_sub(env, args)


def _continue_args(module: str) -> list[str]:
    return {"roadmap": ["quiz", "start"], "git": ["git", "start"], "containers": ["containers", "doctor"],
            "counter": ["counter", "experiments"]}.get(module, ["progress"])


def _run_sub(env: Environment, args: list[str]) -> None:
    """Run a sub-command in-process and come back to the menu whatever it does."""
    import typer
    import typer.main

    from learnbackend.cli import _is_click_flow, app

    command = typer.main.get_command(app)
    try:
        command.main(args=args, prog_name="learnbackend", standalone_mode=False, obj=env)
    except Exception as exc:  # the root group already rendered our own errors
        if not _is_click_flow(exc):
            raise
        if hasattr(exc, "show") and not isinstance(exc, (typer.Exit, typer.Abort)):
            exc.show()
    env.out.print()
