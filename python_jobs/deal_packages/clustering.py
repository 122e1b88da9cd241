"""Deals' embeddings into clusters of a size a package can have.

- `gmm` (default): Gaussian mixtures (diagonal covariances) for every number of components in a range derived
  from the number of deals and the target size, the one with the lowest BIC kept; `kmeans`: k-means, the
  number of clusters chosen by silhouette over the same range.
- Embeddings are first reduced by PCA to at most `REDUCED_DIMENSIONS`: a mixture in 384 dimensions over a few
  hundred deals is all covariance and no signal, and the reduction keeps 10,000 deals fast.
- A cluster over `max_deals_per_cluster` is split by k-means until every part fits; a cluster under
  `min_cluster_size` is dropped and its deals listed as unclustered.
- Soft assignments (GMM only): a deal also joins every other component whose probability for it reaches the
  threshold, in that component's part nearest to it. Extra memberships do not count against the size limits.

Seeded throughout: the same vectors and parameters give the same clusters.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

METHODS = ("gmm", "kmeans")
REDUCED_DIMENSIONS = 24
# Largest number of component counts tried: BIC over a wide range costs a fit each.
MAX_CANDIDATES = 12
# Mixtures of more components than this are not fitted: on thousands of deals the range is capped here, and the
# clusters over the maximum size are split by k-means, which is far cheaper than a mixture of a thousand parts.
MAX_COMPONENTS = 48
# The number of components is chosen on a seeded sample of at most this many deals, then fitted on all of them.
SELECTION_SAMPLE = 2_000


class ClusteringError(ValueError):
    """Parameters that cannot work (e.g. soft assignments with k-means)."""


@dataclass(frozen=True)
class ClusterParams:
    method: str = "gmm"
    max_deals_per_cluster: int = 25
    min_cluster_size: int = 5
    soft_assignments: bool = False
    soft_threshold: float = 0.3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ClusteringError(f"unknown clustering method {self.method!r} (one of: {', '.join(METHODS)})")
        if self.soft_assignments and self.method != "gmm":
            raise ClusteringError("soft assignments need the gmm method (k-means has no probabilities)")
        if not 1 <= self.min_cluster_size <= self.max_deals_per_cluster:
            raise ClusteringError("min_cluster_size must be between 1 and max_deals_per_cluster")
        if not 0 < self.soft_threshold <= 1:
            raise ClusteringError("the soft-assignment threshold must be in (0, 1]")

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "max_deals_per_cluster": self.max_deals_per_cluster,
            "min_cluster_size": self.min_cluster_size,
            "soft_assignments": self.soft_assignments,
            "soft_threshold": self.soft_threshold,
            "seed": self.seed,
        }


@dataclass
class Cluster:
    cluster_id: int
    component: int  # the mixture component (or k-means cluster) it was split from
    members: list[int]  # indexes into the deals, primary members
    soft_members: dict[int, float] = field(default_factory=dict)  # index -> probability


@dataclass
class Clustering:
    clusters: list[Cluster]  # kept, numbered from 1
    dropped: list[Cluster]  # under min_cluster_size
    components: int
    score_by_components: dict[int, float]  # BIC (gmm) or silhouette (kmeans)

    @property
    def unclustered(self) -> list[int]:
        return sorted(i for cluster in self.dropped for i in cluster.members)


def component_range(deals: int, params: ClusterParams) -> list[int]:
    """Counts of components to try: from enough for clusters of the maximum size to enough for clusters of a
    third of it, capped by the deals there are, by MAX_COMPONENTS (from half of it) and by MAX_CANDIDATES evenly
    spread values."""
    low = max(1, math.ceil(deals / params.max_deals_per_cluster))
    high = max(
        low,
        min(deals // max(1, params.min_cluster_size), math.ceil(3 * deals / params.max_deals_per_cluster)),
    )
    high = min(high, max(1, deals - 1), MAX_COMPONENTS)
    low = min(low, high, MAX_COMPONENTS // 2)
    if high - low + 1 <= MAX_CANDIDATES:
        return list(range(low, high + 1))
    return sorted({round(v) for v in np.linspace(low, high, MAX_CANDIDATES)})


def reduce(vectors: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    dimensions = min(REDUCED_DIMENSIONS, vectors.shape[0] - 1, vectors.shape[1])
    if dimensions < 1 or vectors.shape[1] <= REDUCED_DIMENSIONS:
        return vectors
    return PCA(n_components=dimensions, random_state=seed).fit_transform(vectors)


def cluster(vectors: np.ndarray, params: ClusterParams) -> Clustering:
    """Cluster the rows of `vectors` (one per deal)."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    # One thread: these are hundreds of fits of small matrices, where BLAS and OpenMP threads cost more in
    # hand-offs than they save (10,000 deals: 6x faster on two busy cores).
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        # Identical deals (relisted copies) leave fewer distinct points than clusters asked for: expected here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _cluster(vectors, params)


