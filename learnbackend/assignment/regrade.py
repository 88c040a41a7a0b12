"""``assignment regrade``: grade every learner from source, against the instructor's own assignment.

For each submission a fresh workspace is built from the instructor's assignment and lesson
pack; only the answer files each exercise declares are copied in (see
:mod:`learnbackend.assignment.submissions`); the learner's manifest, reports and anything
else are ignored. The check engine then runs (learner code only in the sandbox), hidden
tests included, and the points come from the instructor's assignment. Learners are
graded in parallel on every core; ``shard`` picks a stable part of the class.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import tempfile
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from learnbackend.assignment.gradebook import Cell, Entry, Gradebook, clean, finish
from learnbackend.assignment.submissions import (
    Submission,
    answer_files,
    collect,
    git_attempts,
    git_head,
    parse_shard,
    read_answer,
    read_roster,
    shard_of,
)

SCRATCH_PREFIX = "learnbackend-regrade-"


def reap_leftovers(max_age_s: float = 3600.0) -> list[Path]:
    """Remove this user's regrade scratch directories left by a killed run (older than ``max_age_s``)."""
    import time

    removed = []
    for path in Path(tempfile.gettempdir()).glob(SCRATCH_PREFIX + "*"):
        try:
            info = path.lstat()
        except OSError:
            continue
        if path.is_dir() and not path.is_symlink() and info.st_uid == os.getuid() and time.time() - info.st_mtime > max_age_s:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def remove_tree(path: Path, patience_s: float = 5.0) -> None:
    """Remove a scratch directory, again while something still finishes writing in it (a run being killed)."""
    import time

    deadline = time.monotonic() + patience_s
    while True:
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path) or time.monotonic() >= deadline:
            return
        time.sleep(0.05)


@lru_cache(maxsize=4)
def _loaded(assignment: Path, extra: tuple[Path, ...]) -> Any:
    from learnbackend.assignment.load import load_assignment

    return load_assignment(assignment, extra_lesson_dirs=list(extra))


#: Results of this process's checks by (exercise, answer files' digest): an answer handed in by many
#: learners (an untouched starter, the same multiple-choice letters) is checked once per worker.
_CHECKED: dict[tuple[str, str], Any] = {}


def grade_submission(assignment: Path, extra: tuple[Path, ...], submission: Submission, timeout: float, reuse: bool,
                     scratch_root: Path) -> Entry:
    """One learner's entry (cells, commit, lateness; totals are left to :func:`finish`).

    The learner's workspace is built in a new directory in ``scratch_root``, the command's own, which
    the command removes whatever happens to this process.
    """
    from learnbackend.workspace.checking import check_one, score, workspace_catalog
    from learnbackend.workspace.create import create_workspace, select_from_assignment
    from learnbackend.workspace.reports import portable

    loaded = _loaded(assignment, extra)
    scratch = Path(tempfile.mkdtemp(prefix="learner-", dir=scratch_root))
    notes: list[str] = []
    cells: dict[str, Cell] = {}
    try:
        workspace = scratch / "workspace"
        created = create_workspace(workspace, select_from_assignment(loaded), pack_version=loaded.catalog.pack_version,
                                   student=submission.student)
        catalog = workspace_catalog(created.manifest, list(extra), root=workspace)
        newest: float | None = None
        for spec in created.manifest.exercises:
            if _STOPPING:  # Ctrl-C seen where it could not be raised (see _worker_init): stop at a safe point
                raise KeyboardInterrupt
            _, exercise = loaded.catalog.exercise(spec.id)
            digest = hashlib.sha256()
            for name in answer_files(exercise):
                data, mtime, problem = read_answer(submission.path, f"{spec.path}/{name}")
                target = workspace / spec.path / name
                target.unlink(missing_ok=True)  # no answer: the starter must not stand in for one
                digest.update(name.encode() + b"\0" + (b"-" if data is None else b"+" + data) + b"\0")
                if data is None:
                    if not problem.endswith(": missing"):
                        notes.append(clean(problem, limit=300))
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                newest = mtime if newest is None or (mtime or 0) > newest else newest
            key = (spec.id, digest.hexdigest())
            result = _CHECKED.get(key) if reuse else None
            if result is None:
                result = check_one(workspace, catalog, spec, timeout=timeout, hidden=True)
                result.message = portable(result.message, workspace)
                if reuse:
                    _CHECKED[key] = result
            cells[spec.id] = Cell(result.status, score(spec, result), spec.points, None, clean(result.message, limit=500))
    finally:
        remove_tree(scratch)
    commit, committed_at = git_head(submission.path)
    attempts = git_attempts(submission.path, [s.path for s in created.manifest.exercises]) if commit else {}
    at = committed_at or (datetime.fromtimestamp(newest, timezone.utc).replace(microsecond=0) if newest else None)
    entry = Entry(submission.student, True, clean(submission.path.name, limit=300), commit, at, notes=notes)
    for spec in created.manifest.exercises:
        cell = cells[spec.id]
        cell.attempts = attempts.get(spec.path) if commit else None
        entry.cells[spec.id] = cell
    entry.late, entry.days_late, entry.late_factor = loaded.assignment.lateness(submission.student, at)
    return entry


