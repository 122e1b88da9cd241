"""How robust an axis's segments are: bootstrap, feature-drop and time-window stability.

Pure numpy/scikit-learn, run inside the clustering workers (see `clustering.fit_axis`).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score

from python_jobs.segmentation.seeding import (
    FOR_BOOTSTRAP,
    FOR_FEATURE_DROP,
    FOR_ROBUSTNESS_SAMPLE,
    FOR_TIME_WINDOW,
    kmeans,
    random_state_for,
)

if TYPE_CHECKING:
    from python_jobs.segmentation.clustering import AxisFit, ClusteringParameters


def stability_level(bootstrap_jaccard: float) -> str:
    """Hennig's reading of a bootstrap Jaccard: unstable below 0.60, doubtful to 0.75, stable to 0.85, above."""
    if bootstrap_jaccard > 0.85:
        return "highly_stable"
    if bootstrap_jaccard >= 0.75:
        return "stable"
    if bootstrap_jaccard >= 0.60:
        return "doubtful"
    return "unstable"


def bootstrap_jaccard(
    points_std: np.ndarray,
    reference: np.ndarray,
    k: int,
    resamples: int,
    seed: int,
    axis_index: int,
    n_init: int = 1,
) -> list[float]:
    """Per segment, the mean over bootstrap refits of its best Jaccard match among the refit's clusters.

    Only the distinct points drawn into a resample are compared (a point drawn twice is still one customer).
    A segment absent from the points cannot be shown to be stable, so it scores 0 for that resample. Each refit
    takes `n_init` starts, as the reference fit did: a refit stuck in a local optimum the reference escaped
    would be counted as instability of the segments.
    """
    rng = np.random.default_rng(random_state_for(seed, axis_index, FOR_BOOTSTRAP))
    totals = np.zeros(k)
    for resample in range(resamples):
        drawn = rng.integers(0, len(points_std), size=len(points_std))
        present = np.unique(drawn)
        model = kmeans(k, n_init, random_state_for(seed, axis_index, FOR_BOOTSTRAP, resample))
        predicted = model.fit(points_std[drawn]).predict(points_std[present])
        overlap = np.zeros((k, k))
        np.add.at(overlap, (reference[present], predicted), 1)
        union = overlap.sum(axis=1)[:, None] + overlap.sum(axis=0)[None, :] - overlap
        jaccard = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
        totals += jaccard.max(axis=1)
    return (totals / resamples).tolist()


def feature_drop_agreement(
    points_std: np.ndarray, reference: np.ndarray, k: int, n_init: int, seed: int, axis_index: int
) -> float:
    """Mean ARI between the segments and a refit without each feature in turn: does one feature carry it all?"""
    if points_std.shape[1] < 2:
        return 1.0  # a one-feature axis has nothing to drop, so nothing to disagree with
    scores = []
    for dropped in range(points_std.shape[1]):
        model = kmeans(k, n_init, random_state_for(seed, axis_index, FOR_FEATURE_DROP, dropped))
        labels = model.fit_predict(np.delete(points_std, dropped, axis=1))
        scores.append(adjusted_rand_score(reference, labels))
    return float(np.mean(scores))


def time_window_agreement(
    points_std: np.ndarray, first_seen_days: np.ndarray, k: int, n_init: int, seed: int, axis_index: int
) -> float:
    """ARI between segmentations fitted on older and on newer customers, both applied to everyone.

    The split is by rank at the median first-seen date (ties by position), so both windows hold half the points
    even when many customers share a date. A window too small to hold k clusters shows no stability: 0.
    """
    by_age = np.argsort(first_seen_days, kind="stable")
    half = len(by_age) // 2
    older, newer = by_age[:half], by_age[half:]
    if min(len(np.unique(points_std[older], axis=0)), len(np.unique(points_std[newer], axis=0))) < k:
        return 0.0
    random_state = random_state_for(seed, axis_index, FOR_TIME_WINDOW)
    older_labels = kmeans(k, n_init, random_state).fit(points_std[older]).predict(points_std)
    newer_labels = kmeans(k, n_init, random_state).fit(points_std[newer]).predict(points_std)
    return float(adjusted_rand_score(older_labels, newer_labels))


def measure_robustness(
    fit: AxisFit,
    points: np.ndarray,
    labels: np.ndarray,
    first_seen_days: np.ndarray,
    params: ClusteringParameters,
    axis_index: int,
) -> None:
    """Bootstrap, feature-drop and time-window stability, on a seeded sub-sample to bound the cost."""
    if not fit.has_robustness:
        fit.bootstrap_jaccard = [None] * fit.segment_count
        fit.feature_drop_agreement = fit.time_window_agreement = None
        return
    rng = np.random.default_rng(random_state_for(params.seed, axis_index, FOR_ROBUSTNESS_SAMPLE))
    chosen = np.sort(rng.choice(len(points), size=min(params.robustness_sample, len(points)), replace=False))
    subset, reference, k = points[chosen], labels[chosen], fit.segment_count
    with warnings.catch_warnings():
        # A resample of discrete data may hold fewer distinct points than k; k-means then warns and leaves a
        # duplicate centre, which the agreement scores below already count against the segmentation.
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit.bootstrap_jaccard = bootstrap_jaccard(
            subset, reference, k, params.bootstrap_resamples, params.seed, axis_index, params.n_init
        )
        fit.feature_drop_agreement = feature_drop_agreement(
            subset, reference, k, params.n_init, params.seed, axis_index
        )
        fit.time_window_agreement = time_window_agreement(
            subset, first_seen_days[chosen], k, params.n_init, params.seed, axis_index
        )
