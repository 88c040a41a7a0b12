"""`learnbackend counter ...`: serve, load, chaos, experiment(s), status.

Imports only Typer and learnbackend.apps at load time; engines and Rich are
imported inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from learnbackend.apps import env_of, make_app

app = make_app("The counter lab: run, load and break Netflix's distributed counter design next to simpler ones.")


def _print_json(env: Any, data: Any) -> None:
    env.out.print_json(json.dumps(data, default=str))


def _progress(env: Any, enabled: bool) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                    TimeElapsedColumn(), console=env.err, transient=True,
                    disable=not (enabled and env.err.is_terminal))  # off a terminal it only left a blank line


def _check_redis(url: str | None) -> None:
    """Refuse a --redis that is not redis:// or does not answer, before any design process starts."""
    if url is None:
        return
    from learnbackend.counter.load import ensure_reachable
    from learnbackend.errors import UsageError

    if not url.startswith("redis://"):
        raise UsageError(f"--redis must be a redis:// URL (got {url!r}).", fix="For example: --redis redis://127.0.0.1:6379")
    ensure_reachable(url)


@app.command()
def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 8700,
    workers: Annotated[int, typer.Option(min=1, max=16, help="API worker processes.")] = 1,
    rollup_process: Annotated[bool, typer.Option("--rollup-process", help="Roll up in a separate process.")] = False,
    redis: Annotated[str | None, typer.Option(help="Redis URL for best-effort counters and the rollup cache.")] = None,
    db: Annotated[Path | None, typer.Option(help="SQLite file (default: in the learnbackend data dir).")] = None,
) -> None:
    """Serve the counter API over HTTP on 127.0.0.1 (OpenAPI docs at /docs). Ctrl-C stops."""
    from learnbackend.counter.server import ServeConfig, run_server

    env = env_of(ctx)
    path = db or env.home / "counter" / "counter.sqlite3"
    env.err.print(f"counter service on [bold]http://127.0.0.1:{port}[/bold]  docs: http://127.0.0.1:{port}/docs  "
                  f"store: {path}  workers: {workers}  rollup: {'separate process' if rollup_process else 'in-process'}")
    env.err.print("[dim]namespaces: default (eventual), accurate, best-effort. Ctrl-C stops.[/dim]")
    run_server(ServeConfig(path, port, workers, rollup_process, redis))


