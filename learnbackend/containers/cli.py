"""`learnbackend containers ...`: doctor, compare, demo, clean.

Imports only Typer and learnbackend.apps at load time; engines, Rich and the
Docker SDK are imported inside the commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from learnbackend.apps import env_of, make_app

if TYPE_CHECKING:
    from learnbackend.context import Environment

app = make_app("Containers lab: bare metal vs VM vs container vs container-in-VM, measured on your machine.")

JSON_HELP = "Print JSON instead of tables."


@app.command("doctor")
def doctor(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Engine, cgroups, QEMU and KVM, and whether this machine is itself a VM (with how to fix what is missing)."""
    from learnbackend.containers import hostinfo, render

    render.doctor(env_of(ctx), hostinfo.doctor(), as_json=as_json)


@app.command("compare")
def compare(
    ctx: typer.Context,
    runs: Annotated[int, typer.Option("--runs", min=1, max=50, help="Runs of the process and container models (after one warm-up).")] = 10,
    vm_runs: Annotated[int, typer.Option("--vm-runs", min=0, max=10, help="Boots of each VM model (0 skips them).")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Measure launch-to-first-output and memory of a bare process, a container, a VM and a container in a VM."""
    _compare_flow(env_of(ctx), runs, vm_runs, as_json=as_json)


def _compare_flow(env: Environment, runs: int, vm_runs: int, *, as_json: bool) -> None:
    from learnbackend.containers import activity, render
    from learnbackend.containers.signals import cleanup_on_signals

    with cleanup_on_signals():
        comparison = render.with_progress(env, runs, vm_runs, quiet=as_json)
    with env.progress() as store:  # the learner's own numbers, for later lessons; the run counts in progress
        store.set_value("containers.compare.last", comparison.to_dict())
        store.record("containers", activity.run_id(activity.COMPARE), "passed", detail={"runs": runs, "vm_runs": vm_runs})
    render.comparison(env, comparison, as_json=as_json)


@app.command("demo")
def demo(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="isolation, memory, pids, cpu, density or boundary.")],
    predict: Annotated[str | None, typer.Option("--predict", metavar="ANSWER",
                                                   help="Your prediction, no prompt: a choice's letter or text; a number is the predicted "
                                                        "value when the question asks for a quantity (pids, cpu), "
                                                        "else the choice's number.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Skip the prediction question.")] = False,
    no_vm: Annotated[bool, typer.Option("--no-vm", help="isolation and density: do not boot a VM to compare with.")] = False,
    count: Annotated[int, typer.Option("--count", min=1, max=50, help="density: how many containers.")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """A guided demo with a prediction question first: isolation, memory, pids, cpu, density, boundary."""
    _demo_flow(env_of(ctx), name, predict=predict, yes=yes, with_vm=not no_vm, count=count, as_json=as_json)


def _demo_flow(env: Environment, name: str, *, predict: str | None = None, yes: bool = False, with_vm: bool = True,
               count: int = 8, as_json: bool = False) -> None:
    from learnbackend.containers import activity, demos, render
    from learnbackend.containers.signals import cleanup_on_signals

    text = demos.text_of(name)
    demos.require_engine(name)
    answer = render.ask_prediction(env, text, predict=predict, skip=yes, quiet=as_json)
    with cleanup_on_signals():
        result = demos.run(name, with_vm=with_vm, count=count)
    answer = render.grade_prediction(text, answer, result.figures)
    with env.progress() as store:  # a finished demo counts in the lab's progress, like a counter experiment
        store.set_value(f"containers.demo.{name}", {"prediction": answer, "figures": result.figures})
        store.record("containers", activity.run_id(name), "passed", detail={"predicted": answer.get("given") is not None})
    render.demo(env, text, result, answer, as_json=as_json)


@app.command("next")
def next_(
    ctx: typer.Context,
    predict: Annotated[str | None, typer.Option("--predict", metavar="ANSWER",
                                                   help="A demo's prediction, no prompt (as in `containers demo`).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Skip the prediction question.")] = False,
) -> None:
    """Open the next demo you have not run yet (then the comparison), with its prediction question."""
    from learnbackend.containers import activity

    env = env_of(ctx)
    with env.progress() as store:
        statuses = store.statuses(module="containers", workspace=None)
    step = activity.next_step(statuses)
    done, total = activity.runs_done(statuses), len(activity.ORDER)
    what = "the comparison" if step == activity.COMPARE else f"demo {step}"
    env.err.print(f"[dim]containers lab: {done} of {total} runs done; "
                  + (f"next: {what}" if done < total else f"all done, so again from the first: {what}") + "[/dim]")
    if step == activity.COMPARE:
        _compare_flow(env, 10, 3, as_json=False)
    else:
        _demo_flow(env, step, predict=predict, yes=yes)


@app.command("clean")
def clean(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Remove every container, image and VM the lab created (found by their labels), and nothing else."""
    from learnbackend.containers import engine, render
    from learnbackend.containers.signals import cleanup_on_signals

    client, why = engine.try_connect()
    try:
        with cleanup_on_signals():
            report = engine.clean(client)
    finally:
        if client is not None:
            client.close()
    render.clean(env_of(ctx), report, engine_missing=why, as_json=as_json)
