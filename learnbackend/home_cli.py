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
    from learnbackend.roadmap.quiz import describe_due, due_summary

    catalog = env.catalog()
    with env.progress() as store:
        overview = course_overview(catalog, store)
        due = due_summary(store)
    env.out.print(Text(f"learnbackend {__version__}", style="title"),
                  Text("— learn backend development by doing it for real", style="muted"))
    render.progress(env, overview, as_json=False)
    if due[1] is not None:  # spaced repetition has cards: say when the quiz wants the learner back
        env.out.print(Text.assemble(("Roadmap reviews: ", "bold"), describe_due(*due),
                                    (" (learnbackend quiz review)" if due[0] else "", "muted")))
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
        actions: list[tuple[str, str, list[list[str]]]] = []
        if last:
            actions.append(("c", f"Continue where you left off ({_MODULE_NAMES.get(last, last)})", _continue_steps(last)))
        actions += [
            ("1", "Roadmap quiz: pick a branch and play", [["quiz"]]),
            ("2", "Roadmap quiz: your mind map", [["quiz", "map"]]),
            ("3", "Git sandbox: the current level in its recording shell", [["git", "start"], ["git", "shell"]]),
            ("4", "Git sandbox: all levels", [["git", "levels"]]),
            ("5", "Containers lab: what this machine can run", [["containers", "doctor"]]),
            ("6", "Containers lab: measure bare process vs container vs VM", [["containers", "compare"]]),
            ("7", "Counter lab: the experiments", [["counter", "experiments"]]),
            ("p", "Your progress", [["progress"]]),
            ("d", "Check the environment (doctor)", [["doctor"]]),
            ("q", "Quit", []),
        ]
        index = prompter.select("What would you like to do?", [title for _, title, _ in actions],
                                keys=[key for key, _, _ in actions], quit_index=len(actions) - 1)
        steps = actions[index][2]
        if not steps:
            return
        for args in steps:
            if not _run_sub(env, args):
                break
        env.out.print()


_MODULE_NAMES = {"roadmap": "roadmap quiz", "git": "git sandbox", "containers": "containers lab",
                 "counter": "counter lab"}


def _continue_steps(module: str) -> list[list[str]]:
    """The learner's next step in the module they used last: the git shell opens at their level."""
    return {"roadmap": [["quiz", "start"]], "git": [["git", "start"], ["git", "shell"]],
            "containers": [["containers", "doctor"]],
            "counter": [["counter", "next"]]}.get(module, [["progress"]])


def _run_sub(env: Environment, args: list[str]) -> bool:
    """Run a sub-command in-process and come back to the menu whatever it does; True when it succeeded."""
    import typer
    import typer.main

    from learnbackend.cli import _is_click_flow, app

    command = typer.main.get_command(app)
    try:
        # Not standalone: Click returns an Exit's code instead of leaving the process.
        returned = command.main(args=args, prog_name="learnbackend", standalone_mode=False, obj=env)
    except Exception as exc:  # the root group already rendered our own errors
        if not _is_click_flow(exc):
            raise
        if hasattr(exc, "show") and not isinstance(exc, (typer.Exit, typer.Abort)):
            exc.show()
        return False
    return not (isinstance(returned, int) and returned != 0)
