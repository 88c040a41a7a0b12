"""Idempotency tokens: ``{token: random UUID, generation_time: client clock}``.

A retry or a hedged request carries the *same* token, so the event log can
recognise it and count it once. Times are integers in microseconds since the
epoch everywhere in the engine (exact, cheap to compare and to store).
"""

from __future__ import annotations

import os
import time
import uuid
import zlib
from dataclasses import dataclass

US = 1_000_000


def now_us() -> int:
    """The wall clock in microseconds."""
    return time.time_ns() // 1000


@dataclass(frozen=True)
class Token:
    """An idempotency token as a client generates it."""

    token: str
    generation_time: int  # microseconds, the *client's* clock

    def bucket(self, buckets: int) -> int:
        """A stable event bucket for this token (crc32, not Python's salted hash)."""
        return zlib.crc32(self.token.encode()) % buckets


def new_token(clock_us: int | None = None) -> Token:
    """A fresh token stamped with the given (or the current) client clock."""
    return Token(uuid.UUID(bytes=os.urandom(16), version=4).hex, now_us() if clock_us is None else clock_us)


def parse_token(raw: dict[str, object] | None, *, default_time: int) -> Token:
    """A token from its wire form (``generation_time`` in seconds or microseconds)."""
    if not raw:
        return new_token(default_time)
    token = str(raw.get("token") or "")
    gen = raw.get("generation_time")
    if gen is None:
        gen_us = default_time
    else:
        value = float(gen)  # type: ignore[arg-type]
        gen_us = int(value * US) if value < 1e11 else int(value)
    return Token(token, gen_us)
