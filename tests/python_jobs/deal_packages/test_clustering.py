"""Clustering deals' embeddings: GMM (BIC) and k-means find known groups; big clusters are split, small ones
dropped and listed; soft assignments; seeded."""

from __future__ import annotations

import numpy as np
import pytest

from python_jobs.deal_packages.clustering import (
    ClusteringError,
    ClusterParams,
    cluster,
    component_range,
    split_oversized,
)


def blobs(
    sizes: list[int], seed: int = 1, spread: float = 0.05, dimensions: int = 8
) -> tuple[np.ndarray, list[int]]:
    """Groups of points around far-apart centres (unit vectors along separate axes); and each point's group."""
    rng = np.random.default_rng(seed)
    points, groups = [], []
    for group, size in enumerate(sizes):
        centre = np.zeros(dimensions)
        centre[group] = 1.0
        points.append(centre + rng.normal(0, spread, (size, dimensions)))
        groups += [group] * size
    return np.vstack(points), groups


def found_groups(result) -> list[set[int]]:
    return sorted((set(c.members) for c in result.clusters), key=min)


def expected_groups(groups: list[int]) -> list[set[int]]:
    return sorted(({i for i, g in enumerate(groups) if g == group} for group in set(groups)), key=min)


@pytest.mark.parametrize("method", ["gmm", "kmeans"])
def test_known_groups_are_found(method):
    points, groups = blobs([12, 15, 10, 14])
    result = cluster(points, ClusterParams(method=method, max_deals_per_cluster=25, min_cluster_size=5))
    assert found_groups(result) == expected_groups(groups)
    assert result.components == 4
    assert result.dropped == []


def test_gmm_keeps_the_component_count_with_the_lowest_bic():
    points, _ = blobs([12, 15, 10, 14])
    result = cluster(points, ClusterParams(method="gmm"))
    assert set(result.score_by_components) == set(component_range(51, ClusterParams()))
    assert min(result.score_by_components, key=result.score_by_components.get) == 4


def test_the_component_range_follows_the_deals_and_the_target_size():
    params = ClusterParams(max_deals_per_cluster=25, min_cluster_size=5)
    assert component_range(100, params) == list(range(4, 13))
    assert component_range(3, params) == [1]
    # Thousands of deals: at most 48 components (from 24); k-means splits what is still too big.
    big = component_range(10_000, params)
    assert (big[0], big[-1], len(big)) == (24, 48, 12)


def test_a_cluster_over_the_maximum_is_split_until_every_part_fits():
    points, groups = blobs([60, 12], spread=0.2)
    parts = split_oversized(
        points, np.array(groups), ClusterParams(max_deals_per_cluster=25, min_cluster_size=1)
    )
    sizes = sorted(len(c.members) for c in parts)
    assert max(sizes) <= 25
    assert sum(sizes) == 72
    assert [c.component for c in parts].count(0) == 3  # the 60 became three parts
    assert [sorted(c.members) for c in parts if c.component == 1] == [list(range(60, 72))]
    assert sorted(m for c in parts if c.component == 0 for m in c.members) == list(range(60))


def test_clusters_under_the_minimum_are_dropped_and_their_deals_listed():
    points, groups = blobs([12, 15, 3])
    result = cluster(points, ClusterParams(method="gmm", min_cluster_size=5))
    assert found_groups(result) == expected_groups(groups)[:2]
    assert result.unclustered == [27, 28, 29]
    assert [c.cluster_id for c in result.clusters] == [1, 2]


def mirrored_groups_with_a_deal_between() -> np.ndarray:
    """Two groups, mirror images of each other across x = y, and one point on that line: by symmetry it
    belongs to each group with probability one half, while every other point is far inside its own group."""
    rng = np.random.default_rng(5)
    first = np.array([1.0, 0.0]) + rng.normal(0, 0.25, (30, 2))
    return np.vstack([first, first[:, ::-1], [[0.5, 0.5]]])


@pytest.mark.parametrize(("threshold", "joins"), [(0.3, True), (0.6, False)])
def test_soft_assignments_let_a_deal_between_two_clusters_join_both(threshold, joins):
    points = mirrored_groups_with_a_deal_between()
    # Sizes that leave two components as the only candidate (a lone point would otherwise be a component).
    params = {"method": "gmm", "min_cluster_size": 21, "max_deals_per_cluster": 31}
    assert component_range(61, ClusterParams(**params)) == [2]
    hard = cluster(points, ClusterParams(**params))
    soft = cluster(points, ClusterParams(**params, soft_assignments=True, soft_threshold=threshold))
    assert all(not c.soft_members for c in hard.clusters)
    assert len(soft.clusters) == 2
    assert [c for c in soft.clusters if 60 in c.members] != []
    others = [c for c in soft.clusters if 60 in c.soft_members]
    if joins:
        assert len(others) == 1
        assert 60 not in others[0].members
        assert others[0].soft_members[60] == pytest.approx(0.5, abs=0.1)
    else:
        assert others == []
    # Points well inside a group never join the other.
    assert all(set(c.soft_members) <= {60} for c in soft.clusters)


def test_same_seed_same_clusters():
    points, _ = blobs([20, 20, 20], spread=0.4)
    first = cluster(points, ClusterParams(seed=3))
    again = cluster(points, ClusterParams(seed=3))
    assert [c.members for c in first.clusters] == [c.members for c in again.clusters]


def test_soft_assignments_need_gmm():
    with pytest.raises(ClusteringError, match="soft assignments need the gmm method"):
        ClusterParams(method="kmeans", soft_assignments=True)
