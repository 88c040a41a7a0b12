"""Each experiment runs end to end (short parameters) and shows what the lab's reference design says it should."""

from __future__ import annotations

import shutil

from conftest import need

from learnbackend.counter.experiments import EXPERIMENTS, run_experiment


def col(result, name):
    return result.columns.index(name)


def test_e1_single_row_flattens_log_and_shards_scale():
    need(shutil.which("redis-server") is not None, "redis-server for the redis-incr design")
    r = run_experiment("E1", scale=0.4)
    best = r.figures["best_throughput"]
    assert set(best) == {"single-row", "cas-row", "sharded", "event-log", "redis-incr"}
    assert best["event-log"] > 2 * best["single-row"]
    assert best["sharded"] > 2 * best["single-row"]
    assert all(row[col(r, "error")] == 0 for row in r.rows), "no faults: every design is exact"
    assert r.plot is not None and len(r.plot.series) == 5
    assert {"ops/s (1 ms store)", "ops/s (no delay)"} <= set(r.columns)
    assert set(r.figures["best_throughput_unmodelled"]) == set(best)
    assert "MODELLED 1 ms store round trip" in r.explanation, "the modelled delay is said plainly"
    redis_rows = [row for row in r.rows if row[0] == "redis-incr"]
    assert all(row[col(r, "counted")] == row[col(r, "acked")] for row in redis_rows), "asyncio INCRBY, all counted"


def test_e2_only_the_event_log_is_exact_under_retries():
    r = run_experiment("E2", scale=0.3)
    assert r.figures["exact_with_retries"] == ["event-log +retry"]
    lossy = [row for row in r.rows if row[1] == "20%" and row[2] == "yes" and row[0] != "event-log"]
    assert lossy and all(row[5] > row[3] for row in lossy), "retried lost acks over-count"


def test_e3_in_memory_loses_the_log_does_not():
    r = run_experiment("E3", scale=0.3)
    assert r.figures["in_memory_lost"] > 0
    assert r.figures["event_log_lost"] == 0
    assert r.figures["rollup_worker_lost"] == 0
    assert r.rows[2][4] < r.rows[2][1], "while the rollup worker is dead the count lags"


def test_e4_no_window_loses_events_a_margin_fixes_it():
    r = run_experiment("E4", scale=0.6)
    lost = {(row[0], row[1]): row[5] for row in r.rows}
    assert lost[("100 ms", "lag 0 (no window)")] > 0
    assert lost[("0 ms", "accept 50ms, margin 250ms")] == 0
    assert lost[("100 ms", "accept 50ms, margin 250ms")] == 0


def test_e5_throughput_grows_with_shards():
    r = run_experiment("E5", scale=0.5)
    assert r.figures["gain"] > 2
    assert [row[col(r, "rows per read")] for row in r.rows] == [1, 2, 4, 8, 16], "a read costs K rows"
    assert "ops/s (no delay)" in r.columns and r.figures["gain_unmodelled"] > 0
    assert "MODELLED 1 ms store round trip" in r.explanation, "the modelled delay is said plainly"


def test_e6_coalescing_cuts_rollups():
    r = run_experiment("E6", scale=0.3)
    assert r.figures["rollups_off"] == r.params["events"]
    assert r.figures["rollups_on"] < r.figures["rollups_off"] / 2


def test_e7_accurate_read_cost_grows_with_the_unrolled_window():
    r = run_experiment("E7", scale=0.5)
    ms = r.figures["read_ms"]
    assert ms[-2] > 5 * ms[0], "reading 30,000 un-rolled events costs more than reading none"
    assert r.rows[-1][2] == 0 and r.rows[-1][3] == r.rows[-2][3], "after a rollup: same count, nothing to scan"


def test_e7_small_scale_rows_read_what_they_say():
    r = run_experiment("E7", scale=0.05)
    assert [row[0] for row in r.rows[:-1]] == [row[2] for row in r.rows[:-1]] == [0, 1_000, 3_000]


def test_e8_only_the_immutable_window_converges():
    r = run_experiment("E8", scale=0.5)
    assert r.figures["missing_mutable"] > 0
    assert r.figures["missing_immutable"] == 0


def test_e9_back_pressure_bounds_the_queue_and_the_lag():
    r = run_experiment("E9", scale=0.6)
    assert r.figures["depth_on"] <= 100 < r.figures["depth_off"]
    assert r.figures["p99_ms_on"] < r.figures["p99_ms_off"]


def test_the_list_matches_counter_md():
    assert list(EXPERIMENTS) == [f"E{i}" for i in range(1, 10)]


def test_the_design_doc_the_experiments_cite_ships_with_the_lessons():
    from conftest import REPO

    text = (REPO / "lessons/counter/counter-design.md").read_text()
    assert all(f"| {e} |" in text for e in EXPERIMENTS), "every experiment is described where the lab says it is"
