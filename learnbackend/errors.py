"""The user-facing errors and their exit codes, mapped in one place.

Every foreseeable problem (a bad lesson file, no Docker engine, a port in use,
a corrupted progress file) is raised as a subclass of :class:`LearnBackendError`
and turned into one message and one exit code by the root CLI. Tracebacks are
shown only with ``--debug``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The process exit codes of the command-line contract (PRODUCT.md)."""

    OK = 0
    CHECK_FAILED = 1
    BAD_INPUT = 2
    MISSING_ENVIRONMENT = 3
    INTERNAL_ERROR = 70
    INTERRUPTED = 130


class LearnBackendError(Exception):
    """Base of every error the user is meant to read.

    ``message`` is plain text (never Rich markup); ``fix`` optionally tells the
    user what to do about it.
    """

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class UsageError(LearnBackendError):
    """Bad arguments or a request that cannot be satisfied as asked."""

    exit_code = ExitCode.BAD_INPUT


class ContentError(LearnBackendError):
    """A lesson, exercise or assignment file is invalid."""

    exit_code = ExitCode.BAD_INPUT


class NotFoundError(LearnBackendError):
    """A lesson, exercise, level or workspace named by the user does not exist."""

    exit_code = ExitCode.BAD_INPUT


class EnvironmentMissing(LearnBackendError):
    """A required engine or tool is absent: Docker, git, QEMU, Redis..."""

    exit_code = ExitCode.MISSING_ENVIRONMENT


class CheckFailed(LearnBackendError):
    """A check or exercise did not pass."""

    exit_code = ExitCode.CHECK_FAILED


class NoTerminal(UsageError):
    """An interactive prompt was needed but there is no terminal to ask on."""

    def __init__(self, what: str, *, fix: str | None = None) -> None:
        super().__init__(
            f"{what} needs an answer, but there is no terminal to ask on.",
            fix=fix or "Run it in a terminal, or pass the answers with flags or an answers file.",
        )


class RefusedError(UsageError):
    """An operation was refused because it would be unsafe (a security boundary)."""
