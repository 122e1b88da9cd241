"""Per-segment Thompson sampling: from assignment and conversion counts to the allocation weights of each variant.

Each segment and variant has the posterior Beta(1 + conversions, 1 + non-conversions) (a uniform prior). A
variant's weight is its probability of being the best of the segment, estimated from seeded Monte Carlo draws
(10,000 by default), then held to a floor (1% by default) so that no variant stops being measured.

Two rules keep the weights from chasing noise:

- **Burn-in**: weights stay equal until the data they are learnt from hold `burn_in_per_variant` (100) assignments
  per variant, 400 for four variants.
- **Pooling**: a segment learns from its own counts only once it has both `min_samples_per_segment` assignments
  and its burn-in; until then it takes the experiment-wide weights (all segments pooled), which are themselves
  equal until the whole experiment is past its burn-in. So a small segment is never worse informed than the
  experiment as a whole, and more data never sends a segment back to equal weights.

Everything is vectorised over segments and deterministic given the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from python_jobs.experiments.definitions import ALLOCATION_WEIGHT_FLOOR

DEFAULT_DRAWS = 10_000
DEFAULT_FLOOR = ALLOCATION_WEIGHT_FLOOR
DEFAULT_BURN_IN_PER_VARIANT = 100
DEFAULT_MIN_SAMPLES_PER_SEGMENT = 100

# Monte Carlo draws are made for at most this many (draw, segment, variant) cells at once, to bound memory.
_CELLS_PER_CHUNK = 4_000_000


@dataclass(frozen=True)
class SegmentWeights:
    """The weights of one update, for S segments and V variants.

    `alpha`/`beta` are each segment's own posterior (whether or not it learns from it); `probability_best` is
    the probability of being best under the posterior the segment's weights come from (its own, or the
    experiment-wide one when `learns_from_pool`); `weights` are the allocation weights (floored, summing to 1).
    `is_burn_in` marks the segments given equal weights because their data are still in burn-in.
    """

    alpha: np.ndarray  # (S, V)
    beta: np.ndarray  # (S, V)
    probability_best: np.ndarray  # (S, V)
    weights: np.ndarray  # (S, V)
    learns_from_pool: np.ndarray  # (S,) bool
    is_burn_in: np.ndarray  # (S,) bool
    experiment_alpha: np.ndarray  # (V,)
    experiment_beta: np.ndarray  # (V,)
    experiment_probability_best: np.ndarray  # (V,)
    experiment_weights: np.ndarray  # (V,)
    experiment_is_burn_in: bool


def probability_best(
    alpha: np.ndarray,
    beta: np.ndarray,
    draws: int = DEFAULT_DRAWS,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """For each row of Beta posteriors (shape (S, V)), the share of `draws` joint draws in which each variant is
    the largest: its probability of being best, with a standard error of at most 0.5 / sqrt(draws)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if alpha.ndim != 2 or alpha.shape != beta.shape:
        raise ValueError("alpha and beta must be two arrays of one shape (segments, variants)")
    rng = np.random.default_rng(seed)
    segments, variants = alpha.shape
    result = np.zeros((segments, variants))
    rows_per_chunk = max(1, _CELLS_PER_CHUNK // max(1, draws * variants))
    for start in range(0, segments, rows_per_chunk):
        stop = min(segments, start + rows_per_chunk)
        samples = rng.beta(alpha[start:stop], beta[start:stop], size=(draws, stop - start, variants))
        best = samples.argmax(axis=2)  # (draws, rows)
        for variant in range(variants):
            result[start:stop, variant] = (best == variant).mean(axis=0)
    return result


def apply_floor(weights: np.ndarray, floor: float = DEFAULT_FLOOR) -> np.ndarray:
    """Raise every weight under `floor` to exactly `floor` and scale the others down to make the total 1,
    keeping their ratios to one another.

    Raising then dividing by the new total is not enough: the division pushes the raised weights back under the
    floor (ten variants, one dominant: 1% / 1.09 = 0.92%). Scaling the others down can also push one of them under
    the floor, so the clamp is repeated until no free weight falls under it (at most V rounds).
    """
    weights = np.asarray(weights, dtype=np.float64)
    variants = weights.shape[-1]
    if floor < 0 or floor * variants > 1 + 1e-12:
        raise ValueError(
            f"a floor of {floor} per variant cannot hold for {variants} variants "
            f"({floor} x {variants} is more than 1)"
        )
    if (weights < 0).any() or (weights.sum(axis=-1) <= 0).any():
        raise ValueError("weights must be non-negative with a positive total")
    weights = weights / weights.sum(axis=-1, keepdims=True)
    clamped = np.zeros(weights.shape, dtype=bool)
    result = weights
    for _round in range(variants):
        free_mass = 1.0 - floor * clamped.sum(axis=-1, keepdims=True)
        free_total = np.where(clamped, 0.0, weights).sum(axis=-1, keepdims=True)
        scale = np.divide(free_mass, free_total, out=np.zeros_like(free_total), where=free_total > 0)
        result = np.where(clamped, floor, weights * scale)
        newly_clamped = clamped | (result < floor)
        if (newly_clamped == clamped).all():
            break
        clamped = newly_clamped
    return result


def _checked_counts(assignments: np.ndarray, conversions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    assignments = np.asarray(assignments)
    conversions = np.asarray(conversions)
    if assignments.ndim != 2 or assignments.shape != conversions.shape:
        raise ValueError("assignments and conversions must be two arrays of one shape (segments, variants)")
    if assignments.shape[1] < 2:
        raise ValueError(f"an experiment needs at least 2 variants, not {assignments.shape[1]}")
    if (assignments < 0).any() or (conversions < 0).any():
        segment, variant = np.argwhere((assignments < 0) | (conversions < 0))[0]
        raise ValueError(f"segment {segment}, variant {variant}: counts cannot be negative")
    over = conversions > assignments
    if over.any():
        segment, variant = np.argwhere(over)[0]
        raise ValueError(
            f"segment {segment}, variant {variant}: {conversions[segment, variant]} conversions "
            f"for {assignments[segment, variant]} assignments"
        )
    return assignments.astype(np.int64), conversions.astype(np.int64)


def segment_weights(
    assignments: np.ndarray,
    conversions: np.ndarray,
    *,
    min_samples_per_segment: int = DEFAULT_MIN_SAMPLES_PER_SEGMENT,
    burn_in_per_variant: int = DEFAULT_BURN_IN_PER_VARIANT,
    floor: float = DEFAULT_FLOOR,
    draws: int = DEFAULT_DRAWS,
    seed: int | np.random.Generator | None = None,
) -> SegmentWeights:
    """The allocation weights of every segment of one experiment, from counts of shape (segments, variants).

    Conversions count visitors who converted (at most one per assigned visitor).
    """
    assignments, conversions = _checked_counts(assignments, conversions)
    segments, variants = assignments.shape
    burn_in = burn_in_per_variant * variants
    equal = np.full(variants, 1.0 / variants)

    alpha = 1.0 + conversions
    beta = 1.0 + (assignments - conversions)
    experiment_alpha = 1.0 + conversions.sum(axis=0)
    experiment_beta = 1.0 + (assignments - conversions).sum(axis=0)

    segment_sizes = assignments.sum(axis=1)
    learns_from_pool = segment_sizes < max(min_samples_per_segment, burn_in)
    experiment_is_burn_in = bool(assignments.sum() < burn_in)

    # One vectorised draw for the experiment and every segment that learns from its own counts.
    own = np.flatnonzero(~learns_from_pool)
    estimated = probability_best(
        np.vstack([experiment_alpha[None, :], alpha[own]]),
        np.vstack([experiment_beta[None, :], beta[own]]),
        draws=draws,
        seed=seed,
    )
    experiment_probability_best = estimated[0]
    experiment_weights = equal if experiment_is_burn_in else apply_floor(experiment_probability_best, floor)

    probability = np.tile(experiment_probability_best, (segments, 1))
    weights = np.tile(experiment_weights, (segments, 1))
    probability[own] = estimated[1:]
    if own.size:
        weights[own] = apply_floor(estimated[1:], floor)
    return SegmentWeights(
        alpha=alpha,
        beta=beta,
        probability_best=probability,
        weights=weights,
        learns_from_pool=learns_from_pool,
        is_burn_in=learns_from_pool & experiment_is_burn_in,
        experiment_alpha=experiment_alpha,
        experiment_beta=experiment_beta,
        experiment_probability_best=experiment_probability_best,
        experiment_weights=experiment_weights,
        experiment_is_burn_in=experiment_is_burn_in,
    )
