"""Checks for the immutable-rollup exercise (run by learnbackend's code checker; see docs/instructors.md)."""

import random

from learnbackend.coding.remote import learner


def test_only_events_inside_the_window_count():
    events = [(5, 1), (10, 1), (11, 1), (20, 1), (25, 1)]
    assert learner.rollup((0, 5), events, now=25, lag=5) == (3, 20), "window (5, 20]: times 10, 11 and 20"


def test_the_checkpoint_never_moves_backwards():
    assert learner.rollup((7, 100), [(90, 1), (99, 1)], now=102, lag=5) == (7, 100)


def test_rolling_up_twice_at_the_same_time_changes_nothing():
    events = [(t, 1) for t in range(0, 100, 3)]
    once = learner.rollup((0, 0), events, now=100, lag=10)
    assert learner.rollup(once, events, now=100, lag=10) == once


def test_events_still_arriving_near_now_are_left_for_later():
    events = [(t, 1) for t in range(1, 51)]
    first = learner.rollup((0, 0), events, now=50, lag=10)
    assert first == (40, 40), "events after now - lag are not final yet"
    assert learner.rollup(first, events, now=60, lag=10) == (50, 50)


def test_racing_workers_converge():
    rng = random.Random(3)
    events = [(rng.randrange(1, 1000), rng.choice([1, 2, -1])) for _ in range(500)]
    worker_a, worker_b = (0, 0), (0, 0)
    for now in sorted(rng.sample(range(50, 1100), 30)):
        worker_a = learner.rollup(worker_a, events, now, 40)
    for now in sorted(rng.sample(range(50, 1100), 7)):
        worker_b = learner.rollup(worker_b, events, now, 40)
    final_a = learner.rollup(worker_a, events, 2000, 40)
    final_b = learner.rollup(worker_b, events, 2000, 40)
    assert final_a == final_b == (sum(d for _, d in events), 1960)
