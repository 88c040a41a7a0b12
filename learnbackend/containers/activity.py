"""The containers lab's own work in the learner's progress: one record per demo run and per comparison.

Engine only: ids, order and "what next"; ``cli.py`` records the runs, ``course/overview.py``
counts them (``MODULE_ACTIVITIES``), home's Continue opens :func:`next_step`.
"""

from __future__ import annotations

#: How a run is recorded in the progress store (a colon never occurs in a lesson id).
RUN_PREFIX = "containers:"
COMPARE = "compare"
#: The order the lab teaches in: what a container sees, what it may use, what it costs, then the four models side by side.
ORDER = ("isolation", "memory", "pids", "cpu", "density", "boundary", COMPARE)


def run_id(step: str) -> str:
    """The progress-store id of a run: ``containers:demo:memory`` or ``containers:compare``."""
    return RUN_PREFIX + (COMPARE if step == COMPARE else f"demo:{step}")


def activity_ids() -> list[str]:
    """Lab work that counts in the module's progress beside its lesson exercises."""
    return [run_id(step) for step in ORDER]


def next_step(statuses: dict[str, str]) -> str:
    """The first demo (or the comparison) not yet run, in :data:`ORDER`; the first one when all have run."""
    for step in ORDER:
        if statuses.get(run_id(step)) != "passed":
            return step
    return ORDER[0]


def runs_done(statuses: dict[str, str]) -> int:
    return sum(statuses.get(run_id(step)) == "passed" for step in ORDER)
