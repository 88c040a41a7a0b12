"""The progress store: one SQLite file, safe for concurrent writers and crashes.

WAL mode plus ``BEGIN IMMEDIATE`` transactions make two processes writing at
once serialize instead of failing, and a ``kill -9`` mid-write leaves either the
old or the new state (SQLite's atomic commit). A file that is not a readable
database is moved aside and a fresh one started; the warning is returned to the
caller (engines do not print).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace TEXT NOT NULL DEFAULT '',
    module TEXT NOT NULL,
    exercise_id TEXT NOT NULL,
    outcome TEXT NOT NULL,            -- passed | failed | error | skipped
    detail TEXT NOT NULL DEFAULT '{}',-- JSON
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_exercise ON attempts (workspace, exercise_id, at);
CREATE TABLE IF NOT EXISTS status (
    workspace TEXT NOT NULL DEFAULT '',
    module TEXT NOT NULL,
    exercise_id TEXT NOT NULL,
    state TEXT NOT NULL,              -- passed | failed | started
    updated_at REAL NOT NULL,
    PRIMARY KEY (workspace, exercise_id)
);
CREATE TABLE IF NOT EXISTS cards (
    exercise_id TEXT PRIMARY KEY,
    card TEXT NOT NULL,               -- the scheduler's card, as JSON
    due REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
    workspace TEXT NOT NULL DEFAULT '',
    key TEXT NOT NULL,
    value TEXT NOT NULL,              -- JSON
    PRIMARY KEY (workspace, key)
);
"""


@dataclass(frozen=True)
class Attempt:
    module: str
    exercise_id: str
    outcome: str
    at: float
    detail: dict[str, Any] = field(default_factory=dict)


