"""The check runner: every exercise of a workspace checked by its handler, scored, summarised.

Deterministic and non-interactive (CI runs it). Handlers run learner code in the
sandbox (:mod:`learnbackend.sandbox`), never in this process; a handler that crashes
turns into an ``error`` result for its exercise, not a crash of the run.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from learnbackend.course.catalog import Catalog
from learnbackend.course.handlers import handler_for
from learnbackend.course.results import ConditionResult, ExerciseResult
from learnbackend.errors import ContentError, EnvironmentMissing, ExitCode, LearnBackendError
from learnbackend.workspace.catalogcache import cached_catalog
from learnbackend.workspace.manifest import Manifest, WorkspaceExercise, load_manifest
from learnbackend.workspace.untouched import is_untouched

DEFAULT_TIMEOUT = 60.0
#: The state of an exercise whose files are still as `init` wrote them (reported as failed, 0 points).
NOT_STARTED = "not started"


def state_of(result: ExerciseResult) -> str:
    """The learner-facing state: not started, passed, failed, error or skipped."""
    return NOT_STARTED if result.details.get("state") == NOT_STARTED else result.status


@dataclass
class Outcome:
    """One exercise's result with its points."""

    spec: WorkspaceExercise
    result: ExerciseResult
    points: float

    @property
    def max_points(self) -> float:
        return self.spec.points


@dataclass
class CheckReport:
    """Everything ``check`` found, ready for the text, JSON and JUnit reporters."""

    root: Path
    manifest: Manifest
    pack_version: str
    student: str
    checked_at: datetime
    outcomes: list[Outcome] = field(default_factory=list)
    duration_s: float = 0.0

    def count(self, status: str) -> int:
        """How many exercises have ``status`` (passed, failed, error, skipped: the report's vocabulary)."""
        return sum(o.result.status == status for o in self.outcomes)

    def count_state(self, state: str) -> int:
        """How many exercises are in the learner-facing ``state`` (see :func:`state_of`)."""
        return sum(state_of(o.result) == state for o in self.outcomes)

    @property
    def points(self) -> float:
        return round(sum(o.points for o in self.outcomes), 2)

    @property
    def max_points(self) -> float:
        return round(sum(o.max_points for o in self.outcomes), 2)

    @property
    def percent(self) -> float:
        return round(100 * self.points / self.max_points, 1) if self.max_points else 0.0

    @property
    def pass_mark_reached(self) -> bool:
        return self.percent >= self.manifest.scoring.pass_mark

    @property
    def missing_environment(self) -> bool:
        return any(o.result.missing_environment for o in self.outcomes)

    @property
    def late(self) -> bool | None:
        due = self.manifest.scoring.due
        return None if due is None else self.checked_at > due

    @property
    def exit_code(self) -> ExitCode:
        """1 if any exercise failed, else 3 if an environment was missing, else 0."""
        if any(o.result.status in ("failed", "error") and not o.result.missing_environment for o in self.outcomes):
            return ExitCode.CHECK_FAILED
        if self.missing_environment:
            return ExitCode.MISSING_ENVIRONMENT
        return ExitCode.OK


def workspace_catalog(manifest: Manifest, extra_dirs: list[Path] = (), *, root: Path | None = None) -> Catalog:  # type: ignore[assignment]
    """The lessons a workspace's exercises come from: bundled, its instructor dirs, and any extra.

    The manifest's dirs are relative to the workspace ``root`` (older workspaces hold absolute ones).
    A dir that is not there (a clone on another machine) is skipped when ``extra_dirs``
    (``--lessons``, ``$LEARNBACKEND_LESSONS``) are given, and named otherwise.
    """
    dirs: list[Path] = []
    for raw in manifest.lesson_dirs:
        directory = Path(raw)
        if not directory.is_absolute() and root is not None:
            directory = root / directory
        if directory.is_dir():
            dirs.append(directory)
        elif not extra_dirs:
            raise ContentError(f"The workspace's lesson directory {raw} is not there ({directory}).",
                               fix="Pass your instructor's lessons with --lessons DIR (or $LEARNBACKEND_LESSONS).")
    return cached_catalog([*dirs, *extra_dirs])


def score(spec: WorkspaceExercise, result: ExerciseResult) -> float:
    """Points earned: all when passed, the weighted share of passed conditions when partial, else 0."""
    if result.status == "passed":
        return spec.points
    if result.status != "failed" or not spec.partial or not result.conditions:
        return 0.0
    weights = [spec.conditions.get(c.id, 1.0) for c in result.conditions]
    total = sum(weights)
    if total <= 0:
        return 0.0
    earned = sum(w for w, c in zip(weights, result.conditions, strict=True) if c.passed)
    return round(spec.points * earned / total, 2)


