"""`learnbackend counter cluster` and `counter cluster-chaos`: the multi-node counter, run and broken.

Imports only Typer at load time; the engines are imported inside the commands.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from learnbackend.apps import env_of

CACHE_HELP = "redis://HOST:PORT (shared cache, EVCache's role), auto (start a throw-away redis-server if installed) or none."
STORE_HELP = ("postgresql://USER:PASSWORD@HOST:PORT/DB shared by nodes on several machines "
              "(default: a throw-away PostgreSQL started in a temp dir). Also read from the environment, which "
              "keeps a password out of the process list.")


def _cache(value: str) -> str | None:
    return None if value == "none" else value


def cluster(
    ctx: typer.Context,
    nodes: Annotated[int, typer.Option(min=1, max=16, help="Service nodes (processes) behind the gateway.")] = 3,
    port: Annotated[int, typer.Option(min=1, max=65535, help="The gateway's port on 127.0.0.1.")] = 8700,
    store: Annotated[str | None, typer.Option(help=STORE_HELP, envvar="LEARNBACKEND_COUNTER_STORE")] = None,
    cache: Annotated[str, typer.Option(help=CACHE_HELP)] = "auto",
    kill_every: Annotated[float, typer.Option(min=0, help="Chaos: kill -9 a random node every S seconds and restart "
                                                          "it (0 = never).")] = 0.0,
    seed: Annotated[int, typer.Option(help="Random seed for --kill-every.")] = 7,
) -> None:
    """Run N counter nodes behind a gateway over one PostgreSQL (+ Redis). Ctrl-C or SIGTERM stops it all."""
    import random
    import signal
    import time

    from learnbackend.counter.cluster import Cluster, ClusterConfig, check_cluster_config
    from learnbackend.counter.store_postgres import redact

    env = env_of(ctx)
    config = check_cluster_config(ClusterConfig(nodes=nodes, port=port, store=store, cache=_cache(cache)))
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    previous_hup = signal.signal(signal.SIGHUP, _raise_interrupt)  # a closed terminal stops it all too
    cluster_ = Cluster(config)
    try:
        env.err.print("[dim]starting " + ("a throw-away PostgreSQL, " if store is None else "")
                      + f"{nodes} node(s) and the gateway...[/dim]")
        cluster_.start()
        env.out.print(f"counter cluster on [bold]{cluster_.url}[/bold] (gateway)  docs: {cluster_.nodes[0].url}/docs")
        env.out.print(f"store: {redact(cluster_.store_url)}  cache: {cluster_.cache_url or 'none (per-node memory)'}")
        for node in cluster_.nodes:
            env.out.print(f"  node {node.index}: {node.url}  pid {node.proc.pid}")
        env.out.print("[dim]Load it: learnbackend counter load --url " + cluster_.url
                      + "   Ctrl-C stops everything.[/dim]")
        rng = random.Random(seed)
        next_kill = time.monotonic() + kill_every if kill_every else float("inf")
        while True:
            time.sleep(0.2)
            for node in cluster_.nodes:
                if not node.alive:  # died on its own (or killed from outside): bring it back
                    env.out.print(f"node {node.index} is gone (exit {node.proc.returncode}); restarting it")
                    cluster_.restart(node.index)
            if time.monotonic() >= next_kill:
                victim = rng.randrange(nodes)
                env.out.print(f"chaos: kill -9 node {victim} (its in-memory rollup queues die with it)")
                cluster_.kill9(victim)
                time.sleep(0.5)
                cluster_.restart(victim)
                env.out.print(f"chaos: node {victim} restarted (pid {cluster_.nodes[victim].proc.pid})")
                next_kill = time.monotonic() + kill_every
    except KeyboardInterrupt:
        env.err.print("[dim]stopping the gateway, the nodes, the cache and the store...[/dim]")
    finally:
        cluster_.stop()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGHUP, previous_hup)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def cluster_chaos(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Option(help="node-loss (kill -9 a node under load), trigger-loss (a rollup "
                                                 "trigger lost with a node, found again by the last-write sweep) or "
                                                 "wide-partitions (a hot counter's rollup read with and without "
                                                 "time/event buckets).")]
    = "node-loss",
    nodes: Annotated[int, typer.Option(min=1, max=16, help="Nodes (node-loss).")] = 3,
    duration: Annotated[float, typer.Option(min=1, max=600, help="Seconds of load (node-loss).")] = 6.0,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Concurrent clients (node-loss).")] = 16,
    kill_node: Annotated[list[int] | None, typer.Option(help="Which node to kill -9 (node-loss); repeat to kill "
                                                              "several, one after the other.")] = None,
    store: Annotated[str | None, typer.Option(help=STORE_HELP, envvar="LEARNBACKEND_COUNTER_STORE")] = None,
    cache: Annotated[str, typer.Option(help=CACHE_HELP)] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Break the cluster on purpose and check the count: exit 1 when it is not exact."""
    from learnbackend.counter.cluster import ClusterConfig, check_cluster_config
    from learnbackend.counter.cluster_chaos import NodeLossConfig, run_node_loss, run_trigger_loss
    from learnbackend.counter.render import table
    from learnbackend.errors import UsageError

    env = env_of(ctx)
    if experiment not in ("node-loss", "trigger-loss", "wide-partitions"):
        raise UsageError(f"Unknown experiment {experiment!r}.", fix="Use node-loss, trigger-loss or wide-partitions.")
    check_cluster_config(ClusterConfig(nodes=nodes, store=store, cache=_cache(cache)))

    def progress(fraction: float, stage: str) -> None:
        if not as_json:
            env.err.print(f"[dim]{fraction:>4.0%} {stage}[/dim]")

    if experiment == "node-loss":
        report = run_node_loss(NodeLossConfig(nodes=nodes, duration=duration, concurrency=concurrency,
                                              kill_nodes=tuple(kill_node or (0,)), kill_at=duration / 3,
                                              store=store, cache=_cache(cache)), progress)
        ok = report.exact
        if as_json:
            env.out.print_json(json.dumps(report.to_dict()))
        else:
            kills = ", ".join(f"node {n} at {t:g} s" for n, t in report.kills)
            env.out.print(table(["", "node loss under load"], [
                ["nodes", report.nodes],
                ["kill -9", f"{kills} (each restarted; the slowest restart took {report.restart_s:.1f} s)"],
                ["acknowledged increments", f"{report.acked:,}"],
                ["counted", f"{report.counted:,}"],
                ["unresolved requests", report.errors],
                ["retries (same token)", report.retries],
                ["throughput", f"{report.throughput:,.0f} req/s over {report.load_s:.1f} s"],
                ["latency p50 / p99", f"{report.p50_ms:.1f} / {report.p99_ms:.1f} ms"]]))
            env.out.print(("[green]exact[/green]: every acknowledged increment counted once" if ok else
                           "[red]NOT exact[/red]: the count differs from the acknowledged increments")
                          + f" (store {report.store}, cache {report.cache or 'none'}).")
    elif experiment == "wide-partitions":
        wide = _wide_partitions(store, progress)
        ok = True
        if as_json:
            env.out.print_json(json.dumps(wide.to_dict()))
        else:
            env.out.print(table(["key layout", "events", "rollup read ms (p50)", "pages touched"],
                                [[r.layout, f"{r.events:,}", r.rollup_ms_p50, r.buffers] for r in wide.rows],
                                title=f"one hot counter, the newest {wide.rows[0].window_s:g} s rolled up"))
            for note in wide.notes:
                env.out.print(f"[dim]{note}[/dim]")
    else:
        loss = run_trigger_loss(store=store, progress=progress)
        ok = bool(loss.rows) and loss.rows[-1].checkpoint_after_wait == loss.rows[-1].written
        if as_json:
            env.out.print_json(json.dumps(loss.to_dict()))
        else:
            env.out.print(table(["last-write sweep", "written", "checkpoint after wait", "waited s", "converged after s",
                                 "after one read"],
                                [[r.sweep, r.written, r.checkpoint_after_wait, r.waited_s,
                                  "never" if r.converged_after_s is None else r.converged_after_s, r.after_one_read]
                                 for r in loss.rows], title="a rollup trigger lost with a node"))
            for note in loss.notes:
                env.out.print(f"[dim]{note}[/dim]")
    if not ok:
        raise typer.Exit(1)


def _wide_partitions(store: str | None, progress: Any) -> Any:
    from learnbackend.counter.wide_partitions import run_wide_partitions

    if store is not None:
        return run_wide_partitions(store)
    from learnbackend.counter.postgres_server import start_postgres

    progress(0.0, "starting PostgreSQL")
    server = start_postgres()
    try:
        progress(0.2, "loading the same events under three key layouts")
        return run_wide_partitions(server.url)
    finally:
        server.stop()


def register(app: typer.Typer) -> None:
    app.command(name="cluster")(cluster)
    app.command(name="cluster-chaos")(cluster_chaos)
