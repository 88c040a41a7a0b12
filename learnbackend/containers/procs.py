"""Child processes that die with the lab: the parent-death signal, set in the child before exec."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def set_parent_death_signal(parent: int) -> bool:
    """In a child: get SIGKILL when ``parent`` dies (even by SIGKILL). False when it is gone already
    (nobody would kill us later); True off Linux, where nothing can be set."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    return os.getppid() == parent


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` making the child get SIGKILL when this process dies (even by SIGKILL); None off Linux.

    Only for a parent without threads (a fork copies one thread). A child of a threaded
    process calls :func:`set_parent_death_signal` itself, first thing.
    """
    if _LIBC is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        if not set_parent_death_signal(parent):
            os._exit(1)

    return preexec
