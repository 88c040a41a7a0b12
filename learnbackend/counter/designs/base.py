"""What every design offers to the load, fault and chaos drivers."""

from __future__ import annotations

from typing import Protocol

from learnbackend.counter.tokens import Token


class Design(Protocol):
    """A counter implementation. ``add`` returning means acknowledged."""

    name: str
    #: True when a replay of the same token is counted once.
    idempotent: bool

    def add(self, counter: str, delta: int, token: Token) -> None:
        """Apply one increment (raising means not acknowledged)."""

    def get(self, counter: str) -> int:
        """The count the design reports now."""

    def settle(self) -> None:
        """Finish background work (flushes, rollups) so ``get`` is final."""

    def close(self) -> None:
        """Release files, threads and connections."""
