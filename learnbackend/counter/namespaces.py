"""Namespaces: each one picks a counter type and the rollup settings of its counters."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Literal

from learnbackend.errors import UsageError

CounterType = Literal["best_effort", "eventual", "accurate"]
COUNTER_TYPES: tuple[str, ...] = ("best_effort", "eventual", "accurate")
NAME_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}\Z")  # \Z: "abc\n" is not a name
#: Larger deltas are refused as absurd (a bug or an attack, not a count).
MAX_DELTA = 1_000_000_000


@dataclass(frozen=True)
class NamespaceConfig:
    """A namespace's counter type and the settings of its event log and rollup.

    The defaults are Netflix's published example scaled to a laptop: 4 event
    buckets, 600 s time buckets, accept_limit 5 s, 7 days retention.
    """

    name: str
    type: str = "eventual"
    accept_limit_s: float = 5.0
    skew_margin_s: float = 1.0
    event_buckets: int = 4
    bucket_seconds: int = 600
    retention_s: float = 7 * 24 * 3600.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def lag_us(self) -> int:
        """How far behind now the immutable window ends: accept_limit plus the skew margin."""
        return int((self.accept_limit_s + self.skew_margin_s) * 1_000_000)

    @property
    def accept_us(self) -> int:
        return int(self.accept_limit_s * 1_000_000)

    @property
    def ahead_us(self) -> int:
        """How far ahead of this node's clock an event may be stamped: the same lag as the immutable window.

        Further ahead is a broken client clock (or an attack): accepted, such an event
        would be left out of eventual counts until its time comes, and a clear stamped
        ahead would erase adds acknowledged after it.
        """
        return self.lag_us

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def check_name(value: str, what: str) -> str:
    """A valid namespace or counter name, or a UsageError saying what is allowed."""
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise UsageError(f"Invalid {what} name {value!r}.",
                         fix="Use 1-128 characters: letters, digits, '_', '.', ':' or '-', starting with a letter or digit.")
    return value


def check_config(config: NamespaceConfig) -> NamespaceConfig:
    """Validate a namespace configuration; raises UsageError with the fix."""
    check_name(config.name, "namespace")
    if config.type not in COUNTER_TYPES:
        raise UsageError(f"Unknown counter type {config.type!r}.", fix=f"Use one of: {', '.join(COUNTER_TYPES)}.")
    if config.accept_limit_s < 0 or config.skew_margin_s < 0:
        raise UsageError("accept_limit and skew margin must be >= 0.")
    if not 1 <= config.event_buckets <= 1024 or config.bucket_seconds < 1:
        raise UsageError("event_buckets must be 1..1024 and bucket_seconds >= 1.")
    return config


def check_delta(delta: int) -> int:
    """A delta within ±MAX_DELTA."""
    if abs(delta) > MAX_DELTA:
        raise UsageError(f"Delta {delta} is absurd (more than {MAX_DELTA:,} in one request).",
                         fix="Send counts in smaller steps.")
    return delta
