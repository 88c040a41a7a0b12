"""Checks for the pn-merge exercise (run by learnbackend's code checker; see docs/instructors.md)."""

import itertools
import random

from learnbackend.coding.remote import learner


def _states():
    rng = random.Random(5)
    states = []
    for _ in range(4):
        s = {}
        for _ in range(10):
            s = learner.increment(s, rng.choice("abc"), rng.choice([1, 2, 5, -1, -3]))
        states.append(s)
    return states


def test_increment_and_value():
    s = learner.increment({}, "a", 5)
    s = learner.increment(s, "a", -2)
    s = learner.increment(s, "b", 1)
    assert s == {"a": (5, 2), "b": (1, 0)}
    assert learner.value(s) == 4


def test_increment_does_not_modify_its_input():
    s = {"a": (1, 0)}
    learner.increment(s, "a", 1)
    assert s == {"a": (1, 0)}


def test_merge_takes_the_element_wise_max():
    assert learner.merge({"a": (5, 1)}, {"a": (3, 4), "b": (2, 0)}) == {"a": (5, 4), "b": (2, 0)}


def test_merge_is_commutative_and_idempotent():
    for a, b in itertools.combinations(_states(), 2):
        assert learner.merge(a, b) == learner.merge(b, a)
        assert learner.merge(a, a) == a


def test_merge_is_associative():
    a, b, c, _ = _states()
    assert learner.merge(learner.merge(a, b), c) == learner.merge(a, learner.merge(b, c))


def test_replicas_converge_in_any_order():
    rng = random.Random(9)
    replicas = {r: {} for r in "abc"}
    for _ in range(60):
        r = rng.choice("abc")
        replicas[r] = learner.increment(replicas[r], r, rng.choice([1, -1, 3]))
    expected = learner.value({r: s[r] for r, s in replicas.items()})
    orders = list(itertools.permutations("abc"))
    results = set()
    for order in orders:
        merged = {}
        for r in order:
            merged = learner.merge(merged, replicas[r])
        results.add(learner.value(merged))
    assert results == {expected}
