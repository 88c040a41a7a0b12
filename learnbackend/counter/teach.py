"""What the counter lab teaches before it measures: the reference text, each experiment's concept,
and a snapshot of the four layers with a running service's live numbers.

Engines only: this module returns text and data; ``render.py`` draws them. The
texts are content (``lessons/counter/``), found here, never written here.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: The reference design, shipped with the lessons (``learnbackend/_lessons`` in a wheel).
DESIGN_FILE = "counter/counter-design.md"
#: The lesson that teaches Netflix's design before the experiments.
INTRO_LESSON = "counter-netflix"
#: How a run of experiment E<n> is recorded in the progress store (a colon never occurs in a lesson id).
RUN_PREFIX = "counter:"
_SECTION = re.compile(r"^## (E\d+)\b[^\n]*\n", re.MULTILINE)


def design_path() -> Path:
    from learnbackend.course.catalog import bundled_lessons_dir

    return bundled_lessons_dir() / DESIGN_FILE


def design_text() -> str:
    """The lab's reference text (Markdown)."""
    return design_path().read_text(encoding="utf-8")


def run_id(experiment_id: str) -> str:
    """The progress-store id of a run of this experiment, e.g. ``counter:E4``."""
    return RUN_PREFIX + experiment_id.upper()


def activity_ids() -> list[str]:
    """Lab work that counts in the module's progress beside the lesson exercises: one run per experiment."""
    from learnbackend.counter.experiments import EXPERIMENTS

    return [run_id(e) for e in EXPERIMENTS]


def next_experiment(statuses: dict[str, str]) -> str:
    """The first experiment not yet run (in the lessons' order: E1, E5, E2, E3, E4, E8, ...), else E1."""
    for experiment_id in suggested_order():
        if statuses.get(run_id(experiment_id)) != "passed":
            return experiment_id
    return suggested_order()[0]


def suggested_order() -> list[str]:
    """Experiments in the order the lessons teach them: contention, failures, then windows and the pipeline."""
    from learnbackend.counter.experiments import EXPERIMENTS

    order = ["E1", "E5", "E2", "E3", "E4", "E8", "E6", "E7", "E9"]
    return [e for e in order if e in EXPERIMENTS] + [e for e in EXPERIMENTS if e not in order]


def concept_for(catalog: Any, experiment_id: str) -> tuple[str, str] | None:
    """``(lesson id, section)`` of the experiment's ``## E<n>`` section in a counter lesson, if any."""
    wanted = experiment_id.upper()
    for entry in catalog.by_module("counter"):
        body = entry.lesson.body or ""
        marks = list(_SECTION.finditer(body))
        for i, mark in enumerate(marks):
            if mark.group(1) == wanted:
                end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
                return entry.lesson.id, body[mark.start():end].strip()
    return None


# --- the four layers, with live numbers where a service runs -----------------------------

@dataclass
class CachedValue:
    namespace: str
    counter: str
    count: int
    checkpoint_age_s: float | None  # None: never rolled up


@dataclass
class LayerSnapshot:
    """What the picture shows. ``measured`` False: every figure is an illustrative example."""

    measured: bool
    url: str
    pid: int | None = None
    namespaces: list[dict[str, Any]] = field(default_factory=list)
    db: str | None = None
    events: int | None = None
    counters: int | None = None
    time_buckets: int | None = None
    event_buckets: int | None = None
    unrolled_events: int | None = None
    counters_behind: int | None = None
    rolled_up: int | None = None
    newest_checkpoint_age_s: float | None = None
    trigger_rows: int | None = None
    cached: list[CachedValue] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # what could not be measured, and why

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def example_snapshot(url: str) -> LayerSnapshot:
    """Illustrative figures, the shape of a few seconds of `counter load` on the default namespace."""
    return LayerSnapshot(
        measured=False, url=url,
        namespaces=[{"name": "default", "type": "eventual", "accept_limit_s": 1.0, "skew_margin_s": 0.2,
                     "event_buckets": 4, "bucket_seconds": 600}],
        events=48_200, counters=100, time_buckets=1, event_buckets=4, unrolled_events=1_350, counters_behind=61,
        rolled_up=100, newest_checkpoint_age_s=1.3, trigger_rows=0,
        cached=[CachedValue("default", "c0", 9_412, 1.3), CachedValue("default", "c1", 4_706, 1.4)])


