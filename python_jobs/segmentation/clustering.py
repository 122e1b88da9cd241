"""One k-means per behavioural axis: choose k, name the segments, measure how robust they are.

Everything here is pure numpy/scikit-learn on arrays handed in, so an axis can be fitted in a worker process
(`fit_axis` is the worker function) and tested without a warehouse. Every random choice is seeded from the run's
seed, the axis and what the randomness is for, so a re-run with the same sample gives the same segments.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances, silhouette_score
from threadpoolctl import threadpool_limits

from python_jobs.definitions import AXES_BY_NAME, AXIS_NAMES, MAX_SEGMENTS_PER_AXIS
from python_jobs.segmentation import limit_native_threads
from python_jobs.segmentation.naming import name_segments
from python_jobs.segmentation.robustness import measure_robustness
from python_jobs.segmentation.robustness import (
    stability_level as stability_level,  # part of this module's API
)
from python_jobs.segmentation.seeding import FOR_KMEANS, FOR_SILHOUETTE, kmeans, random_state_for


@dataclass(frozen=True)
class ClusteringParameters:
    """Everything that decides a run's result; stored as JSON with the run so it can be reproduced."""

    sample_size: int = 20_000
    k_min: int = 2
    k_max: int = 6
    seed: int = 42
    n_init: int = 4
    silhouette_sample: int = 3_000
    robustness_sample: int = 5_000
    bootstrap_resamples: int = 10
    poor_silhouette: float = 0.25
    workers: int = 2

    def __post_init__(self) -> None:
        if self.k_min < 2:
            raise ValueError(f"k_min must be at least 2 (one segment is no segmentation), got {self.k_min}")
        if self.k_min > min(self.k_max, MAX_SEGMENTS_PER_AXIS):
            raise ValueError(
                f"k range {self.k_min}..{self.k_max} is empty once capped at {MAX_SEGMENTS_PER_AXIS} segments"
            )
        if self.seed < 0:
            raise ValueError(f"seed must not be negative, got {self.seed}")
        if self.robustness_sample < self.k_values()[-1]:
            raise ValueError(
                f"robustness_sample must hold at least k_max points, got {self.robustness_sample}"
            )
        counts = (
            "sample_size",
            "n_init",
            "silhouette_sample",
            "robustness_sample",
            "bootstrap_resamples",
            "workers",
        )
        for name in counts:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    def k_values(self) -> list[int]:
        """Candidate segment counts; the naming ladders have no names beyond MAX_SEGMENTS_PER_AXIS."""
        return list(range(self.k_min, min(self.k_max, MAX_SEGMENTS_PER_AXIS) + 1))


@dataclass
class AxisFit:
    """The fitted segmentation of one axis: plain arrays and numbers, picklable and written as rows.

    Segments are listed in segment-id order (id = position + 1); centroids are in the standardised space
    (z = (x - feature_means) / feature_scales).
    """

    axis_name: str
    feature_names: list[str]
    feature_means: np.ndarray
    feature_scales: np.ndarray
    silhouette_by_k: dict[int, float]
    silhouette: float
    is_silhouette_poor: bool
    centroids: np.ndarray
    segment_names: list[str]
    defining_features: list[str]
    sample_customers: list[int]
    labels: np.ndarray = field(repr=False)  # segment id (1..k) of every sampled customer
    # All None when the axis has a single segment: one segment cannot be unstable, so it has no robustness.
    bootstrap_jaccard: list[float | None] = field(default_factory=list)
    feature_drop_agreement: float | None = 0.0
    time_window_agreement: float | None = 0.0
    seconds: float = 0.0

    @property
    def segment_count(self) -> int:
        return len(self.centroids)

    @property
    def sample_shares(self) -> list[float]:
        total = sum(self.sample_customers)
        return [count / total for count in self.sample_customers]

    @property
    def has_robustness(self) -> bool:
        """False for a one-segment axis: nothing was split, so there is nothing whose stability could be measured."""
        return self.segment_count > 1

    def bootstrap_stability(self) -> list[str | None]:
        return [None if value is None else stability_level(value) for value in self.bootstrap_jaccard]

    def overall_robustness(self) -> list[float | None]:
        """Per segment: its bootstrap Jaccard averaged with the axis agreements (negative ARI counts as 0).

        None for every segment of a one-segment axis (a single segment is trivially "stable": 1.00 would lie).
        """
        if not self.has_robustness:
            return [None] * self.segment_count
        agreements = max(0.0, self.feature_drop_agreement) + max(0.0, self.time_window_agreement)
        return [(jaccard + agreements) / 3.0 for jaccard in self.bootstrap_jaccard]

    def mean_robustness(self) -> float | None:
        return float(np.mean(self.overall_robustness())) if self.has_robustness else None


