"""Day-by-day sample-ratio checks against the weights in force each day (pure; the job's tests cover the
warehouse)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from python_jobs.experiments.sample_ratio import WeightHistory, group_daily_counts, sample_ratio_checks

DAY_1, DAY_2 = dt.date(2026, 6, 1), dt.date(2026, 6, 2)
MOBILE, DESKTOP = "device:mobile", "device:desktop"
# An update computed during day 1: in force from day 2, mobile at 80/20, desktop without weights of its own.
HISTORY = [
    ("w1", dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), "e", segment, variant, weight)
    for segment, variant, weight in [
        ("all", "A", 0.5),
        ("all", "B", 0.5),
        (MOBILE, "A", 0.8),
        (MOBILE, "B", 0.2),
    ]
]


def checks(rows):
    table = sample_ratio_checks(group_daily_counts(rows), WeightHistory(HISTORY), {"e": "w2"})
    return {(row["segment_key"], row["assigned_on"]): row for row in table.to_pylist()}


def test_each_day_is_checked_against_the_weights_in_force_that_day():
    rows = [
        # Day 1: before any update, equal weights; 50/50 is no mismatch.
        ("e", MOBILE, "A", DAY_1, 1_000),
        ("e", MOBILE, "B", DAY_1, 1_000),
        # Day 2: mobile follows its 80/20, desktop the experiment-wide 50/50.
        ("e", MOBILE, "A", DAY_2, 1_600),
        ("e", MOBILE, "B", DAY_2, 400),
        ("e", DESKTOP, "A", DAY_2, 500),
        ("e", DESKTOP, "B", DAY_2, 500),
    ]
    found = checks(rows)

    assert found[("all", DAY_1)]["weights_run_id"] is None
    assert found[("all", DAY_2)]["weights_run_id"] == "w1"
    assert found[("all", DAY_2)]["assignments"] == 3_000
    assert not any(row["is_mismatch"] for row in found.values())
    assert all(row["run_id"] == "w2" for row in found.values())
    # 1,600/400 against 1,600/400 expected: chi-square 0.
    assert found[(MOBILE, DAY_2)]["chi_square"] == 0.0


def test_a_five_percent_deficit_in_one_arm_is_a_mismatch_and_named_by_day_and_segment():
    # Day 2, mobile: B should get 20% of 20,000 = 4,000; it gets 5% less (3,800), and A the difference.
    rows = [
        ("e", MOBILE, "A", DAY_2, 16_200),
        ("e", MOBILE, "B", DAY_2, 3_800),
        ("e", DESKTOP, "A", DAY_2, 500),
        ("e", DESKTOP, "B", DAY_2, 500),
    ]
    found = checks(rows)
    # chi-square by hand: 200²/16,000 + 200²/4,000 = 12.5, p = 0.0004 with one degree of freedom.
    assert np.isclose(found[(MOBILE, DAY_2)]["chi_square"], 12.5)
    assert found[(MOBILE, DAY_2)]["is_mismatch"]
    assert found[("all", DAY_2)]["is_mismatch"]
    assert not found[(DESKTOP, DAY_2)]["is_mismatch"]


def test_simulated_a_a_days_stay_quiet():
    rng = np.random.default_rng(3)
    rows = []
    for offset in range(200):
        day = DAY_2 + dt.timedelta(days=offset)
        a = int(rng.binomial(5_000, 0.8))
        rows += [("e", MOBILE, "A", day, a), ("e", MOBILE, "B", day, 5_000 - a)]
    found = checks(rows)
    alarms = sum(row["is_mismatch"] for row in found.values())
    assert len(found) == 400
    assert alarms <= 2  # 400 checks at p < 0.001: 0.4 false alarms expected
