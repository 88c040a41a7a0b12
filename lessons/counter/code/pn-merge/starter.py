"""Exercise: a PN-counter CRDT.

Each replica counts its own increments in P and its own decrements in N. A
state maps replica id -> (P, N). Replicas exchange states and merge them; the
merge must be commutative, associative and idempotent so that replicas
converge whatever order messages arrive in, and however often.
"""

from __future__ import annotations

State = dict[str, tuple[int, int]]


def increment(state: State, replica: str, delta: int) -> State:
    """A new state with ``delta`` applied by ``replica`` (negative deltas go to N, as a positive amount)."""
    # TODO
    raise NotImplementedError


def merge(a: State, b: State) -> State:
    """The merge of two states: for every replica, the element-wise max of (P, N)."""
    # TODO
    raise NotImplementedError


def value(state: State) -> int:
    """The counter's value: total P minus total N."""
    # TODO
    raise NotImplementedError
