"""Every exit cleans: SIGTERM and SIGHUP are turned into the same interruption as Ctrl-C.

Closing a terminal (SIGHUP), ``timeout``, an IDE's stop button or a CI cancel
(SIGTERM) would otherwise end the process without running a single ``finally``:
containers and QEMU guests would be left behind. Inside :func:`cleanup_on_signals`
those signals raise :class:`Interrupted` (a ``KeyboardInterrupt``, so the CLI exits
130 like after Ctrl-C); once one has arrived, further ones are ignored until the
cleanup has run.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A signal asked this command to stop; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_depth = 0


def _handler(signum: int, frame: FrameType | None) -> None:
    for sig in SIGNALS:  # the cleanup that follows must not be interrupted in turn
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signum)


@contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` inside; the previous handlers come back after.

    Re-entrant (only the outermost use installs and restores); a no-op outside the main thread.
    """
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}
    if _depth == 0:
        # A signal ignored on purpose (SIGHUP under nohup) stays ignored.
        previous = {sig: old for sig in SIGNALS if (old := signal.getsignal(sig)) is not signal.SIG_IGN}
        for sig in previous:
            signal.signal(sig, _handler)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            for sig, old in previous.items():
                signal.signal(sig, old)
