"""Checks for the token-retention exercise (run by learnbackend's code checker; see docs/instructors.md)."""

from learnbackend.coding.remote import learner


def test_new_then_duplicate():
    d = learner.TokenDedup(retention=60)
    assert d.admit("t1", 100.0, 100.0) == "new"
    assert d.admit("t1", 100.0, 101.0) == "duplicate"


def test_a_remembered_token_stays_a_duplicate_even_when_old():
    d = learner.TokenDedup(retention=60)
    d.admit("t1", 100.0, 100.0)
    assert d.admit("t1", 100.0, 200.0) == "duplicate", "not purged yet: we still know it was counted"


def test_an_unknown_old_token_is_late():
    d = learner.TokenDedup(retention=60)
    assert d.admit("t9", 10.0, 100.0) == "late"
    assert "t9" not in d.seen, "a refused token must not be remembered"


def test_purge_forgets_only_old_tokens():
    d = learner.TokenDedup(retention=60)
    for i in range(10):
        d.admit(f"t{i}", 100.0 + i * 10, 100.0 + i * 10)
    forgotten = d.purge(now=200.0)
    assert forgotten == 4, "tokens generated at 100, 110, 120, 130 are older than 200 - 60"
    assert sorted(d.seen) == [f"t{i}" for i in range(4, 10)]


def test_after_purge_an_old_retry_is_late_not_new():
    d = learner.TokenDedup(retention=60)
    d.admit("t1", 100.0, 100.0)
    d.purge(now=500.0)
    assert d.admit("t1", 100.0, 500.0) == "late", "a retry older than retention must be refused, never recounted"


def test_memory_stays_bounded():
    d = learner.TokenDedup(retention=10)
    for second in range(1000):
        d.admit(f"t{second}", float(second), float(second))
        d.purge(float(second))
    assert len(d.seen) <= 11