def check_time() -> datetime:
    """Now, or ``$SOURCE_DATE_EPOCH`` when set (reproducible reports; CI sets it to the commit time)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), timezone.utc)
    return datetime.now(timezone.utc).replace(microsecond=0)


def check_one(root: Path, catalog: Catalog, spec: WorkspaceExercise, *, timeout: float, hidden: bool = False) -> ExerciseResult:
    """Check one exercise; a crashing or missing checker becomes an ``error`` result.

    ``hidden``: also run the exercise's hidden tests (the instructor's regrade only), for handlers that have them.
    """
    started = time.perf_counter()
    entry, exercise = catalog.exercise(spec.id)
    workdir = root / spec.path
    unsafe = _unsafe_workdir(root, spec)
    if unsafe is not None:
        return unsafe
    if not workdir.is_dir():
        return ExerciseResult(spec.id, "error", f"The directory {spec.path}/ is missing.", module=spec.module,
                              conditions=[ConditionResult("workdir", False, "the exercise directory exists", spec.path, "missing",
                                                          f"Run `learnbackend reset {spec.id}` to recreate it.")])
    if is_untouched(entry, exercise, workdir):
        return ExerciseResult(spec.id, "failed", f"Not started: the files in {spec.path}/ are as `init` wrote them.",
                              module=spec.module, details={"state": NOT_STARTED})
    try:
        check = handler_for(exercise.kind).check
        # The one place hidden tests are asked for: handlers that have them take `include_hidden`.
        extra = {"include_hidden": True} if hidden and "include_hidden" in inspect.signature(check).parameters else {}
        result = check(entry, exercise, workdir, timeout=timeout, **extra)
    except EnvironmentMissing as exc:
        result = ExerciseResult(spec.id, "error", exc.message + (f" ({exc.fix})" if exc.fix else ""), module=spec.module,
                                missing_environment=True)
    except LearnBackendError as exc:
        result = ExerciseResult(spec.id, "error", exc.message, module=spec.module)
    except Exception as exc:  # noqa: BLE001 - a checker bug must not stop the other exercises
        result = ExerciseResult(spec.id, "error", f"The checker crashed: {type(exc).__name__}: {exc}", module=spec.module)
    result.id = spec.id
    result.module = result.module or spec.module
    if not result.duration_s:
        result.duration_s = round(time.perf_counter() - started, 3)
    return result


def _unsafe_workdir(root: Path, spec: WorkspaceExercise) -> ExerciseResult | None:
    """An ``error`` result when the exercise directory is reached through a symlink (never followed)."""
    from learnbackend.workspace.safefiles import UnsafeFile, check_dir

    try:
        check_dir(root, spec.path)
    except UnsafeFile as exc:
        return ExerciseResult(spec.id, "error", exc.message, module=spec.module,
                              conditions=[ConditionResult("workdir", False, "the exercise directory is a real directory",
                                                          spec.path, "a link or not a directory", exc.fix or "")])
    except OSError:
        return None  # missing: reported below
    return None


def check_workspace(root: Path, *, only: list[str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                    extra_lesson_dirs: list[Path] = (), student: str | None = None,  # type: ignore[assignment]
                    on_result: Callable[[Outcome], None] | None = None, hidden: bool = False) -> CheckReport:
    """Check the exercises of the workspace at ``root`` (all, or ``only`` those ids), in manifest order.

    Bad input (a bad manifest, an unknown exercise) raises a ContentError/NotFoundError (exit 2)
    before any exercise is checked.
    """
    manifest = load_manifest(root)
    catalog = workspace_catalog(manifest, list(extra_lesson_dirs), root=root)
    specs = manifest.exercises
    if only:
        wanted = {manifest.exercise(item).id for item in only}
        specs = [s for s in specs if s.id in wanted]
    for spec in specs:
        catalog.exercise(spec.id)  # an exercise gone from the lessons is bad input: fail before checking
    report = CheckReport(root, manifest, catalog.pack_version, student if student else manifest.student, check_time())
    started = time.perf_counter()
    for spec in specs:
        result = check_one(root, catalog, spec, timeout=timeout, hidden=hidden)
        outcome = Outcome(spec, result, score(spec, result))
        report.outcomes.append(outcome)
        if on_result is not None:
            on_result(outcome)
    report.duration_s = round(time.perf_counter() - started, 3)
    return report


def record_progress(store: Any, report: CheckReport) -> None:
    """Record each checked exercise in the progress store, under the workspace's id."""
    for outcome in report.outcomes:
        result = outcome.result
        store.record(result.module or outcome.spec.module, result.id, state_of(result),
                     detail={"points": outcome.points, "message": result.message[:500]},
                     workspace=report.manifest.workspace_id)
