"""Every comparison design over real storage; faults and crashes of real processes."""

from __future__ import annotations

import random
import threading

import pytest
from counter_fixtures import redis_url  # noqa: F401

from learnbackend.counter.designs import DESIGNS, make_design
from learnbackend.counter.designs.pncounter import pn_merge, pn_value
from learnbackend.counter.faults import FaultPlan, deliver
from learnbackend.counter.processes import DesignProcess
from learnbackend.counter.tokens import new_token


@pytest.mark.parametrize("name", list(DESIGNS))
def test_each_design_is_exact_without_faults(name, tmp_path, redis_url):
    design = make_design(name, tmp_path / name, redis_url=redis_url)
    try:
        threads = [threading.Thread(target=lambda: [design.add("c", 1, new_token()) for _ in range(50)])
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        design.settle()
        assert design.get("c") == 200
    finally:
        design.close()


@pytest.mark.parametrize("name", ["single-row", "sharded", "pn-counter", "event-log"])
def test_retries_with_the_same_token(name, tmp_path):
    rng = random.Random(1)
    design = make_design(name, tmp_path / name)
    plan = FaultPlan(lost_ack=0.2, duplicate=0.1, retries=50)
    try:
        acked = sum(deliver(design, "c", 1, plan, rng).acknowledged for _ in range(300))
        design.settle()
        counted = design.get("c")
    finally:
        design.close()
    assert acked == 300
    if design.idempotent:
        assert counted == 300, "the event log must never double-count a retried token"
    else:
        assert counted > 330, "non-idempotent designs double-count lost acks and duplicates"


def test_pn_merge_converges():
    a = {"r0": (5, 1)}
    b = {"r0": (3, 2), "r1": (4, 0)}
    assert pn_merge(a, b) == pn_merge(b, a) == {"r0": (5, 2), "r1": (4, 0)}
    assert pn_value(pn_merge(a, b)) == 7


def test_kill9_of_a_design_process(tmp_path):
    """In-memory aggregation loses its buffer; the event log loses nothing."""
    results = {}
    for name, options in [("in-memory", {"flush_s": 30.0}), ("event-log", {})]:
        proc = DesignProcess(name, tmp_path / name, options)
        for _ in range(100):
            proc.add("c", 1, new_token())
        proc.kill9()
        proc = DesignProcess(name, tmp_path / name, options)
        proc.add("c", 1, new_token())
        proc.settle()
        results[name] = proc.get("c")
        proc.close()
    assert results == {"in-memory": 1, "event-log": 101}