def _cluster(vectors: np.ndarray, params: ClusterParams) -> Clustering:
    if len(vectors) == 0:
        return Clustering([], [], 0, {})
    points = reduce(np.asarray(vectors, dtype=np.float64), params.seed)
    if len(points) < 2:
        labels, probabilities, scores, components = np.zeros(len(points), dtype=int), None, {}, 1
    elif params.method == "gmm":
        labels, probabilities, scores, components = _gmm(points, params)
    else:
        labels, scores, components = _kmeans(points, params)
        probabilities = None
    parts = split_oversized(points, labels, params)
    if params.soft_assignments and probabilities is not None:
        _add_soft_members(points, labels, probabilities, parts, params.soft_threshold)
    kept = [c for c in parts if len(c.members) >= params.min_cluster_size]
    dropped = [c for c in parts if len(c.members) < params.min_cluster_size]
    for number, kept_cluster in enumerate(kept, start=1):
        kept_cluster.cluster_id = number
    for number, dropped_cluster in enumerate(dropped, start=len(kept) + 1):
        dropped_cluster.cluster_id = number
        dropped_cluster.soft_members = {}
    return Clustering(kept, dropped, components, scores)


def _gmm(points: np.ndarray, params: ClusterParams):
    from sklearn.mixture import GaussianMixture

    def mixture(components: int) -> GaussianMixture:
        return GaussianMixture(
            n_components=components,
            covariance_type="diag",
            reg_covar=1e-4,
            n_init=2,
            random_state=params.seed,
        )

    sample = points
    if len(points) > SELECTION_SAMPLE:
        rng = np.random.default_rng(params.seed)
        sample = points[np.sort(rng.choice(len(points), SELECTION_SAMPLE, replace=False))]
    fitted = {k: mixture(k).fit(sample) for k in component_range(len(points), params)}
    scores = {k: float(model.bic(sample)) for k, model in fitted.items()}
    chosen = min(scores, key=lambda k: (scores[k], k))
    # Chosen on a sample: fitted again on every deal.
    best = fitted[chosen] if len(sample) == len(points) else mixture(chosen).fit(points)
    return best.predict(points), best.predict_proba(points), scores, chosen


def _kmeans(points: np.ndarray, params: ClusterParams):
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    scores: dict[int, float] = {}
    best_labels, best_k = np.zeros(len(points), dtype=int), 1
    for k in component_range(len(points), params):
        if k < 2:
            continue
        labels = KMeans(n_clusters=k, n_init=4, random_state=params.seed).fit_predict(points)
        if len(set(labels)) < 2:
            continue
        scores[k] = float(
            silhouette_score(points, labels, sample_size=min(len(points), 2000), random_state=params.seed)
        )
        if scores[k] == max(scores.values()):
            best_labels, best_k = labels, k
    return best_labels, scores, best_k


def split_oversized(points: np.ndarray, labels: np.ndarray, params: ClusterParams) -> list[Cluster]:
    """One Cluster per component, those over the maximum split by k-means until every part fits."""
    from sklearn.cluster import KMeans

    parts: list[Cluster] = []
    for component in sorted(set(labels.tolist())):
        pending = [np.flatnonzero(labels == component)]
        while pending:
            members = pending.pop(0)
            if len(members) <= params.max_deals_per_cluster:
                parts.append(Cluster(0, int(component), members.tolist()))
                continue
            pieces = math.ceil(len(members) / params.max_deals_per_cluster)
            split = KMeans(n_clusters=pieces, n_init=4, random_state=params.seed).fit_predict(points[members])
            if len(set(split.tolist())) < 2:
                # Identical points k-means cannot tell apart: cut in order instead.
                split = np.arange(len(members)) * pieces // len(members)
            pending += [members[split == piece] for piece in range(pieces) if (split == piece).any()]
    return parts


def _add_soft_members(
    points: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, parts: list[Cluster], threshold: float
) -> None:
    by_component: dict[int, list[Cluster]] = {}
    for part in parts:
        by_component.setdefault(part.component, []).append(part)
    for index in range(len(points)):
        for component in np.flatnonzero(probabilities[index] >= threshold):
            if component == labels[index] or component not in by_component:
                continue
            candidates = by_component[int(component)]
            nearest = min(
                candidates,
                key=lambda c: float(np.linalg.norm(points[c.members].mean(axis=0) - points[index])),
            )
            nearest.soft_members[index] = float(probabilities[index, component])
