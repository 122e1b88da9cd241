"""Sample-ratio mismatch (SRM): are visitors reaching the variants in the proportions the weights in force set?

A mismatch means the assignment or its logging is broken (a variant that crashes before logging, bots filtered
in one arm only, a redirect that loses visitors), and every conversion rate of the experiment is then suspect. The
test is Pearson's chi-square of the observed assignment counts of one period against the counts the weights
expected (`total * weight`); p < 0.001 raises an alert, so a healthy experiment checked every day raises a false
one about once in three years.

The weights change as the bandit learns, so the expectation of a period must follow the weights in force at
each moment: when they changed during a period, pass the expected counts (the assignments made under each version
times its weights, summed) instead of weights; only the proportions matter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from python_jobs.experiments.definitions import SAMPLE_RATIO_ALERT_P_VALUE

SRM_ALERT_P_VALUE = SAMPLE_RATIO_ALERT_P_VALUE
# Under this many expected assignments in a variant, the chi-square approximation is unreliable: no verdict.
MIN_EXPECTED_PER_VARIANT = 5.0


@dataclass(frozen=True)
class SampleRatioCheck:
    """Arrays over the leading axes of the input (periods, segments...), variants last for the counts."""

    observed: np.ndarray
    expected: np.ndarray
    chi_square: np.ndarray
    p_value: np.ndarray
    is_testable: np.ndarray
    is_mismatch: np.ndarray


def sample_ratio_mismatch(
    observed: np.ndarray,
    weights: np.ndarray,
    alert_p_value: float = SRM_ALERT_P_VALUE,
    min_expected: float = MIN_EXPECTED_PER_VARIANT,
) -> SampleRatioCheck:
    """Test observed counts (..., variants) against the weights in force or the expected counts (same shape, or
    broadcastable).

    A variant of weight 0 is left out of the test while it has no assignments; any assignment to it is a
    mismatch (p = 0). A period whose expected count in some variant of positive weight is under `min_expected`
    is not testable and raises no alert.
    """
    observed = np.asarray(observed, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if observed.shape[-1] != weights.shape[-1]:
        raise ValueError(f"{observed.shape[-1]} variants observed but {weights.shape[-1]} weights")
    if (observed < 0).any() or (weights < 0).any():
        raise ValueError("counts and weights cannot be negative")
    weights, observed = np.broadcast_arrays(weights, observed)
    shares = weights / weights.sum(axis=-1, keepdims=True)
    totals = observed.sum(axis=-1, keepdims=True)
    expected = totals * shares

    in_test = shares > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(in_test, (observed - expected) ** 2 / np.where(in_test, expected, 1.0), 0.0)
    chi_square = terms.sum(axis=-1)
    degrees = in_test.sum(axis=-1) - 1
    p_value = stats.chi2.sf(chi_square, np.maximum(degrees, 1))

    outside = ((~in_test) & (observed > 0)).any(axis=-1)
    chi_square = np.where(outside, np.inf, chi_square)
    p_value = np.where(outside, 0.0, np.where(degrees >= 1, p_value, 1.0))
    smallest_expected = np.where(in_test, expected, np.inf).min(axis=-1)
    is_testable = outside | ((smallest_expected >= min_expected) & (degrees >= 1))
    return SampleRatioCheck(
        observed=observed,
        expected=expected,
        chi_square=chi_square,
        p_value=p_value,
        is_testable=is_testable,
        is_mismatch=is_testable & (p_value < alert_p_value),
    )