def standardisation(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and population std; a constant feature gets scale 1 so it stays at z = 0.

    "Constant" allows for float noise: the std of a constant column can come out as 1e-17 instead of 0, and
    dividing by it would blow rounding error up into a feature that dominates the distances.
    """
    means = features.mean(axis=0)
    stds = features.std(axis=0)
    constant = stds <= 1e-12 * np.maximum(1.0, np.abs(means))
    return means, np.where(constant, 1.0, stds)


def squared_distances(points_std: np.ndarray, centroids_std: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance of every point to every centroid (n x k), summed feature by feature.

    Written as the plain sum of squared differences (not |x|^2 - 2xc + |c|^2) so it matches the SQL that assigns
    customers, including exact ties.
    """
    return ((points_std[:, None, :] - centroids_std[None, :, :]) ** 2).sum(axis=2)


def nearest_centroids(
    features_raw: np.ndarray, means: np.ndarray, scales: np.ndarray, centroids_std: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Python reference for the SQL assignment of customers to segments.

    Returns, per row: the index of the nearest centroid (segment id = index + 1; ties go to the lowest id), the
    squared Euclidean distance to it in the standardised space, and the squared distance to the second nearest
    (infinite with a single centroid), which tells how clear-cut the assignment is.
    """
    points = (np.asarray(features_raw, dtype=np.float64) - means) / scales
    distances = squared_distances(points, np.asarray(centroids_std, dtype=np.float64))
    index = np.argmin(distances, axis=1)  # argmin returns the first minimum: the lowest segment id
    nearest = distances[np.arange(len(points)), index]
    if distances.shape[1] < 2:
        return index, nearest, np.full(len(points), np.inf)
    second = np.partition(distances, 1, axis=1)[:, 1]
    return index, nearest, second


_DEGREES = ((1.0, "far"), (0.5, ""), (0.25, "slightly"))
# For a feature whose values and average are positive, the degree follows the ratio the reader sees: at least
# twice or at most half the average is "far", a quarter more or a fifth less plain, closer "slightly".
_RATIO_DEGREES = ((2.0, 0.5, "far"), (1.25, 0.8, ""))


def _degree(z: float, raw: float, mean: float) -> str:
    if mean > 0 and raw >= 0:
        ratio = raw / mean
        return next((word for high, low, word in _RATIO_DEGREES if ratio >= high or ratio <= low), "slightly")
    return next(word for threshold, word in _DEGREES if abs(z) >= threshold)


def describe_centroid(
    feature_names: list[str], centroid_std: np.ndarray, means: np.ndarray, scales: np.ndarray
) -> str:
    """Plain words for what sets a segment apart: its (at most two) features furthest from the average.

    A feature counts only from a quarter of a standard deviation away; the raw centroid value and the sample
    average are shown so a reader need not know what a z-score is, and the degree word agrees with them. Features
    are named in words (`premium item share`, not `premium_item_share`) and shares shown as percentages: this
    text is what the marts, the report and the insights' summaries show a marketer.
    """
    by_distance = sorted(range(len(feature_names)), key=lambda i: (-abs(centroid_std[i]), i))
    phrases = []
    for i in by_distance[:2]:
        z = float(centroid_std[i])
        if abs(z) < _DEGREES[-1][0]:
            break
        raw, mean = means[i] + scales[i] * z, means[i]
        name = feature_names[i]
        label = _LABELS.get(name, name.replace("_", " "))
        if name in _LOGARITHMS:
            label, to_natural = _LOGARITHMS[name]
            raw, mean = to_natural(raw), to_natural(mean)
        direction = "above" if z > 0 else "below"
        words = f"{_degree(z, raw, mean)} {direction}".strip()
        phrases.append(f"{label} {words} average ({_shown(name, raw)} vs {_shown(name, mean)})")
    return "; ".join(phrases) if phrases else "close to the average on every feature"


# Features the clustering reads as logarithms, said in the units they were taken of (a "log ratio" of -4.88 means
# nothing to a marketer; spend in the last 180 days at 0.8% of the 180 before does). The centroid and the average
# are means of logarithms, so what is shown is their geometric mean, in the same units.
_LOGARITHMS: dict[str, tuple[str, Callable[[float], float]]] = {
    "spend_trend_log_ratio": ("spend in the last 180 days as a share of the 180 before", math.exp),
    "log_lifetime_value": ("lifetime value", math.expm1),
}

# Features whose name alone would not say what they count.
_LABELS = {"order_count_trend": "orders in the last 180 days minus the 180 before"}


def _shown(feature: str, value: float) -> str:
    """A feature's value as a reader expects it: shares and rates (0..1) as percentages, others as numbers."""
    if feature == "log_lifetime_value":
        return f"{float(value):,.0f}"
    if feature.endswith(("_share", "_rate", "_log_ratio")):
        percent = round(float(value) * 100, 1) + 0.0
        return f"{percent:.0f}%" if percent == 0 or abs(percent) >= 9.95 else f"{percent:.1f}%"
    return _plain(value)


def _plain(value: float) -> str:
    """Two decimals, without the "-0.00" that float noise around zero would otherwise print."""
    return f"{round(float(value), 2) + 0.0:.2f}"


def _silhouette(distances: np.ndarray, labels: np.ndarray) -> float:
    """Silhouette from precomputed distances.

    scikit-learn refuses one cluster, and as many clusters as points; both separate nothing (a point alone in
    its cluster has silhouette 0 by definition), so both score 0 instead of failing a run on a tiny population.
    """
    if not 2 <= len(np.unique(labels)) < len(labels):
        return 0.0
    return float(silhouette_score(distances, labels, metric="precomputed"))


def select_k(
    points_std: np.ndarray,
    k_values: list[int],
    n_init: int,
    seed: int,
    axis_index: int,
    silhouette_sample: int,
) -> tuple[KMeans, dict[int, float]]:
    """Fit every candidate k and keep the one with the best silhouette (the smaller k on a tie).

    The silhouette is quadratic in the points, so it is scored on one seeded sub-sample: the same points for
    every k, so the scores are comparable and their pairwise distances are computed once per axis rather than
    once per k (most of the silhouette's cost). A k above the number of distinct points cannot be fitted
    (k-means would return duplicate centres), so such k are skipped; with fewer distinct points than any
    candidate, the axis gets one segment per distinct point.
    """
    distinct = len(np.unique(points_std, axis=0))
    candidates = [k for k in k_values if k <= distinct] or [distinct]
    rng = np.random.default_rng(random_state_for(seed, axis_index, FOR_SILHOUETTE))
    scored = rng.choice(len(points_std), size=min(silhouette_sample, len(points_std)), replace=False)
    distances = pairwise_distances(points_std[scored])
    random_state = random_state_for(seed, axis_index, FOR_KMEANS)
    best_model, scores = None, {}
    for k in candidates:
        model = kmeans(k, n_init, random_state).fit(points_std)
        scores[k] = _silhouette(distances, model.labels_[scored])
        if best_model is None or scores[k] > scores[best_model.n_clusters]:
            best_model = model
    return best_model, scores


def order_segments(
    axis_name: str, centroids_std: np.ndarray, means: np.ndarray, scales: np.ndarray
) -> list[int]:
    """k-means indices in segment-id order: ascending by the axis naming's key in raw units, ties by index.

    k-means numbers its clusters arbitrarily; ordering by what the segment means keeps ids stable across runs.
    """
    axis = AXES_BY_NAME[axis_name]
    raw = raw_centroids(axis.feature_names, centroids_std, means, scales)
    keys = [axis.naming.order_key(centroid) for centroid in raw]
    return sorted(range(len(raw)), key=lambda i: (keys[i], i))


def raw_centroids(
    feature_names: list[str], centroids_std: np.ndarray, means: np.ndarray, scales: np.ndarray
) -> list[dict[str, float]]:
    """Centroids back in the features' own units, as the axis naming expects them."""
    return [dict(zip(feature_names, (means + scales * row).tolist(), strict=True)) for row in centroids_std]


def fit_axis(
    axis_name: str,
    features: np.ndarray,
    first_seen_days: np.ndarray,
    params: ClusteringParameters,
    weights: np.ndarray | None = None,
) -> AxisFit:
    """Worker function: the whole segmentation of one axis from its raw feature matrix (no warehouse access).

    `weights`: how many customers of the population each row stands for (the stratified sample's inverse
    sampling fractions), so the names place the centroids in the population rather than in the sample; None when
    the rows are the population. The clustering itself is unweighted.

    One native thread: the parallelism is one axis per process, and nested BLAS/OpenMP threads would only fight
    over the same cores.
    """
    started = time.perf_counter()
    with threadpool_limits(limits=1):
        features = np.asarray(features, dtype=np.float64)
        if weights is None:
            weights = np.ones(len(features))
        fit = _fit_axis(axis_name, features, first_seen_days, params, np.asarray(weights, dtype=np.float64))
    fit.seconds = time.perf_counter() - started
    return fit


def _fit_axis(
    axis_name: str,
    features: np.ndarray,
    first_seen_days: np.ndarray,
    params: ClusteringParameters,
    weights: np.ndarray,
) -> AxisFit:
    axis = AXES_BY_NAME[axis_name]
    axis_index = AXIS_NAMES.index(axis_name)
    names = axis.feature_names
    if features.shape != (len(first_seen_days), len(names)):
        raise ValueError(
            f"axis {axis_name}: expected {len(names)} feature columns, got shape {features.shape}"
        )
    if weights.shape != (len(features),):
        raise ValueError(f"axis {axis_name}: {len(features)} rows but {len(weights)} weights")
    means, scales = standardisation(features)
    points = (features - means) / scales
    model, silhouette_by_k = select_k(
        points, params.k_values(), params.n_init, params.seed, axis_index, params.silhouette_sample
    )
    order = order_segments(axis_name, model.cluster_centers_, means, scales)
    centroids = model.cluster_centers_[order]
    k = len(centroids)
    # Labels by nearest centroid, as the SQL assigns everyone, so the sample sizes match what dbt will see.
    labels = np.argmin(squared_distances(points, centroids), axis=1)
    silhouette = silhouette_by_k[k]
    fit = AxisFit(
        axis_name=axis_name,
        feature_names=names,
        feature_means=means,
        feature_scales=scales,
        silhouette_by_k=silhouette_by_k,
        silhouette=silhouette,
        is_silhouette_poor=silhouette < params.poor_silhouette,
        centroids=centroids,
        segment_names=name_segments(
            axis_name, raw_centroids(names, centroids, means, scales), features, weights, labels
        ),
        defining_features=[describe_centroid(names, centroid, means, scales) for centroid in centroids],
        sample_customers=np.bincount(labels, minlength=k).tolist(),
        labels=labels + 1,
    )
    measure_robustness(fit, points, labels, first_seen_days, params, axis_index)
    return fit


AxisFinished = Callable[[AxisFit, int], None]


@dataclass(frozen=True)
class AxisData:
    """What one axis is fitted on: the raw features of the customers it can place, when each was first seen,
    and (optionally) how many customers of the population each row stands for."""

    features: np.ndarray
    first_seen_days: np.ndarray
    weights: np.ndarray | None = None


def fit_axes(
    data_by_axis: Mapping[str, AxisData],
    params: ClusteringParameters,
    on_fit: AxisFinished = lambda fit, finished: None,
) -> dict[str, AxisFit]:
    """Fit every axis, in parallel worker processes unless `params.workers` is 1; results in input order.

    `on_fit(fit, finished_count)` is called in this process as each axis finishes, for progress reporting.
    Workers are spawned (not forked): forking a process that already holds BLAS/OpenMP thread pools can
    deadlock, and spawn behaves the same on every platform.
    """
    fits: dict[str, AxisFit] = {}
    if params.workers == 1 or len(data_by_axis) == 1:
        for name, data in data_by_axis.items():
            fits[name] = fit_axis(name, data.features, data.first_seen_days, params, data.weights)
            on_fit(fits[name], len(fits))
        return {name: fits[name] for name in data_by_axis}
    with ProcessPoolExecutor(
        max_workers=min(params.workers, len(data_by_axis)),
        mp_context=get_context("spawn"),
        initializer=limit_native_threads,
    ) as pool:
        futures = [
            pool.submit(fit_axis, name, data.features, data.first_seen_days, params, data.weights)
            for name, data in data_by_axis.items()
        ]
        try:
            for future in as_completed(futures):
                fit = future.result()
                fits[fit.axis_name] = fit
                on_fit(fit, len(fits))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return {name: fits[name] for name in data_by_axis}
