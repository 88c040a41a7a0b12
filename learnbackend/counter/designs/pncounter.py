"""PN-counter CRDT: each replica counts its own increments (P) and decrements (N).

Replicas merge by taking the element-wise max, so they converge whatever order
the merges happen in. But an increment is not idempotent: a retried request
that reaches a replica again (or another replica) is counted again.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from learnbackend.counter.store_sqlite import connect
from learnbackend.counter.tokens import Token

State = dict[str, tuple[int, int]]  # replica id -> (P, N)


def pn_merge(a: State, b: State) -> State:
    """Element-wise max of two states: commutative, associative, idempotent."""
    merged = dict(a)
    for node, (p, n) in b.items():
        mp, mn = merged.get(node, (0, 0))
        merged[node] = (max(mp, p), max(mn, n))
    return merged


def pn_value(state: State) -> int:
    """The counter's value: sum of P minus sum of N."""
    return sum(p for p, _ in state.values()) - sum(n for _, n in state.values())


class PNCounterDesign:
    idempotent = False

    def __init__(self, *, replicas: int = 3, delay_s: float = 0.0, path: Path | None = None) -> None:
        self.name = "pn-counter"
        self.delay_s = delay_s
        self.ids = [f"r{i}" for i in range(replicas)]
        # counter -> replica -> that replica's view of the whole state
        self.states: dict[str, dict[str, State]] = {}
        self.locks = {rid: threading.Lock() for rid in self.ids}
        self.db_lock = threading.Lock()
        self.conn = None
        if path is not None:  # each replica's own entry is durable: a restart reloads it
            self.conn = connect(path)
            self.conn.execute("CREATE TABLE IF NOT EXISTS pn (counter TEXT, replica TEXT, p INTEGER, n INTEGER,"
                              " PRIMARY KEY (counter, replica))")
            for counter, rid, p, n in self.conn.execute("SELECT counter, replica, p, n FROM pn").fetchall():
                views = self.states.setdefault(counter, {r: {} for r in self.ids})
                views[rid][rid] = (p, n)

    def add(self, counter: str, delta: int, token: Token) -> None:
        rid = random.choice(self.ids)  # a client reaches any replica
        with self.locks[rid]:
            if self.delay_s:
                time.sleep(self.delay_s)
            views = self.states.setdefault(counter, {r: {} for r in self.ids})
            own = views[rid]
            p, n = own.get(rid, (0, 0))
            own[rid] = (p + delta, n) if delta >= 0 else (p, n - delta)
            if self.conn is not None:
                with self.db_lock:
                    self.conn.execute("INSERT OR REPLACE INTO pn VALUES (?,?,?,?)", (counter, rid, *own[rid]))

    def gossip(self, counter: str) -> None:
        """Anti-entropy: every replica merges every other's state."""
        views = self.states.get(counter)
        if not views:
            return
        for rid in self.ids:
            with self.locks[rid]:
                snapshot = {r: dict(v) for r, v in views.items()}
                merged: State = {}
                for other in snapshot.values():
                    merged = pn_merge(merged, other)
                views[rid] = merged

    def get(self, counter: str) -> int:
        views = self.states.get(counter)
        if not views:
            return 0
        return pn_value(views[self.ids[0]])

    def settle(self) -> None:
        for counter in list(self.states):
            self.gossip(counter)

    def close(self) -> None:
        self.states.clear()
        if self.conn is not None:
            self.conn.close()
