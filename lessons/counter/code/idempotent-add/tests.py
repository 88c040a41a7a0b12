"""Checks for the idempotent-add exercise (run by learnbackend's code checker; see docs/instructors.md)."""

from learnbackend.coding.remote import learner


def test_a_single_add_counts():
    c = learner.IdempotentCounter()
    assert c.add("views", 5, "t1") is True
    assert c.get("views") == 5


def test_a_replay_with_the_same_token_counts_once():
    c = learner.IdempotentCounter()
    for _ in range(3):
        c.add("views", 5, "t1")
    assert c.get("views") == 5, "three deliveries of token t1 must count once"


def test_a_replay_reports_false():
    c = learner.IdempotentCounter()
    assert c.add("views", 1, "t1") is True
    assert c.add("views", 1, "t1") is False, "add() must return False for a replay"


def test_different_tokens_all_count():
    c = learner.IdempotentCounter()
    for i in range(10):
        c.add("views", 1, f"t{i}")
    c.add("views", 1, "t3")
    assert c.get("views") == 10


def test_the_same_token_on_another_counter_counts():
    c = learner.IdempotentCounter()
    assert c.add("views", 1, "t1") is True
    assert c.add("likes", 1, "t1") is True, "tokens are scoped to their counter"
    c.add("likes", 1, "t1")
    assert (c.get("views"), c.get("likes")) == (1, 1), "tokens are scoped to their counter"


def test_negative_deltas_and_unknown_counters():
    c = learner.IdempotentCounter()
    c.add("stock", -3, "a")
    c.add("stock", -3, "a")
    assert c.get("stock") == -3
    assert c.get("never") == 0
