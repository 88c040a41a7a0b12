"""The experiments E1-E9 of the lab's reference design (lessons/counter/counter-design.md): each runs with a fixed seed and returns an ExperimentResult."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from learnbackend.counter.experiments.common import ExperimentResult, Progress
from learnbackend.errors import UsageError


@dataclass(frozen=True)
class ExperimentInfo:
    id: str
    title: str
    shows: str
    target: str  # "module:function"


EXPERIMENTS: dict[str, ExperimentInfo] = {e.id: e for e in [
    ExperimentInfo("E1", "Concurrent writers on each design", "single-row flattens under contention; log and shards scale",
                   "contention:run_e1"),
    ExperimentInfo("E2", "Lost acknowledgements, with and without retries",
                   "non-idempotent designs drift by about ±x%; the log with tokens is exact", "faults_exp:run_e2"),
    ExperimentInfo("E3", "kill -9 an aggregator / the rollup worker mid-run",
                   "in-memory aggregation loses counts; the log loses nothing, only lags until the next read",
                   "crashes:run_e3"),
    ExperimentInfo("E4", "accept_limit and skew margin against clock skew",
                   "lag 0 with skew silently drops events; a margin fixes it", "windows:run_e4"),
    ExperimentInfo("E5", "One hot counter vs K shards", "throughput grows with K", "contention:run_e5"),
    ExperimentInfo("E6", "Skewed rollup triggers, coalescing on/off", "rollups << events with coalescing",
                   "pipeline:run_e6"),
    ExperimentInfo("E7", "Accurate mode: read cost vs the un-rolled window", "read latency grows with the un-rolled window",
                   "pipeline:run_e7"),
    ExperimentInfo("E8", "Two rollup workers racing, mutable vs immutable window", "only the immutable window converges",
                   "windows:run_e8"),
    ExperimentInfo("E9", "Back-pressure on/off against a slowed store", "bounded latency vs a growing queue",
                   "pipeline:run_e9"),
]}


def check_experiment(experiment_id: str, scale: float = 1.0) -> ExperimentInfo:
    """The experiment's entry, or a UsageError for an unknown id or a scale out of range."""
    info = EXPERIMENTS.get(experiment_id.upper())
    if info is None:
        raise UsageError(f"Unknown experiment {experiment_id!r}.", fix=f"Use one of: {', '.join(EXPERIMENTS)}.")
    if scale <= 0 or scale > 100:
        raise UsageError(f"--scale must be more than 0 and at most 100 (got {scale:g}).",
                         fix="1 = a few seconds; 0.2 for a quick look, 3 for steadier figures.")
    return info


def run_experiment(experiment_id: str, *, scale: float = 1.0, seed: int = 7, progress: Progress | None = None,
                   redis_url: str | None = None) -> ExperimentResult:
    """Run one experiment; ``scale`` multiplies its durations and sizes (1.0 = a few seconds)."""
    info = check_experiment(experiment_id, scale)
    module_name, _, function = info.target.partition(":")
    module = importlib.import_module(f"learnbackend.counter.experiments.{module_name}")
    result: ExperimentResult = getattr(module, function)(scale=scale, seed=seed,
                                                          progress=progress or (lambda f, s: None), redis_url=redis_url)
    result.id, result.title, result.shows = info.id, info.title, info.shows
    result.params.update({"scale": scale, "seed": seed})
    return result