_BUSY = False
_STOPPING = False


def _on_interrupt(signum: int, frame: Any) -> None:
    """In a worker: the first Ctrl-C stops the learner being graded (its clean-up runs) and every later job.

    An idle worker does not exit by itself (the pool would call itself broken and kill the busy ones
    before they clean up); it leaves when the pool shuts down.
    """
    global _STOPPING
    _STOPPING = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # one interrupt: a second must not cut the clean-up short
    if _BUSY:
        raise KeyboardInterrupt


def _stop_children() -> None:
    """End what this worker is running (its sandboxed checks): each then returns, and the job stops."""
    from learnbackend.liveness import children_of

    for child in children_of(os.getpid()):
        try:
            os.kill(child, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _worker_init() -> None:
    import sys

    signal.signal(signal.SIGINT, _on_interrupt)
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        # A Ctrl-C can land where Python cannot raise it (an at-fork hook while the sandbox starts a
        # run): instead of a stray traceback and a lost interrupt, end the busy run; the job then stops
        # at its next safe point (_STOPPING is already set).
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            _stop_children()
            return
        previous(unraisable)

    sys.unraisablehook = hook


Job = tuple[Path, tuple[Path, ...], Submission, float, bool, Path]


def _grade_job(job: Job) -> Entry:
    global _BUSY
    _BUSY = True
    try:
        if _STOPPING:  # checked once busy: an interrupt just before is seen here, one just after raises
            raise KeyboardInterrupt
        return grade_submission(*job)
    finally:
        _BUSY = False


def _in_pool(work: list[Job], workers: int) -> list[Entry]:
    """The jobs on ``workers`` processes; on Ctrl-C (or any error) the queue is dropped and every worker
    interrupted, so each removes its scratch directory and stops its sandboxed run before the command exits."""
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)
    try:
        entries = list(pool.map(_grade_job, work))
    except BaseException:
        processes = list(getattr(pool, "_processes", {}).values())  # the pool has no public handle on its workers
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive() and process.pid is not None:
                try:
                    os.kill(process.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass
        for process in processes:
            process.join(timeout=20)
            if process.is_alive():
                process.kill()
        raise
    pool.shutdown()
    return entries


def regrade(assignment: Path, paths: list[Path], *, extra_lesson_dirs: list[Path] = (), roster: Path | None = None,  # type: ignore[assignment]
            jobs: int | None = None, shard: str | None = None, timeout: float = 60.0, reuse: bool = True) -> Gradebook:
    """The gradebook of the submissions at ``paths`` (and of the class list's missing names), or of one shard of them.

    ``reuse``: an answer identical to one already checked (same exercise, same bytes) takes that result.
    """
    assignment = assignment.resolve()
    extra = tuple(p.resolve() for p in extra_lesson_dirs)
    reap_leftovers()
    _loaded.cache_clear()  # each run reads the assignment and lessons as they are now; workers inherit this state
    _CHECKED.clear()
    loaded = _loaded(assignment, extra)
    part = parse_shard(shard)
    submissions, missing, warnings = collect(paths, read_roster(roster) if roster is not None else None)
    if part is not None:
        submissions = [s for s in submissions if shard_of(s.student, part[1]) == part[0]]
        missing = [m for m in missing if shard_of(m, part[1]) == part[0]]
    a = loaded.assignment
    book = Gradebook(a.name, a.title, a.pass_mark, a.due_utc(), [t.id for t in loaded.tasks], {t.id: t.points for t in loaded.tasks},
                     missing=sorted(missing, key=str.casefold), warnings=warnings, shard=shard)
    # Every learner's scratch directory lives in this one, removed once every worker has ended: a worker
    # stopped by Ctrl-C (or killed when it did not stop in time) leaves nothing behind.
    scratch_root = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    try:
        work: list[Job] = [(assignment, extra, s, timeout, reuse, scratch_root) for s in submissions]
        workers = max(1, min(jobs or os.cpu_count() or 1, len(work)))
        entries = [_grade_job(job) for job in work] if workers == 1 else _in_pool(work, workers)
    finally:
        remove_tree(scratch_root)
    book.rows = sorted((finish(e, book) for e in entries), key=lambda e: e.student.casefold())
    book.warnings += [f"{e.student}: {note}" for e in book.rows for note in e.notes]
    return book