def live_snapshot(url: str, db: Path | None, *, budget_s: float = 2.0, sample: int = 3) -> LayerSnapshot:
    """The layers of the service at ``url``: its API (HTTP), its event log and rollups (its SQLite file,
    read-only, within ``budget_s``) and a few cached values (GetCount, which also triggers a rollup).

    Returns an example snapshot when no counter service answers at ``url``.
    """
    from urllib.parse import quote

    import httpx

    try:
        health = httpx.get(url + "/healthz", timeout=1.0).json()
        namespaces = httpx.get(url + "/v1/namespaces", timeout=2.0).json()
        if not (isinstance(health, dict) and health.get("ok") and isinstance(namespaces, list)):
            raise ValueError("not a counter service")
    except (httpx.HTTPError, ValueError):
        return example_snapshot(url)
    snap = LayerSnapshot(measured=True, url=url, pid=health.get("pid"),
                         namespaces=[n for n in namespaces if isinstance(n, dict)])
    names: list[tuple[str, str]] = []
    if db is None or not db.is_file():
        snap.missing.append(f"the event log: no store file at {db} (pass --db, the file given to `counter serve --db`)")
    else:
        snap.db = str(db)
        try:
            names = _read_store(snap, db, budget_s)
        except sqlite3.Error as exc:
            snap.missing.append(f"the event log: {db} could not be read ({exc})")
    for namespace, counter in names[:sample]:
        try:
            got = httpx.get(f"{url}/v1/counters/{quote(namespace, safe='')}/{quote(counter, safe='')}",
                            timeout=2.0).json()
            ts = got.get("last_rollup_ts")
            age = max(0.0, time.time() - ts / 1e6) if isinstance(ts, (int, float)) and ts > 0 else None
            snap.cached.append(CachedValue(namespace, counter, int(got["count"]), age))
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            continue
    return snap


def _read_store(snap: LayerSnapshot, db: Path, budget_s: float) -> list[tuple[str, str]]:
    """Fill the event-log and rollup figures from the store; returns the most recently rolled-up counters."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
    deadline = time.monotonic() + budget_s
    # A big log after a long load: give up on a figure rather than keep the learner waiting.
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "events" not in tables:
            snap.missing.append("the event log: the store has no events table yet")
            return []

        def figure(sql: str, what: str) -> Any:
            try:
                return conn.execute(sql).fetchone()[0]
            except sqlite3.OperationalError as exc:
                snap.missing.append(f"{what}: {'took too long' if 'interrupt' in str(exc) else exc}")
                return None

        snap.events = figure("SELECT count(*) FROM events", "events in the log")
        snap.counters = figure("SELECT count(DISTINCT cid) FROM events", "counters")
        snap.time_buckets = figure("SELECT count(DISTINCT time_bucket) FROM events", "time buckets")
        snap.event_buckets = figure("SELECT count(DISTINCT event_bucket) FROM events", "event buckets")
        if "rollup_triggers" in tables:
            snap.trigger_rows = figure("SELECT count(*) FROM rollup_triggers", "trigger rows")
        if "rollups" not in tables or "counter_ids" not in tables:
            return []
        snap.rolled_up = figure("SELECT count(*) FROM rollups WHERE last_rollup_ts > 0", "rolled-up counters")
        newest = figure("SELECT max(last_rollup_ts) FROM rollups", "the newest checkpoint")
        if isinstance(newest, (int, float)) and newest > 0:
            snap.newest_checkpoint_age_s = max(0.0, time.time() - newest / 1e6)
        behind = ("SELECT {what} FROM events e JOIN counter_ids c ON c.id = e.cid LEFT JOIN rollups r "
                  "ON r.namespace = c.namespace AND r.counter = c.counter "
                  "WHERE e.event_time > coalesce(r.last_rollup_ts, 0)")
        snap.unrolled_events = figure(behind.format(what="count(*)"), "events since the checkpoints")
        snap.counters_behind = figure(behind.format(what="count(DISTINCT e.cid)"), "counters behind")
        try:
            rows = conn.execute("SELECT namespace, counter FROM rollups ORDER BY last_rollup_ts DESC LIMIT 5").fetchall()
        except sqlite3.OperationalError:
            rows = []
        return [(str(n), str(c)) for n, c in rows]
    finally:
        conn.close()
