"""Checks for the sharded-read exercise (run by learnbackend's code checker; see docs/instructors.md)."""

from learnbackend.coding.remote import learner, raises


def test_the_sum_over_shards_is_exact():
    c = learner.ShardedCounter(8, seed=1)
    for i in range(1000):
        c.add("hot", 1 if i % 4 else -1)
    assert c.read("hot") == 500


def test_adds_spread_over_every_shard():
    c = learner.ShardedCounter(8, seed=2)
    used = {c.add("hot", 1) for _ in range(400)}
    assert used == set(range(8)), "with 400 adds every one of 8 shards should be used"


def test_a_read_costs_one_row_per_shard():
    c = learner.ShardedCounter(16, seed=3)
    c.add("hot", 1)
    c.read("hot")
    assert c.rows_read == 16


def test_counters_do_not_mix():
    c = learner.ShardedCounter(4, seed=4)
    for _ in range(10):
        c.add("a", 1)
    c.add("b", 7)
    assert (c.read("a"), c.read("b"), c.read("never")) == (10, 7, 0)


def test_one_shard_is_the_single_row_design():
    c = learner.ShardedCounter(1, seed=5)
    assert {c.add("x", 2) for _ in range(5)} == {0}
    assert c.read("x") == 10


def test_zero_shards_is_refused():
    with raises(ValueError):
        learner.ShardedCounter(0, seed=6)