@app.command()
def load(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(help="Target (http://... or redis://...); default: the service `counter serve` "
                                                    "runs on 127.0.0.1:8700, else one started for this run.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", help="Concurrent clients.")] = 16,
    rate: Annotated[float, typer.Option(help="Requests/s over all clients; 0 = as fast as possible.")] = 0.0,
    duration: Annotated[float, typer.Option("--duration", "-d", help="Seconds.")] = 5.0,
    counters: Annotated[int, typer.Option(help="Distinct counters.")] = 100,
    skew: Annotated[float, typer.Option(help="Zipf exponent of key popularity (0 = uniform).")] = 1.0,
    retry: Annotated[str, typer.Option(help="none | same-token | new-token.")] = "same-token",
    namespace: Annotated[str, typer.Option(help="Namespace to count in.")] = "default",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Load the counter service (or Redis) with a live dashboard, then report."""
    from learnbackend.counter.load import LoadConfig, check_config, ensure_reachable, run_load
    from learnbackend.counter.render import load_dashboard, render_load_report

    env = env_of(ctx)
    config = LoadConfig(url or "http://127.0.0.1:0", concurrency, rate, duration, counters, skew, retry,
                        namespace=namespace, seed=seed)
    check_config(config)
    if url is not None:
        ensure_reachable(url)
    import shutil
    import tempfile

    service = None
    scratch: Path | None = None
    if url is None and _serving(DEFAULT_SERVE_URL):
        from dataclasses import replace

        url = DEFAULT_SERVE_URL
        config = replace(config, url=url)
        env.err.print(f"[dim]loading the counter service at {url} (your `counter serve`); "
                      "--url chooses another target[/dim]")
    try:
        if url is None:
            from dataclasses import replace

            from learnbackend.counter.redis_server import free_port
            from learnbackend.counter.server import ServeConfig, ServiceProcess

            env.err.print("[dim]no `counter serve` answers on 127.0.0.1:8700, so a counter service is started "
                          "for this run; --url chooses a target[/dim]")
            (env.home / "counter").mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(prefix="load-", dir=env.home / "counter"))
            service = ServiceProcess(ServeConfig(scratch / "load.sqlite3", free_port())).start()
            config = replace(config, url=service.url)
        live_ok = env.out.is_terminal and not as_json
        if live_ok:
            from rich.live import Live

            with Live(console=env.out, refresh_per_second=8, transient=True) as live:
                report = run_load(config, on_tick=lambda snap: live.update(load_dashboard(snap)))
        else:
            report = run_load(config)
    finally:
        if service is not None:
            service.stop()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if as_json:
        _print_json(env, report.to_dict())
    else:
        render_load_report(env, report)
    if report.interrupted:
        raise typer.Exit(130)


DEFAULT_SERVE_URL = "http://127.0.0.1:8700"


def _serving(url: str) -> bool:
    """Whether a counter service (ours: /healthz says ok) answers at ``url``."""
    import httpx

    try:
        return bool(httpx.get(url + "/healthz", timeout=0.5).json().get("ok"))
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


@app.command()
def chaos(
    ctx: typer.Context,
    increments: Annotated[int, typer.Option(help="Increments per design.")] = 600,
    lost_requests: Annotated[float, typer.Option(help="Fraction of requests lost.")] = 0.05,
    lost_acks: Annotated[float, typer.Option(help="Fraction of acknowledgements lost.")] = 0.05,
    duplicates: Annotated[float, typer.Option(help="Fraction delivered twice.")] = 0.02,
    kill: Annotated[bool, typer.Option("--kill/--no-kill", help="kill -9 each design's process mid-run.")] = True,
    skew: Annotated[float, typer.Option(help="Client clock skew, seconds (up to).")] = 0.5,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    redis: Annotated[str | None, typer.Option(help="Redis URL (default: start a throw-away redis-server).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Every design under lost acks + retries, duplicates, kill -9 and skew: acknowledged vs reported."""
    from learnbackend.counter.chaos import ChaosConfig, run_chaos
    from learnbackend.counter.processes import stop_all
    from learnbackend.counter.render import render_chaos

    env = env_of(ctx)
    for value in (lost_requests, lost_acks, duplicates):
        if not 0 <= value < 1:
            from learnbackend.errors import UsageError

            raise UsageError("Fault fractions must be in [0, 1).")
    _check_redis(redis)
    config = ChaosConfig(increments, lost_requests, lost_acks, duplicates, kill, skew, seed=seed)
    try:
        with _progress(env, not as_json) as bar:
            task = bar.add_task("chaos", total=1.0)
            report = run_chaos(config, lambda f, s: bar.update(task, completed=f, description=f"chaos: {s}"), redis)
    finally:
        stop_all()
    if as_json:
        _print_json(env, report.to_dict())
    else:
        render_chaos(env, report)


