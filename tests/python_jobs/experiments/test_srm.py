"""Sample-ratio mismatch: a chi-square test of observed assignments against what the weights in force expected."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from python_jobs.experiments.srm import SRM_ALERT_P_VALUE, sample_ratio_mismatch


def test_a_5_percent_deficit_in_one_arm_of_an_even_ab_test_raises_the_alert():
    # 20,000 visitors expected half and half; B loses 5% of its visitors (10,000 -> 9,500).
    check = sample_ratio_mismatch(np.array([10_000, 9_500]), np.array([0.5, 0.5]))
    assert check.p_value == pytest.approx(stats.chisquare([10_000, 9_500], [9_750, 9_750]).pvalue)
    assert check.p_value < 0.001
    assert check.is_mismatch
    np.testing.assert_allclose(check.expected, [9_750, 9_750])


def test_a_5_percent_deficit_is_caught_in_most_periods_of_50_000_assignments():
    # Four even arms, 50,000 assignments a period (a week of an experiment at about 7,000 visitors a day); arm B
    # loses 5% of its visitors. Observed counts are drawn, so the alert rate is the test's power, which the
    # non-central chi-square gives independently.
    weights = np.full(4, 0.25)
    true_shares = np.array([0.25, 0.25 * 0.95, 0.25, 0.25])
    true_shares /= true_shares.sum()
    periods = np.random.default_rng(11).multinomial(50_000, true_shares, size=400)
    check = sample_ratio_mismatch(periods, weights)
    noncentrality = 50_000 * ((true_shares - weights) ** 2 / weights).sum()
    power = stats.ncx2.sf(stats.chi2.isf(SRM_ALERT_P_VALUE, 3), 3, noncentrality)
    assert power > 0.8
    assert check.is_mismatch.mean() == pytest.approx(power, abs=0.06)


@pytest.mark.parametrize(
    ("weights", "assignments"),
    [
        ([0.25, 0.25, 0.25, 0.25], 500),
        ([0.55, 0.25, 0.15, 0.05], 10_000),  # weights a bandit might have set
        ([0.97, 0.01, 0.01, 0.01], 50_000),  # a dominant variant and three at the floor
    ],
)
def test_simulated_aa_periods_raise_the_alert_about_once_in_a_thousand(weights, assignments):
    weights = np.array(weights)
    periods = np.random.default_rng(2024).multinomial(assignments, weights, size=20_000)
    check = sample_ratio_mismatch(periods, weights)
    assert check.is_testable.all()
    false_alarm_rate = check.is_mismatch.mean()
    # 20,000 periods at a true rate of 0.001: 20 expected, standard deviation 4.5.
    assert 0.0002 < false_alarm_rate < 0.003
    assert false_alarm_rate < 0.01


def test_the_statistic_matches_scipy_period_by_period_and_segment_by_segment():
    observed = np.array([[[510, 490], [300, 340]], [[1_000, 1_100], [60, 40]]])  # (period, segment, variant)
    weights = np.array([[[0.5, 0.5], [0.4, 0.6]], [[0.5, 0.5], [0.5, 0.5]]])
    check = sample_ratio_mismatch(observed, weights)
    for period in range(2):
        for segment in range(2):
            counts = observed[period, segment]
            expected = counts.sum() * weights[period, segment]
            assert check.p_value[period, segment] == pytest.approx(stats.chisquare(counts, expected).pvalue)


def test_a_period_whose_weights_changed_is_tested_against_the_counts_each_version_expected():
    # 1,000 visitors under 50/50, then 3,000 under 20/80: 500 + 600 and 500 + 2,400 expected.
    expected_counts = 1_000 * np.array([0.5, 0.5]) + 3_000 * np.array([0.2, 0.8])
    observed = np.array([1_110, 2_890])
    assert not sample_ratio_mismatch(observed, expected_counts).is_mismatch
    # Against the latest weights alone the same, healthy period would look broken.
    assert sample_ratio_mismatch(observed, np.array([0.2, 0.8])).is_mismatch


def test_too_few_assignments_to_test_raise_no_alert():
    # 8 assignments at 25% each expect 2 a variant: too few for the chi-square approximation.
    check = sample_ratio_mismatch(np.array([8, 0, 0, 0]), np.full(4, 0.25))
    assert not check.is_testable
    assert not check.is_mismatch


def test_a_variant_given_traffic_its_weight_of_zero_did_not_allow_is_a_mismatch():
    check = sample_ratio_mismatch(np.array([600, 400, 15]), np.array([0.6, 0.4, 0.0]))
    assert check.is_mismatch
    assert check.p_value == 0.0
    quiet = sample_ratio_mismatch(np.array([600, 400, 0]), np.array([0.6, 0.4, 0.0]))
    assert quiet.p_value == pytest.approx(stats.chisquare([600, 400], [600, 400]).pvalue)
    assert not quiet.is_mismatch


def test_weights_of_another_shape_are_refused():
    with pytest.raises(ValueError, match="3 variants observed but 2 weights"):
        sample_ratio_mismatch(np.array([1, 2, 3]), np.array([0.5, 0.5]))
