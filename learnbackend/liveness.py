"""Is a process still alive? The test every reaper uses before removing what a run left behind."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """True if ``pid`` exists (even if it belongs to another user); False once it is gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, we may not signal it
        return True
    return True
