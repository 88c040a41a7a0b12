"""`learnbackend containers ...`: doctor, compare, demo, clean.

Imports only Typer and learnbackend.apps at load time; engines, Rich and the
Docker SDK are imported inside the commands.
"""

from __future__ import annotations

from typing import Annotated

import typer

from learnbackend.apps import env_of, make_app

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
    from learnbackend.containers import render
    from learnbackend.containers.signals import cleanup_on_signals

    env = env_of(ctx)
    with cleanup_on_signals():
        comparison = render.with_progress(env, runs, vm_runs, quiet=as_json)
    with env.progress() as store:  # the learner's own numbers, for later lessons
        store.set_value("containers.compare.last", comparison.to_dict())
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
    from learnbackend.containers import demos, render
    from learnbackend.containers.signals import cleanup_on_signals

    env = env_of(ctx)
    text = demos.text_of(name)
    demos.require_engine(name)
    answer = render.ask_prediction(env, text, predict=predict, skip=yes, quiet=as_json)
    with cleanup_on_signals():
        result = demos.run(name, with_vm=not no_vm, count=count)
    answer = render.grade_prediction(text, answer, result.figures)
    with env.progress() as store:
        store.set_value(f"containers.demo.{name}", {"prediction": answer, "figures": result.figures})
    render.demo(env, text, result, answer, as_json=as_json)


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
