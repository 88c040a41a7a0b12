"""A Hypothesis state machine against the real engine and a real SQLite file.

Any sequence of adds, retries (same token, even with another delta), late and
future-stamped adds, clears, rollups, clock jumps and restarts: the accurate
count, and the eventual count once rolled up, always equal what a simple model
of the *distinct acknowledged* events says. The engine's clock is the test's, so
the windows move only when the state machine moves them (no sleeps, no flakes).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from learnbackend.counter.counters import CounterEngine, EngineOptions
from learnbackend.counter.eventlog import LateEvent
from learnbackend.counter.namespaces import NamespaceConfig
from learnbackend.counter.tokens import InvalidTime, Token, new_token, now_us

NAMESPACES = {"acc": "accurate", "ev": "eventual"}
COUNTERS = ("a", "b:c")
ACCEPT_S, SKEW_S = 1.0, 0.5
TOKEN_ALPHABET = [chr(c) for c in range(0x21, 0x7F)]  # printable ASCII without the space, as tokens allow


class Clock:
    def __init__(self) -> None:
        self.t = now_us()

    def __call__(self) -> int:
        return self.t


class CounterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="counter-stateful-"))
        self.clock = Clock()
        self.engine: CounterEngine | None = None
        #: acknowledged events per counter: token -> (time, kind, delta); the first write of a token wins
        self.events: dict[tuple[str, str], dict[str, tuple[int, int, int]]] = {}
        self.sent: list[tuple[str, str, Token, int]] = []
        #: every token string acknowledged so far: the model tells events apart by token alone
        self.used: set[str] = set()

    def open(self) -> CounterEngine:
        return CounterEngine(self.dir / "c.db", options=EngineOptions(rollup="off"), clock=self.clock)

    @initialize()
    def start(self) -> None:
        self.engine = self.open()
        for name, kind in NAMESPACES.items():
            self.engine.create_namespace(NamespaceConfig(name, kind, accept_limit_s=ACCEPT_S, skew_margin_s=SKEW_S))

    def teardown(self) -> None:
        try:
            if self.engine is not None:
                self.clock.t += int((ACCEPT_S + SKEW_S) * 1e6) + 1  # everything is immutable now
                for ns in NAMESPACES:
                    for c in COUNTERS:
                        assert self._count_now(ns, c) == self.expected(ns, c)
                self.engine.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- the model ----------------------------------------------------------------------
    def expected(self, ns: str, c: str, upto: int | None = None) -> int:
        events = [e for e in self.events.get((ns, c), {}).values() if upto is None or e[0] <= upto]
        clears = [t for t, kind, _ in events if kind == 1]
        since = max(clears) if clears else -1
        return sum(d for t, kind, d in events if kind == 0 and t > since)

    def _ack(self, ns: str, c: str, token: Token, kind: int, delta: int) -> None:
        self.used.add(token.token)
        self.events.setdefault((ns, c), {}).setdefault(token.token, (token.generation_time, kind, delta))
        self.sent.append((ns, c, token, delta))

    def _count_now(self, ns: str, c: str) -> int:
        assert self.engine is not None
        if NAMESPACES[ns] == "eventual":
            return self.engine.rollup(ns, c).count
        return self.engine.get_count(ns, c).count

    # --- rules --------------------------------------------------------------------------
    @rule(ns=st.sampled_from(sorted(NAMESPACES)), c=st.sampled_from(COUNTERS), delta=st.integers(-5, 5))
    def add(self, ns: str, c: str, delta: int) -> None:
        assert self.engine is not None
        token = new_token(self.clock())
        self.engine.add_count(ns, c, delta, token)
        self._ack(ns, c, token, 0, delta)

    @rule(ns=st.sampled_from(sorted(NAMESPACES)), c=st.sampled_from(COUNTERS),
          chars=st.text(alphabet=TOKEN_ALPHABET, min_size=16, max_size=16), upper=st.booleans())
    def lookalikes(self, ns: str, c: str, chars: str, upper: bool) -> None:
        """Two distinct tokens in the same microsecond whose stored ids once met (16 characters and their hex
        spelling, or hex in both cases): two events."""
        assert self.engine is not None
        spelled = chars.encode().hex()
        pair = (spelled, spelled.upper()) if upper else (spelled, chars)
        assume(pair[0] != pair[1] and not any(text in self.used for text in pair))
        t = self.clock()
        for text in pair:
            token = Token(text, t)
            self.engine.add_count(ns, c, 1, token)
            self._ack(ns, c, token, 0, 1)

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data(), other_delta=st.booleans())
    def retry(self, data: st.DataObject, other_delta: bool) -> None:
        """A retry (or a hedged duplicate) of an acknowledged request: never counted twice, even when late."""
        assert self.engine is not None
        ns, c, token, delta = data.draw(st.sampled_from(self.sent))
        kind = self.events[(ns, c)][token.token][1]
        if kind == 1:
            self.engine.clear_count(ns, c, token)
        else:
            self.engine.add_count(ns, c, delta + (1 if other_delta else 0), token)

    @rule(ns=st.sampled_from(sorted(NAMESPACES)), c=st.sampled_from(COUNTERS))
    def clear(self, ns: str, c: str) -> None:
        assert self.engine is not None
        token = new_token(self.clock())
        self.engine.clear_count(ns, c, token)
        self._ack(ns, c, token, 1, 0)

    @rule(ns=st.sampled_from(sorted(NAMESPACES)), c=st.sampled_from(COUNTERS),
          age=st.floats(ACCEPT_S + 0.001, 3600), clear=st.booleans())
    def late(self, ns: str, c: str, age: float, clear: bool) -> None:
        assert self.engine is not None
        token = new_token(self.clock() - int(age * 1e6))
        with pytest.raises(LateEvent):
            if clear:
                self.engine.clear_count(ns, c, token)
            else:
                self.engine.add_count(ns, c, 1, token)

    @rule(ns=st.sampled_from(sorted(NAMESPACES)), c=st.sampled_from(COUNTERS),
          ahead=st.floats(ACCEPT_S + SKEW_S + 0.001, 1e9), clear=st.booleans())
    def from_the_future(self, ns: str, c: str, ahead: float, clear: bool) -> None:
        assert self.engine is not None
        token = new_token(self.clock() + int(ahead * 1e6))
        with pytest.raises(InvalidTime):
            if clear:
                self.engine.clear_count(ns, c, token)
            else:
                self.engine.add_count(ns, c, 1, token)

    @rule(us=st.integers(0, 2_000_000))
    def tick(self, us: int) -> None:
        self.clock.t += us

    @rule(ns=st.sampled_from(sorted(NAMESPACES)), c=st.sampled_from(COUNTERS))
    def rollup(self, ns: str, c: str) -> None:
        assert self.engine is not None
        result = self.engine.rollup(ns, c)
        assert result.count == self.expected(ns, c, upto=result.last_rollup_ts)

    @rule()
    def restart(self) -> None:
        assert self.engine is not None
        self.engine.close()
        self.engine = self.open()

    @invariant()
    def accurate_counts_are_exact(self) -> None:
        if self.engine is None:
            return
        for c in COUNTERS:
            assert self.engine.get_count("acc", c).count == self.expected("acc", c)


CounterMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=25, deadline=None,
                                            suppress_health_check=list(HealthCheck))
test_any_history_counts_distinct_acknowledged_events = CounterMachine.TestCase