class ProgressStore:
    """All of a learner's progress. Open with :meth:`open`; use as a context manager."""

    def __init__(self, path: Path, connection: sqlite3.Connection, warnings: list[str]) -> None:
        self.path = path
        self._db = connection
        self.warnings = warnings

    # --- opening -------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, *, timeout: float = 30.0) -> ProgressStore:
        """Open (creating if needed) the store at ``path``; a damaged file is moved aside."""
        path.parent.mkdir(parents=True, exist_ok=True)
        warnings: list[str] = []
        try:
            db = cls._connect(path, timeout)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise
            aside = cls._move_aside(path)
            warnings.append(
                f"The progress file {path} was damaged ({exc}); it was moved to {aside.name} and a fresh one started."
            )
            db = cls._connect(path, timeout)
        return cls(path, db, warnings)

    @staticmethod
    def _connect(path: Path, timeout: float) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            # A damaged file usually fails here; a subtly damaged one fails quick_check.
            mode = _enable_wal(db, timeout)
            if mode.lower() != "wal":  # e.g. a network filesystem: still safe, just slower
                db.execute("PRAGMA journal_mode = DELETE")
            db.execute("PRAGMA synchronous = FULL")
            ok = db.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {ok}")
            with _immediate(db):
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is None:
                    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                elif int(row[0]) > SCHEMA_VERSION:
                    raise sqlite3.DatabaseError("written by a newer learnbackend")
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _move_aside(path: Path) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = path.with_name(f"{path.name}.damaged-{stamp}")
        n = 1
        while aside.exists():
            aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
            n += 1
        path.rename(aside)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.rename(aside.with_name(aside.name + suffix))
        return aside

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------
    def record(self, module: str, exercise_id: str, outcome: str, *, detail: dict[str, Any] | None = None,
               workspace: str = "", at: float | None = None) -> None:
        """Record one attempt and update the exercise's status, in one transaction."""
        now = time.time() if at is None else at
        with _immediate(self._db):
            self._db.execute(
                "INSERT INTO attempts (workspace, module, exercise_id, outcome, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
                (workspace, module, exercise_id, outcome, json.dumps(detail or {}), now),
            )
            state = "passed" if outcome == "passed" else "failed" if outcome in ("failed", "error") else "started"
            # A pass is never downgraded by a later failed attempt in status; attempts keep the history.
            self._db.execute(
                """INSERT INTO status (workspace, module, exercise_id, state, updated_at) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (workspace, exercise_id) DO UPDATE SET
                     state = CASE WHEN status.state = 'passed' AND excluded.state != 'passed' THEN 'passed' ELSE excluded.state END,
                     updated_at = excluded.updated_at""",
                (workspace, module, exercise_id, state, now),
            )
            # "Continue where you left off" on the home screen.
            self._db.execute(
                "INSERT INTO kv (workspace, key, value) VALUES (?, 'last_module', ?) "
                "ON CONFLICT (workspace, key) DO UPDATE SET value = excluded.value",
                (workspace, json.dumps(module)),
            )

    def save_card(self, exercise_id: str, card: dict[str, Any], due: float) -> None:
        with _immediate(self._db):
            self._db.execute(
                "INSERT INTO cards (exercise_id, card, due) VALUES (?, ?, ?) "
                "ON CONFLICT (exercise_id) DO UPDATE SET card = excluded.card, due = excluded.due",
                (exercise_id, json.dumps(card), due),
            )

    def set_value(self, key: str, value: Any, *, workspace: str = "") -> None:
        with _immediate(self._db):
            self._db.execute(
                "INSERT INTO kv (workspace, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (workspace, key) DO UPDATE SET value = excluded.value",
                (workspace, key, json.dumps(value)),
            )

    def reset(self, *, module: str | None = None, workspace: str | None = None) -> int:
        """Delete progress (all, or one module's / one workspace's). Returns attempts removed."""
        clauses, params = [], []
        if module:
            clauses.append("module = ?")
            params.append(module)
        if workspace is not None:
            clauses.append("workspace = ?")
            params.append(workspace)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        with _immediate(self._db):
            removed = self._db.execute(f"DELETE FROM attempts{where}", params).rowcount
            self._db.execute(f"DELETE FROM status{where}", params)
            if module in (None, "roadmap") and workspace in (None, ""):
                self._db.execute("DELETE FROM cards")
            if not clauses:
                self._db.execute("DELETE FROM kv")
            elif module:
                self._db.execute("DELETE FROM kv WHERE key LIKE ?", (f"{module}.%",))
        return removed

    # --- reading ---------------------------------------------------------------------
    def attempts(self, *, module: str | None = None, exercise_id: str | None = None, workspace: str = "") -> list[Attempt]:
        sql = "SELECT module, exercise_id, outcome, at, detail FROM attempts WHERE workspace = ?"
        params: list[Any] = [workspace]
        if module:
            sql += " AND module = ?"
            params.append(module)
        if exercise_id:
            sql += " AND exercise_id = ?"
            params.append(exercise_id)
        rows = self._db.execute(sql + " ORDER BY at, id", params).fetchall()
        return [Attempt(m, e, o, a, _loads(d, dict, {})) for m, e, o, a, d in rows]

    def statuses(self, *, module: str | None = None, workspace: str | None = "") -> dict[str, str]:
        """Each exercise's state, in one workspace ("" = the modules' own flows) or, with None, in any:
        then an exercise passed anywhere counts as passed."""
        if workspace is None:
            sql = ("SELECT exercise_id, CASE WHEN SUM(state = 'passed') > 0 THEN 'passed' "
                   "WHEN SUM(state = 'failed') > 0 THEN 'failed' ELSE MAX(state) END FROM status WHERE 1 = 1")
            params: list[Any] = []
        else:
            sql = "SELECT exercise_id, state FROM status WHERE workspace = ?"
            params = [workspace]
        if module:
            sql += " AND module = ?"
            params.append(module)
        if workspace is None:
            sql += " GROUP BY exercise_id"
        return dict(self._db.execute(sql, params).fetchall())

    def last_outcomes(self, *, module: str | None = None, workspace: str = "") -> dict[str, str]:
        """The outcome of the most recent attempt of each exercise."""
        sql = """SELECT exercise_id, outcome FROM attempts a WHERE workspace = ? {m}
                 AND id = (SELECT MAX(id) FROM attempts b WHERE b.workspace = a.workspace AND b.exercise_id = a.exercise_id)"""
        params: list[Any] = [workspace]
        sql = sql.format(m="AND module = ?" if module else "")
        if module:
            params.append(module)
        return dict(self._db.execute(sql, params).fetchall())

    def cards(self) -> dict[str, tuple[dict[str, Any], float]]:
        """The scheduler's cards; a damaged row (not a JSON object, no numeric due) is left out."""
        rows = self._db.execute("SELECT exercise_id, card, due FROM cards").fetchall()
        cards = {}
        for exercise_id, card, due in rows:
            data = _loads(card, dict, None)
            if data is not None and isinstance(due, (int, float)) and not isinstance(due, bool):
                cards[str(exercise_id)] = (data, float(due))
        return cards

    def get_value(self, key: str, default: Any = None, *, workspace: str = "", kind: type = object) -> Any:
        """The stored value, or ``default`` when there is none, it is not valid JSON, or not of ``kind``."""
        row = self._db.execute("SELECT value FROM kv WHERE workspace = ? AND key = ?", (workspace, key)).fetchone()
        return _loads(row[0], kind, default) if row else default

    def get_int(self, key: str, default: int = 0, *, workspace: str = "") -> int:
        """A stored counter; ``default`` when it is missing or not a whole number (a damaged or edited store)."""
        value = self.get_value(key, default, workspace=workspace, kind=int)
        return value if not isinstance(value, bool) else default

    def summary(self, *, workspace: str = "") -> dict[str, dict[str, int]]:
        """Per module: how many exercises passed, failed, started; attempts made."""
        result: dict[str, dict[str, int]] = {}
        for module, state, count in self._db.execute(
            "SELECT module, state, COUNT(*) FROM status WHERE workspace = ? GROUP BY module, state", (workspace,)
        ):
            result.setdefault(module, {"passed": 0, "failed": 0, "started": 0, "attempts": 0})[state] = count
        for module, count in self._db.execute(
            "SELECT module, COUNT(*) FROM attempts WHERE workspace = ? GROUP BY module", (workspace,)
        ):
            result.setdefault(module, {"passed": 0, "failed": 0, "started": 0, "attempts": 0})["attempts"] = count
        return result


def _loads(text: Any, kind: type, default: Any) -> Any:
    """JSON from the store, or ``default`` when a row is damaged: never an exception for a reader."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return default
    return value if isinstance(value, kind) else default


def _enable_wal(db: sqlite3.Connection, timeout: float) -> str:
    """Switch to WAL; returns the journal mode in force.

    Switching modes needs an exclusive lock and SQLite does not always wait for it
    (two processes creating the file at once get "database is locked" at once),
    so we retry until ``timeout``. Once WAL is set it persists in the file.
    """
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            current = db.execute("PRAGMA journal_mode").fetchone()[0]
            if str(current).lower() == "wal":
                return "wal"
            return str(db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


@contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the write lock up front (no deadlock on upgrade)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    else:
        db.execute("COMMIT")
