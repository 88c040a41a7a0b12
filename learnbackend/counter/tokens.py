"""Idempotency tokens: ``{token: random UUID, generation_time: client clock}``.

A retry or a hedged request carries the *same* token, so the event log can
recognise it and count it once. Times are integers in microseconds since the
epoch everywhere in the engine (exact, cheap to compare and to store).
"""

from __future__ import annotations

import math
import os
import time
import uuid
import zlib
from dataclasses import dataclass

from learnbackend.errors import UsageError

US = 1_000_000
#: No event time reaches this (year 148,000); also the "forever" bound of accurate reads.
MAX_TIME_US = 1 << 62
TOKEN_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))  # printable ASCII, no spaces


class InvalidTime(UsageError):
    """A generation time that is not a time: not finite, not positive, or too far ahead of the server."""


class InvalidToken(UsageError):
    """A token string that cannot be an idempotency key."""


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
    token = check_token(raw.get("token"))
    gen = raw.get("generation_time")
    return Token(token, default_time if gen is None else time_us(gen))


def check_token(value: object) -> str:
    """A token string of 8-64 printable ASCII characters (it becomes part of a stored key)."""
    if not isinstance(value, str) or not 8 <= len(value) <= 64 or not TOKEN_CHARS.issuperset(value):
        raise InvalidToken("The idempotency token must be 8-64 printable ASCII characters.",
                           fix="Send a random UUID, the same one on every retry.")
    return value


def time_us(value: object) -> int:
    """A generation time (seconds, or microseconds when >= 1e11) as integer microseconds, checked.

    Every value is checked *before* its row joins a shared write batch, so an
    absurd time (1e19, 1e300, Infinity) fails only its own request.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTime("generation_time must be a number (seconds or microseconds since the epoch).")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidTime(f"generation_time {value} is not a time.", fix="Send the client clock, e.g. time.time().")
    if value <= 0 or value >= MAX_TIME_US:
        raise InvalidTime(f"generation_time {value} is out of range.", fix="Send the client clock, e.g. time.time().")
    us = int(value * US) if value < 1e11 else int(value)
    if not 0 < us < MAX_TIME_US:
        raise InvalidTime(f"generation_time {value} is out of range.", fix="Send the client clock, e.g. time.time().")
    return us
