"""Exercise: a rollup over an immutable window.

A checkpoint is ``(count, last_rollup_ts)``. A rollup at time ``now`` may only
aggregate events with ``last_rollup_ts < time <= now - lag``: events older than
``now - lag`` can no longer arrive, so the window is immutable and any number
of rollups, in any order, agree.
"""

from __future__ import annotations

Event = tuple[int, int]  # (event_time, delta)
Checkpoint = tuple[int, int]  # (count, last_rollup_ts)


def rollup(checkpoint: Checkpoint, events: list[Event], now: int, lag: int) -> Checkpoint:
    """The new checkpoint after rolling up to ``now - lag``.

    - the window is ``(last_rollup_ts, now - lag]``: exclusive start, inclusive end;
    - when ``now - lag <= last_rollup_ts`` nothing changes (a checkpoint never moves backwards);
    - ``events`` may contain events of any time, in any order.
    """
    count, last = checkpoint
    # TODO: sum the deltas inside the window and move the checkpoint to its end
    raise NotImplementedError("rollup")
