"""Per-segment Thompson sampling: probability of being best, burn-in, the 1% floor, pooling of small segments,
determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from python_jobs.experiments.bandit import (
    apply_floor,
    probability_best,
    segment_weights,
)


def _two_variant_probability_a_beats_b(a: tuple[float, float], b: tuple[float, float]) -> float:
    """P(X_a > X_b) for X_a ~ Beta(a), X_b ~ Beta(b): the integral of f_a(x) F_b(x) over [0, 1]."""
    value, _error = integrate.quad(lambda x: stats.beta.pdf(x, *a) * stats.beta.cdf(x, *b), 0, 1, limit=200)
    return value


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((1 + 30, 1 + 970), (1 + 40, 1 + 960)),  # 3.0% against 4.0% on 1,000 visitors each
        ((1 + 5, 1 + 45), (1 + 7, 1 + 43)),  # small counts, wide posteriors
        ((1 + 120, 1 + 880), (1 + 120, 1 + 880)),  # identical: one half each
    ],
)
def test_probability_best_matches_numerical_integration_within_monte_carlo_error(a, b):
    exact = _two_variant_probability_a_beats_b(a, b)
    alpha = np.array([[a[0], b[0]]], dtype=float)
    beta = np.array([[a[1], b[1]]], dtype=float)
    estimated = probability_best(alpha, beta, draws=10_000, seed=7)
    standard_error = np.sqrt(exact * (1 - exact) / 10_000)
    assert estimated.shape == (1, 2)
    assert estimated[0, 0] == pytest.approx(exact, abs=4 * standard_error + 1e-9)
    assert estimated[0].sum() == pytest.approx(1.0)


def test_probability_best_is_deterministic_given_a_seed_and_moves_with_it():
    alpha = np.array([[11.0, 12.0, 10.0], [3.0, 4.0, 5.0]])
    beta = np.array([[90.0, 89.0, 91.0], [40.0, 39.0, 38.0]])
    first = probability_best(alpha, beta, draws=10_000, seed=123)
    again = probability_best(alpha, beta, draws=10_000, seed=123)
    other = probability_best(alpha, beta, draws=10_000, seed=124)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_burn_in_gives_equal_weights_until_100_assignments_per_variant():
    # Three variants: burn-in ends at 300 assignments. Variant C converts far better.
    conversions = np.array([[1, 2, 60]])
    during = segment_weights(np.array([[99, 100, 100]]), conversions, min_samples_per_segment=1, seed=1)
    after = segment_weights(np.array([[100, 100, 100]]), conversions, min_samples_per_segment=1, seed=1)
    np.testing.assert_allclose(during.weights[0], [1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(during.experiment_weights, [1 / 3, 1 / 3, 1 / 3])
    assert during.is_burn_in.tolist() == [True]
    assert after.is_burn_in.tolist() == [False]
    # Out of burn-in, C takes nearly everything and A and B sit at the floor.
    np.testing.assert_allclose(after.weights[0], [0.01, 0.01, 0.98])


def test_a_segment_in_its_own_burn_in_takes_the_weights_of_an_experiment_past_it():
    # Segment 0 has 299 assignments (its burn-in ends at 300); the experiment has 599, past its burn-in.
    assignments = np.array([[99, 100, 100], [100, 100, 100]])
    conversions = np.array([[1, 2, 60], [1, 2, 60]])
    result = segment_weights(assignments, conversions, min_samples_per_segment=1, seed=1)
    assert result.learns_from_pool.tolist() == [True, False]
    assert result.is_burn_in.tolist() == [False, False]
    np.testing.assert_array_equal(result.weights[0], result.experiment_weights)
    np.testing.assert_allclose(result.weights[1], [0.01, 0.01, 0.98])


def test_a_fresh_experiment_is_in_burn_in_everywhere():
    assignments = np.array([[10, 12, 9, 11], [50, 49, 52, 48]])
    conversions = np.array([[0, 5, 0, 0], [0, 30, 0, 0]])
    result = segment_weights(assignments, conversions, seed=1)
    np.testing.assert_allclose(result.weights, np.full((2, 4), 0.25))
    np.testing.assert_allclose(result.experiment_weights, np.full(4, 0.25))


def test_the_floor_holds_after_renormalisation_with_many_variants_and_a_dominant_one():
    # Ten variants, one certain to be best. Raising the nine others to 1% and dividing by the new total
    # (1.09) would leave them at 0.917%: under the floor. The floor must hold exactly.
    weights = np.array([[1.0] + [0.0] * 9])
    floored = apply_floor(weights, floor=0.01)
    np.testing.assert_allclose(floored[0, 1:], [0.01] * 9)
    assert floored[0, 0] == pytest.approx(1 - 9 * 0.01)
    assert floored.sum() == pytest.approx(1.0)


def test_the_floor_keeps_the_ratios_of_the_variants_above_it():
    weights = np.array([[0.6, 0.395, 0.003, 0.002]])
    floored = apply_floor(weights, floor=0.01)
    # Two variants raised to 1%; the other two share 98% in their ratio 0.6 : 0.395.
    np.testing.assert_allclose(floored[0], [0.98 * 0.6 / 0.995, 0.98 * 0.395 / 0.995, 0.01, 0.01])


def test_the_floor_cascades_when_rescaling_pushes_another_variant_under_it():
    # Raising D to 1% takes 0.01 from the others; B and C then fall under the floor and must be raised too.
    weights = np.array([[0.97995, 0.01, 0.01005, 0.0]])
    floored = apply_floor(weights, floor=0.01)
    np.testing.assert_allclose(floored[0], [0.97, 0.01, 0.01, 0.01])


def test_the_floor_on_random_weights_of_fifty_variants():
    rng = np.random.default_rng(5)
    weights = rng.dirichlet(np.full(50, 0.05), size=200)
    floored = apply_floor(weights, floor=0.01)
    assert (floored >= 0.01 - 1e-12).all()
    np.testing.assert_allclose(floored.sum(axis=1), 1.0)
    # Variants left above the floor keep their ratios to each other.
    for row, original in zip(floored, weights, strict=True):
        free = row > 0.01 + 1e-12
        if free.sum() >= 2:
            ratios = row[free] / original[free]
            np.testing.assert_allclose(ratios, ratios[0])


def test_a_floor_the_variants_cannot_all_have_is_refused():
    with pytest.raises(ValueError, match=r"floor of 0\.3 .* 4 variants"):
        apply_floor(np.array([[0.25, 0.25, 0.25, 0.25]]), floor=0.3)


def test_a_small_segment_learns_from_the_pooled_experiment():
    # Segment 0 has 150 assignments (under min_samples_per_segment=500): it takes the experiment-wide weights,
    # in which B is clearly best, although its own few conversions point at A.
    assignments = np.array([[75, 75], [5_000, 5_000]])
    conversions = np.array([[6, 0], [100, 300]])
    result = segment_weights(assignments, conversions, min_samples_per_segment=500, seed=3)
    assert result.learns_from_pool.tolist() == [True, False]
    np.testing.assert_array_equal(result.weights[0], result.experiment_weights)
    assert result.weights[0, 1] == pytest.approx(0.99)
    # With its own data it would have favoured A.
    alone = segment_weights(
        assignments[:1], conversions[:1], min_samples_per_segment=1, burn_in_per_variant=1
    )
    assert alone.weights[0, 0] > 0.9


def test_segment_weights_are_deterministic_given_a_seed():
    rng = np.random.default_rng(0)
    assignments = rng.integers(500, 2_000, size=(6, 4))
    conversions = rng.binomial(assignments, 0.05)
    first = segment_weights(assignments, conversions, seed=99)
    again = segment_weights(assignments, conversions, seed=99)
    np.testing.assert_array_equal(first.weights, again.weights)
    np.testing.assert_array_equal(first.probability_best, again.probability_best)


def test_counts_that_cannot_be_are_refused_naming_the_cell():
    with pytest.raises(ValueError, match=r"segment 1, variant 0: 12 conversions .* 10 assignments"):
        segment_weights(np.array([[10, 10], [10, 10]]), np.array([[1, 1], [12, 1]]))
    with pytest.raises(ValueError, match="negative"):
        segment_weights(np.array([[10, -1]]), np.array([[1, 0]]))
