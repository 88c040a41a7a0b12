"""Run an exercise's tests in the checker against the learner's module in sandboxed workers.

Each test gets a fresh module: the worker re-runs the learner's compiled source
in a new module object (objects of earlier tests are dropped), and a worker that
exited, crashed, timed out or sent a garbled answer is replaced by a new
sandboxed process. One process per exercise costs about a fifth of one process
per test (bench/bench_code_check.py); ``fresh_process=True`` gives the latter.
The verdict of each test is what its assertions, evaluated here on decoded plain
values, say; nothing the worker prints or writes is read.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from learnbackend.coding.protocol import LearnerError, LearnerExited, ProtocolError, WorkerTimeout, clean
from learnbackend.coding.remote import using
from learnbackend.coding.session import WorkerSession
from learnbackend.coding.testfile import TestCase
from learnbackend.errors import LearnBackendError


@dataclass
class TestOutcome:
    """One test's verdict."""

    case: TestCase
    passed: bool
    message: str = ""


@dataclass
class RunOutcome:
    """Every test's verdict, or why the run could not complete."""

    outcomes: list[TestOutcome] = field(default_factory=list)
    #: Set when the learner's module does not import (every test then fails with it).
    import_error: str | None = None
    #: Set when the time budget ran out; the tests after it did not run.
    timed_out: bool = False
    stderr_tail: str = ""
    duration_s: float = 0.0
    budget_s: float = 0.0


def _describe_error(exc: LearnerError) -> str:
    where = f" (at {exc.where[-1]})" if getattr(exc, "where", None) else ""
    text = str(exc)
    return f"your code raised {exc.type_name}" + (f": {text}" if text else "") + where


def run_tests(tests: list[TestCase], source: bytes, module_file: str, *, budget_s: float,
              fresh_process: bool = False) -> RunOutcome:
    """Run ``tests`` against ``source`` (saved as ``module_file`` in a fresh directory) within ``budget_s``.

    Each test gets a fresh module: re-run in the same worker (``reset``), or in a new worker
    when the previous one is gone (exit, crash, garbled answer) or ``fresh_process`` is set.
    """
    started = time.monotonic()
    deadline = started + budget_s
    outcome = RunOutcome(budget_s=budget_s)
    run_dir = Path(tempfile.mkdtemp(prefix="learnbackend-code-"))
    sessions: list[WorkerSession] = []
    try:
        # Only the learner's file: the reference solution and the tests are never in the worker's reach.
        (run_dir / module_file).write_bytes(source)
        run_dir.chmod(0o755)
        (run_dir / module_file).chmod(0o644)

        def spawn() -> WorkerSession:
            session = WorkerSession(run_dir, module_file, deadline=deadline)
            sessions.append(session)
            return session

        session: WorkerSession | None = None
        for index, case in enumerate(tests):
            try:
                state: dict[str, object] = {}
                if session is not None and session.alive and not fresh_process:
                    try:
                        state = session.reset()
                    except (LearnerExited, ProtocolError):  # gone, or garbled by the last test's code
                        session.close()
                        session = None
                if session is None or not session.alive or fresh_process:
                    session = spawn()
                    state = session.ready()
                if state.get("ready") is not True:
                    problem = _import_problem(state)
                    if index == 0:  # the module never imports: every test fails with that
                        outcome.import_error = problem
                        break
                    session.close()
                    outcome.outcomes.append(TestOutcome(case, False, problem))
                    continue
                with using(session):
                    case.function()
                outcome.outcomes.append(TestOutcome(case, True))
            except AssertionError as exc:
                outcome.outcomes.append(TestOutcome(case, False, str(exc) or "an assertion failed"))
            except WorkerTimeout:
                outcome.timed_out = True
                if session is not None:
                    outcome.stderr_tail = session.stderr_tail().replace(f"{run_dir}/", "")
                break
            except (LearnerExited, ProtocolError) as exc:
                if session is not None:
                    session.close()  # never reused after a garbled or missing answer
                outcome.outcomes.append(TestOutcome(case, False, str(exc)))
            except LearnerError as exc:
                outcome.outcomes.append(TestOutcome(case, False, _describe_error(exc)))
            except LearnBackendError:
                raise  # the sandbox cannot run here (exit 3 with its reason): not the learner's failure
            except Exception as exc:  # noqa: BLE001 - e.g. a test compares a None the learner returned with an int
                outcome.outcomes.append(TestOutcome(case, False, clean(f"{type(exc).__name__}: {exc}", 400)))
            finally:
                if fresh_process and session is not None:
                    session.close()
        if outcome.import_error is not None:
            outcome.outcomes = [TestOutcome(case, False, outcome.import_error) for case in tests]
    finally:
        for worker in sessions:
            try:
                worker.close()
            except Exception:  # noqa: BLE001, S110 - cleanup of a worker that is already gone
                pass
        shutil.rmtree(run_dir, ignore_errors=True)
    outcome.duration_s = time.monotonic() - started
    return outcome


def _import_problem(state: dict[str, object]) -> str:
    if "exited_message" in state:
        return clean(str(state["exited_message"]), 300)
    if "exited" in state:
        return f"your code exited while it was imported (sys.exit({clean(str(state['exited']), 100)}))"
    error = state.get("import_error")
    if not isinstance(error, dict):
        return "your module could not be imported"
    where = error.get("where")
    at = f" (at {clean(str(where[-1]), 200)})" if isinstance(where, list) and where else ""
    return f"your module does not import: {clean(str(error.get('type')), 100)}: {clean(str(error.get('message')), 300)}{at}"
