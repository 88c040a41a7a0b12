"""What an exercise's test file imports: ``learner`` (the learner's module, in its worker) and ``raises``.

    from learnbackend.coding.remote import learner, raises

    def test_a_replay_counts_once():
        c = learner.IdempotentCounter()          # built in the worker; c is a handle
        c.add("views", 5, "t1")
        c.add("views", 5, "t1")
        assert c.get("views") == 5               # 5 is a plain int, decoded in the checker

Each test runs against a fresh worker (a new process that imported the learner's
file), so no state leaks between tests. Every value the learner's code returns
arrives as plain data; see :mod:`learnbackend.coding.protocol`.
"""

from __future__ import annotations

import re
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any

from learnbackend.coding.protocol import LearnerError, RemoteObject, WorkerGone

if TYPE_CHECKING:
    from learnbackend.coding.session import WorkerSession

__all__ = ["LearnerError", "RemoteObject", "learner", "raises"]

#: The session of the test running in this thread (per thread: exercises may be checked in parallel).
_current: ContextVar[WorkerSession | None] = ContextVar("learnbackend_code_session", default=None)


def current_session() -> WorkerSession:
    session = _current.get()
    if session is None:
        raise RuntimeError("`learner` is only available while learnbackend's code checker runs a test")
    return session


class using:
    """Context manager: make ``session`` the one ``learner`` talks to in this thread (set per test)."""

    def __init__(self, session: WorkerSession) -> None:
        self.session = session
        self._token: Token[WorkerSession | None] | None = None

    def __enter__(self) -> WorkerSession:
        self._token = _current.set(self.session)
        return self.session

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _current.reset(self._token)


class _LearnerModule:
    """The learner's module: ``learner.name`` reads a module attribute (a value, or a callable proxy)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return current_session().getattr(0, name)

    def __repr__(self) -> str:
        return "<the learner's module>"


learner = _LearnerModule()


class raises:
    """``with raises(ValueError):`` passes when the learner's code raises that exception (by built-in type).

    A worker that exited or timed out is never an expected exception. ``match`` is a
    regular expression searched in the exception's message.
    """

    def __init__(self, expected: type[BaseException] | tuple[type[BaseException], ...], match: str | None = None) -> None:
        self.expected = expected
        self.match = match
        self.value: BaseException | None = None

    def __enter__(self) -> raises:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        names = ", ".join(e.__name__ for e in (self.expected if isinstance(self.expected, tuple) else (self.expected,)))
        if exc is None:
            raise AssertionError(f"expected {names} to be raised, but nothing was raised")
        if isinstance(exc, WorkerGone) or not isinstance(exc, self.expected):
            return False
        if self.match is not None and not re.search(self.match, str(exc)):
            raise AssertionError(f"{names} was raised, but its message {str(exc)!r} does not match {self.match!r}")
        self.value = exc
        return True
