"""Segment names from where each segment sits in the population (see `Ladder` in python_jobs/definitions.py).

Pure numpy on arrays handed in, so the clustering workers name their segments without a warehouse.
"""

from __future__ import annotations

import numpy as np

from python_jobs.definitions import AXES_BY_NAME


def mid_rank_percentiles(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per row, its mid-rank percentile (0..1) in the weighted distribution of `values`.

    The share of the weight strictly below the value plus half the share equal to it: the median customer is at
    0.5, and the many customers of a tied value (say 70% with no returns) all sit in the middle of their group
    (0.35) rather than at its top or bottom.
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    distinct, index = np.unique(values, return_inverse=True)
    at_value = np.bincount(index, weights=weights, minlength=len(distinct))
    below = np.cumsum(at_value) - at_value
    return ((below + 0.5 * at_value) / weights.sum())[index]


def segment_percentiles(values: np.ndarray, weights: np.ndarray, labels: np.ndarray, k: int) -> list[float]:
    """Where each segment sits in the population: the weighted mean percentile of its customers.

    This is the segment's centroid in percentile space. The centroid's raw value would mislead on the skewed,
    zero-heavy features most axes have: a segment of customers who mostly return nothing has a mean returned
    share just above zero, which is above every customer at zero, so its raw centroid would rank near the top.
    """
    percentiles = mid_rank_percentiles(values, weights)
    totals = np.bincount(labels, weights=weights * percentiles, minlength=k)
    members = np.bincount(labels, weights=weights, minlength=k)
    return (totals / np.where(members > 0, members, 1.0)).tolist()


def name_segments(
    axis_name: str, raw: list[dict[str, float]], features: np.ndarray, weights: np.ndarray, labels: np.ndarray
) -> list[str]:
    """The axis's names for its segments (labels 0..k-1), placing each in the weighted population."""
    axis = AXES_BY_NAME[axis_name]
    k = len(raw)
    by_feature = {
        name: segment_percentiles(features[:, j], weights, labels, k)
        for j, name in enumerate(axis.feature_names)
    }
    positions = [{name: by_feature[name][i] for name in axis.feature_names} for i in range(k)]
    if axis.naming_feature is None:
        return axis.segment_names(raw, positions=positions)
    column = features[:, axis.feature_names.index(axis.naming_feature)]
    return axis.segment_names(
        raw, by_feature[axis.naming_feature], segment_zero_shares(column, weights, labels, k), positions
    )


def segment_zero_shares(values: np.ndarray, weights: np.ndarray, labels: np.ndarray, k: int) -> list[float]:
    """Per segment, the weighted share of its customers at exactly zero (say, who never returned anything)."""
    at_zero = np.bincount(labels, weights=weights * (np.asarray(values) == 0), minlength=k)
    members = np.bincount(labels, weights=weights, minlength=k)
    return (at_zero / np.where(members > 0, members, 1.0)).tolist()