@app.command()
def experiments(ctx: typer.Context,
                as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """List the experiments E1-E9."""
    from learnbackend.counter.experiments import EXPERIMENTS
    from learnbackend.counter.render import render_experiment_list
    from learnbackend.counter.teach import run_id

    env = env_of(ctx)
    with env.progress() as store:
        statuses = store.statuses(module="counter", workspace=None)
    ran = {e for e in EXPERIMENTS if statuses.get(run_id(e)) == "passed"}
    if as_json:
        _print_json(env, [{"id": e.id, "title": e.title, "shows": e.shows, "run": e.id in ran}
                          for e in EXPERIMENTS.values()])
    else:
        render_experiment_list(env, EXPERIMENTS, ran)


@app.command()
def experiment(
    ctx: typer.Context,
    experiment_id: Annotated[str, typer.Argument(metavar="ID", help="E1 ... E9 (see `counter experiments`).")],
    scale: Annotated[float, typer.Option(help="Multiply durations and sizes (1 = a few seconds).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed (fixed by default: reproducible).")] = 7,
    redis: Annotated[str | None, typer.Option(help="Redis URL (default: start a throw-away redis-server).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw figures as JSON.")] = False,
    predict: Annotated[bool | None, typer.Option("--predict/--no-predict",
                                                    help="Answer the lesson's prediction questions first "
                                                         "(default: yes on a terminal).")] = None,
    answer: Annotated[list[str] | None, typer.Option(help="Answer a prediction without prompting (repeatable).")] = None,
) -> None:
    """Run one experiment: its concept, your prediction, then progress bar, result table, plot, and what it means."""
    _experiment_flow(env_of(ctx), experiment_id, scale=scale, seed=seed, redis=redis, as_json=as_json, predict=predict,
                     answers=answer)


@app.command(name="next")
def next_(
    ctx: typer.Context,
    scale: Annotated[float, typer.Option(help="Multiply durations and sizes (1 = a few seconds).")] = 1.0,
    predict: Annotated[bool | None, typer.Option("--predict/--no-predict",
                                                    help="Answer the prediction questions first "
                                                         "(default: yes on a terminal).")] = None,
    answer: Annotated[list[str] | None, typer.Option(help="Answer a prediction without prompting (repeatable).")] = None,
) -> None:
    """Open the next experiment you have not run yet, with its concept and prediction."""
    from learnbackend.counter.teach import next_experiment, run_id, suggested_order

    env = env_of(ctx)
    with env.progress() as store:
        statuses = store.statuses(module="counter", workspace=None)
    chosen = next_experiment(statuses)
    done = sum(statuses.get(run_id(e)) == "passed" for e in suggested_order())
    total = len(suggested_order())
    env.err.print(f"[dim]counter lab: {done} of {total} experiments run; "
                  + (f"next: {chosen}" if done < total else f"all run, so again from the first: {chosen}") + "[/dim]")
    _experiment_flow(env, chosen, scale=scale, seed=7, redis=None, as_json=False, predict=predict, answers=answer)


def _experiment_flow(env: Any, experiment_id: str, *, scale: float, seed: int, redis: str | None, as_json: bool,
                     predict: bool | None, answers: list[str] | None) -> None:
    """Concept → predictions (asked by default on a terminal) → run → results; the run counts in progress."""
    from learnbackend.counter.experiments import EXPERIMENTS, check_experiment, run_experiment
    from learnbackend.counter.processes import stop_all
    from learnbackend.counter.render import render_experiment
    from learnbackend.counter.teach import run_id

    info = check_experiment(experiment_id, scale)  # before any prompt or progress bar
    _check_redis(redis)
    ask = bool(answers) or (predict if predict is not None else env.interactive and not as_json)
    if not as_json:
        _print_opener(env, info)
    predictions: list[Any] = []
    if ask and info.id in EXPERIMENTS:
        if env.interactive and not answers:  # read the concept before the question pushes it off an 80x24 screen
            from learnbackend.roadmap.play import press_any_key

            press_any_key("Read it? Press a key to predict… ")
        predictions = _ask_predictions(env, info.id, answers)
    try:
        with _progress(env, not as_json) as bar:
            task = bar.add_task(info.id, total=1.0)
            result = run_experiment(info.id, scale=scale, seed=seed, redis_url=redis,
                                    progress=lambda f, s: bar.update(task, completed=f, description=f"{info.id}: {s}"))
    finally:
        stop_all()
    with env.progress() as store:  # a finished run counts in the counter lab's progress
        store.record("counter", run_id(info.id), "passed",
                     detail={"scale": scale, "seed": seed, "predicted": bool(predictions)})
    if as_json:
        data = result.to_dict()
        if predictions:
            data["predictions"] = [{"id": p.exercise_id, "chosen": p.chosen, "correct": p.correct} for p in predictions]
        _print_json(env, data)
    else:
        render_experiment(env, result, predictions)


def _print_opener(env: Any, info: Any) -> None:
    """The experiment's concept from its lesson, and a picture where one helps, before anything runs."""
    from learnbackend.counter.render import concept_panel, flow_picture, window_timeline
    from learnbackend.counter.teach import concept_for

    width = min(env.out.width, 80)
    found = concept_for(env.catalog(), info.id)
    if found is not None:
        env.out.print(concept_panel(info.id, info.title, found[0], found[1], width=width), width=width)
    else:
        env.out.print(f"[bold]{info.id}[/bold] {escape_text(info.title)}: {escape_text(info.shows)}", width=width)
    if info.id == "E4":
        env.out.print(window_timeline(0.05, 0.1, 0.1, width=width), width=width)
    elif info.id == "E8":
        env.out.print(window_timeline(0.04, 0.02, 0.0, width=width), width=width)
    elif (drawing := flow_picture(info.id, width=width)) is not None:
        env.out.print(drawing, width=width)


def escape_text(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@app.command()
def learn(
    ctx: typer.Context,
    design: Annotated[bool, typer.Option("--design", help="Print the lab's reference text instead.")] = False,
    url: Annotated[str, typer.Option(help="The counter service whose numbers to show.")] = DEFAULT_SERVE_URL,
    db: Annotated[Path | None, typer.Option(help="Its SQLite file (default: the one `counter serve` uses).")] = None,
    picture: Annotated[bool, typer.Option("--picture", help="Only the picture of the four layers.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the layers' figures as JSON.")] = False,
) -> None:
    """Netflix's counter as Netflix built it: the lesson, and its four layers with your service's live numbers."""
    from rich.markdown import Markdown

    from learnbackend.counter.render import layers_picture
    from learnbackend.counter.teach import INTRO_LESSON, design_path, design_text, live_snapshot

    env = env_of(ctx)
    if not url.startswith(("http://", "https://")):
        from learnbackend.errors import UsageError

        raise UsageError(f"--url must be an http:// address (got {url!r}).", fix="For example: --url http://127.0.0.1:8700")
    width = min(env.out.width, 80)
    if design:
        env.out.print(Markdown(design_text()), width=width)
        env.out.print(f"[dim]{design_path()}[/dim]", width=width)
        return
    snap = live_snapshot(url, db or env.home / "counter" / "counter.sqlite3")
    if as_json:
        _print_json(env, snap.to_dict())
        return
    from rich.text import Text

    from learnbackend.ui.paging import print_paged

    shown: list[Any] = []
    if not picture:
        lesson = env.catalog().lesson(INTRO_LESSON).lesson
        shown += [Text(lesson.title, style="bold"), Markdown(lesson.body)]
    shown.append(layers_picture(snap, width=width))
    if not picture:
        shown.append(Text("Next: `learnbackend counter next` opens the next experiment with its prediction; "
                          "`learnbackend counter learn --design` prints the full reference text.", style="dim"))
        with env.progress() as store:  # home's Continue now leads to the experiments
            store.set_value("last_module", "counter")
    print_paged(env, shown, width=width)  # on a terminal, a screenful at a time


def _ask_predictions(env: Any, experiment_id: str, answers: list[str] | None) -> list[Any]:
    """Ask (or take from --answer) each prediction, record it in the progress store, before the run."""
    from rich.markup import escape

    from learnbackend.counter.guide import predictions_for
    from learnbackend.ui.prompts import ScriptedPrompter, prompter_for

    predictions = predictions_for(env.catalog(), experiment_id)
    if predictions and not answers and not env.interactive:
        from learnbackend.errors import NoTerminal

        raise NoTerminal(f"counter experiment {experiment_id.upper()} --predict",
                         fix=f"Run it in a terminal, pass --answer TEXT once per question ({len(predictions)} here), "
                             "or leave out --predict.")
    if not predictions:
        env.err.print(f"[dim]No prediction questions for {experiment_id.upper()}; running it.[/dim]")
        return []
    prompter = (ScriptedPrompter(answers, source="--answer") if answers
                else prompter_for(env, f"counter experiment {experiment_id.upper()} --predict"))
    if not answers:
        env.out.print("[bold]Predict first.[/bold] Answer before the experiment runs; the results will tell.")
    store = env.progress()
    for p in predictions:
        if not answers:
            env.out.print(f"\n{escape(p.prompt)}")
        # Scripted answers name the question in their error message; on a terminal it is printed just above.
        p.chosen = p.choices[prompter.select(" ".join(p.prompt.split()) if answers else "Your prediction:", p.choices)]
        store.record("counter", p.exercise_id, "passed" if p.correct else "failed", detail={"chosen": p.chosen})
    return predictions


@app.command()
def status(ctx: typer.Context,
           url: Annotated[str, typer.Option(help="The service to ask.")] = "http://127.0.0.1:8700",
           as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Is a counter service answering at URL, and with which namespaces?"""
    import httpx

    from learnbackend.errors import EnvironmentMissing

    env = env_of(ctx)
    if not url.startswith(("http://", "https://")):
        from learnbackend.errors import UsageError

        raise UsageError(f"--url must be an http:// address (got {url!r}).", fix="For example: --url http://127.0.0.1:8700")
    try:
        health = httpx.get(url + "/healthz", timeout=2).json()
        namespaces = httpx.get(url + "/v1/namespaces", timeout=2).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise EnvironmentMissing(f"No counter service answers at {url} ({exc}).",
                                 fix="Start one: learnbackend counter serve") from None
    if as_json:
        _print_json(env, {"health": health, "namespaces": namespaces})
        return
    from learnbackend.counter.render import table

    env.out.print(f"counter service at {url}: up (pid {health.get('pid')})")
    if health.get("store") == "postgresql":
        env.out.print(f"store: PostgreSQL at {health.get('store_at')} (a cluster node; `counter cluster`)")
    if "wal_bytes" in health:
        env.out.print(f"database: {_mib(health.get('db_bytes', 0))}, WAL {_mib(health['wal_bytes'])} "
                      f"(truncated back to {_mib(health.get('wal_limit_bytes', 0))} at each checkpoint)")
    env.out.print(table(["namespace", "type", "accept_limit s", "skew margin s", "buckets"],
                        [[n["name"], n["type"], n["accept_limit_s"], n["skew_margin_s"], n["event_buckets"]]
                         for n in namespaces]))


def _mib(n: Any) -> str:
    return f"{float(n) / (1024 * 1024):.1f} MiB"


def _register_cluster() -> None:
    from learnbackend.counter.cluster_cli import register

    register(app)


_register_cluster()  # `counter cluster`, `counter cluster-chaos` (cluster_cli.py)
