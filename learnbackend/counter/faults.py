"""Client-side delivery over an unreliable network: lost requests, lost acks, duplicates.

The network is modelled (a random draw per attempt, seeded); the stores behind
the designs are real. A lost *ack* means the write happened but the client
does not know, which is exactly when a retry double-counts on a design that is
not idempotent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from learnbackend.counter.designs.base import Design
from learnbackend.counter.tokens import Token, new_token


@dataclass(frozen=True)
class FaultPlan:
    """Per-attempt fault probabilities and the client's retry policy."""

    lost_request: float = 0.0
    lost_ack: float = 0.0
    duplicate: float = 0.0
    retries: int = 0  # 0 = give up on a timeout; n = retry up to n times with the SAME token


@dataclass
class Delivery:
    """What happened to one increment."""

    acknowledged: bool
    applied_times: int
    attempts: int


def deliver(design: Design, counter: str, delta: int, plan: FaultPlan, rng: random.Random,
            token: Token | None = None) -> Delivery:
    """Send one increment the way a client would, through the faulty network."""
    token = token or new_token()
    applied = 0
    for attempt in range(1, plan.retries + 2):
        if rng.random() < plan.lost_request:
            continue  # the request never arrived: the client times out
        design.add(counter, delta, token)
        applied += 1
        if rng.random() < plan.duplicate:
            design.add(counter, delta, token)  # the network delivered it twice
            applied += 1
        if rng.random() < plan.lost_ack:
            continue  # applied, but the answer was lost: the client times out
        return Delivery(True, applied, attempt)
    return Delivery(False, applied, plan.retries + 1)
