"""The numerical core of the segmentation: k selection, stable ids and names, robustness, assignment."""

from __future__ import annotations

import numpy as np
import pytest

from python_jobs.definitions import AXES_BY_NAME, MAX_SEGMENTS_PER_AXIS
from python_jobs.segmentation.clustering import (
    AxisData,
    ClusteringParameters,
    describe_centroid,
    fit_axes,
    fit_axis,
    nearest_centroids,
    stability_level,
    standardisation,
)
from python_jobs.segmentation.naming import mid_rank_percentiles, segment_percentiles

# Small sub-samples keep each fit well under a second; the defaults are exercised by the job tests.
FAST = ClusteringParameters(silhouette_sample=800, robustness_sample=800, bootstrap_resamples=5, n_init=2)


def blobs(centres: list[list[float]], per_blob: int, spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(centre, spread, size=(per_blob, len(centre))) for centre in centres])


def first_seen(count: int, seed: int = 7) -> np.ndarray:
    """First-seen days unrelated to the features, as in a population whose behaviour does not drift."""
    return np.random.default_rng(seed).uniform(17_000, 20_000, size=count)


THREE_BLOBS = blobs([[0.5, 1.0], [4.0, 30.0], [9.0, 5.0]], per_blob=300, spread=0.2, seed=1)
FIVE_BLOBS = blobs(
    [[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10], [10, 10, 10]], per_blob=200, spread=0.5, seed=2
)


def test_three_separated_blobs_give_three_segments():
    fit = fit_axis("purchase_frequency", THREE_BLOBS, first_seen(900), FAST)

    assert fit.segment_count == 3
    assert max(fit.silhouette_by_k, key=fit.silhouette_by_k.get) == 3
    assert sorted(fit.silhouette_by_k) == list(range(2, 7))
    assert not fit.is_silhouette_poor
    assert fit.sample_customers == [300, 300, 300]


def test_five_separated_blobs_give_five_segments():
    fit = fit_axis("purchase_value", FIVE_BLOBS, first_seen(1000), FAST)

    assert fit.segment_count == 5
    assert fit.silhouette == max(fit.silhouette_by_k.values())


def test_same_input_and_seed_give_identical_segments():
    first = fit_axis("purchase_value", FIVE_BLOBS, first_seen(1000), FAST)
    again = fit_axis("purchase_value", FIVE_BLOBS, first_seen(1000), FAST)

    np.testing.assert_array_equal(first.centroids, again.centroids)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert first.silhouette_by_k == again.silhouette_by_k
    assert first.bootstrap_jaccard == again.bootstrap_jaccard
    assert (first.feature_drop_agreement, first.time_window_agreement) == (
        again.feature_drop_agreement,
        again.time_window_agreement,
    )


def test_segment_ids_follow_the_naming_key_and_names_come_from_the_axis():
    # Ladder on orders_per_month (the first feature): blob centres at 0.5, 4 and 9 orders per month.
    fit = fit_axis("purchase_frequency", THREE_BLOBS, first_seen(900), FAST)
    raw = fit.feature_means + fit.feature_scales * fit.centroids

    assert np.all(np.diff(raw[:, 0]) > 0)
    np.testing.assert_allclose(raw[:, 0], [0.5, 4.0, 9.0], atol=0.1)
    # Three equal blobs: the centroids sit at the 17th, 50th and 83rd percentiles of the population.
    assert fit.segment_names == ["infrequent_buyer", "typical_frequency_buyer", "very_frequent_buyer"]
    # Labels follow the ids: the first 300 customers (the 0.5-orders blob) are segment 1.
    assert [set(fit.labels[:300]), set(fit.labels[300:600]), set(fit.labels[600:])] == [{1}, {2}, {3}]


def test_dominant_naming_orders_by_the_strongest_share():
    # Customers who spread their tickets, email-leaning and phone-dominant: the order key is the largest share.
    data = blobs([[0.34, 0.33, 0.33], [0.6, 0.2, 0.2], [0.05, 0.05, 0.9]], per_blob=300, spread=0.02, seed=3)
    fit = fit_axis("communication_preference", data, first_seen(900), FAST)
    axis = AXES_BY_NAME["communication_preference"]
    raw = fit.feature_means + fit.feature_scales * fit.centroids
    keys = [axis.naming.order_key(dict(zip(axis.feature_names, row, strict=True))) for row in raw]

    assert keys == sorted(keys)
    assert fit.segment_names == ["mixed_channels", "email_first", "phone_only"]


def test_bootstrap_jaccard_is_near_one_for_blobs_and_lower_for_noise():
    separated = fit_axis("purchase_value", FIVE_BLOBS, first_seen(1000), FAST)
    noise = np.random.default_rng(4).uniform(size=(1000, 3))
    structureless = fit_axis("purchase_value", noise, first_seen(1000), FAST)

    assert min(separated.bootstrap_jaccard) > 0.95
    assert set(separated.bootstrap_stability()) == {"highly_stable"}
    assert np.mean(structureless.bootstrap_jaccard) < 0.8
    assert np.mean(structureless.bootstrap_jaccard) < np.mean(separated.bootstrap_jaccard) - 0.2


def test_agreements_are_adjusted_rand_indices():
    separated = fit_axis("purchase_value", FIVE_BLOBS, first_seen(1000), FAST)
    noise = fit_axis(
        "purchase_value", np.random.default_rng(5).normal(size=(1000, 3)), first_seen(1000), FAST
    )

    for fit in (separated, noise):
        assert -1.0 <= fit.feature_drop_agreement <= 1.0
        assert -1.0 <= fit.time_window_agreement <= 1.0
    # Blobs that do not drift over time are found the same in older and newer customers.
    assert separated.time_window_agreement > 0.95
    assert noise.time_window_agreement < separated.time_window_agreement
    # Every blob differs from another in one feature only, so dropping a feature merges some blobs.
    assert separated.feature_drop_agreement < 0.95


def test_time_window_agreement_sees_drift():
    # Older customers form two groups on one feature, newer ones two groups on the other.
    rng = np.random.default_rng(6)
    older = np.column_stack([rng.choice([0.0, 10.0], 500), rng.normal(0, 1, 500)])
    newer = np.column_stack([rng.normal(0, 1, 500), rng.choice([0.0, 10.0], 500)])
    days = np.concatenate([np.arange(500.0), 1000 + np.arange(500.0)])
    drifting = fit_axis("purchase_frequency", np.vstack([older, newer]), days, FAST)
    # The same customers with their first-seen dates shuffled: no drift left to see.
    steady = fit_axis("purchase_frequency", np.vstack([older, newer]), rng.permutation(days), FAST)

    assert drifting.time_window_agreement < 0.6
    assert steady.time_window_agreement > 0.9


def test_structureless_noise_is_flagged_as_poor_silhouette():
    noise = np.random.default_rng(7).normal(size=(1500, 3))
    fit = fit_axis("purchase_value", noise, first_seen(1500), FAST)

    assert fit.silhouette < 0.25
    assert fit.is_silhouette_poor
    # Still a full segmentation: a poor axis is reported, not replaced by a fallback.
    assert fit.segment_count >= 2
    assert len(fit.segment_names) == fit.segment_count


def test_overall_robustness_combines_the_three_measures():
    fit = fit_axis("purchase_frequency", THREE_BLOBS, first_seen(900), FAST)
    fit.bootstrap_jaccard = [0.9, 0.6, 0.3]
    fit.feature_drop_agreement, fit.time_window_agreement = -0.2, 0.6

    np.testing.assert_allclose(fit.overall_robustness(), [(0.9 + 0.6) / 3, (0.6 + 0.6) / 3, (0.3 + 0.6) / 3])


def test_k_range_is_capped_and_validated():
    assert ClusteringParameters(k_max=10).k_values() == list(range(2, MAX_SEGMENTS_PER_AXIS + 1))
    with pytest.raises(ValueError, match="k_min"):
        ClusteringParameters(k_min=1)
    with pytest.raises(ValueError, match="empty"):
        ClusteringParameters(k_min=5, k_max=4)
    with pytest.raises(ValueError, match="robustness_sample"):
        ClusteringParameters(robustness_sample=5)


def test_a_constant_feature_keeps_scale_one():
    data = np.column_stack([np.full(100, 0.1), np.arange(100.0)])
    _, scales = standardisation(data)

    assert scales[0] == 1.0
    assert scales[1] == pytest.approx(np.arange(100.0).std())


def test_few_distinct_points_limit_k():
    data = np.repeat([[0.0, 0.0], [5.0, 5.0]], 200, axis=0)
    fit = fit_axis("purchase_frequency", data, first_seen(400), FAST)

    assert fit.segment_count == 2
    assert list(fit.silhouette_by_k) == [2]


def test_a_tiny_population_is_segmented_without_failing():
    three = fit_axis(
        "purchase_frequency", np.array([[0.0, 0.0], [1.0, 5.0], [9.0, 2.0]]), first_seen(3), FAST
    )
    identical = fit_axis("purchase_frequency", np.zeros((3, 2)), first_seen(3), FAST)

    assert three.segment_count in (2, 3)
    assert three.silhouette_by_k[3] == 0.0  # three points in three clusters separate nothing
    # A constant axis cannot be split: one segment, reported as poorly separated rather than hidden.
    assert identical.segment_count == 1
    assert identical.is_silhouette_poor
    assert identical.segment_names == ["typical_frequency_buyer"]  # the middle rung of the ladder
    # One segment: no robustness to report, rather than a perfect 1.00.
    assert identical.overall_robustness() == [None]
    assert identical.mean_robustness() is None
    assert identical.bootstrap_stability() == [None]
    assert (identical.feature_drop_agreement, identical.time_window_agreement) == (None, None)


def test_nearest_centroid_ties_go_to_the_lowest_segment_id():
    centroids = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 5.0]])
    means, scales = np.array([10.0, 100.0]), np.array([2.0, 4.0])
    # Raw (10, 100) is z = (0, 0): equally far from segments 1 and 2. Raw (12, 100) is z = (1, 0): segment 1.
    raw = np.array([[10.0, 100.0], [12.0, 100.0], [8.0, 100.0], [10.0, 118.0]])

    index, distance, second = nearest_centroids(raw, means, scales, centroids)

    np.testing.assert_array_equal(index, [0, 0, 1, 2])
    np.testing.assert_allclose(distance, [1.0, 0.0, 0.0, 0.25])
    np.testing.assert_allclose(second, [1.0, 4.0, 4.0, 21.25])
    swapped, _, _ = nearest_centroids(raw[:1], means, scales, centroids[[1, 0, 2]])
    assert swapped.tolist() == [0]


def test_nearest_centroid_with_one_segment_has_no_second():
    index, distance, second = nearest_centroids(
        np.array([[3.0]]), np.array([1.0]), np.array([2.0]), np.zeros((1, 1))
    )

    assert index.tolist() == [0]
    assert distance.tolist() == [1.0]
    assert np.isinf(second).all()


def test_defining_features_name_the_two_furthest_features():
    names = ["average_order_value", "max_order_value", "log_lifetime_value"]
    means, scales = np.array([210.4, 500.0, 5.0]), np.array([100.0, 200.0, 1.0])

    assert describe_centroid(names, np.array([5.248, -0.6, 0.3]), means, scales) == (
        "average order value far above average (735.20 vs 210.40); max order value below average (380.00 vs 500.00)"
    )
    assert describe_centroid(names, np.array([0.1, 0.3, -0.4]), means, scales) == (
        # ln(1 + value): e^4.6 - 1 = 98.5 against e^5 - 1 = 147.4, two thirds of it: below, not slightly.
        "lifetime value below average (98 vs 147); max order value slightly above average (560.00 vs 500.00)"
    )
    assert describe_centroid(names, np.array([0.1, -0.2, 0.0]), means, scales) == (
        "close to the average on every feature"
    )


def test_the_degree_of_a_positive_feature_agrees_with_the_values_shown():
    """On a skewed feature a standard deviation is wide: 0.12 against 0.26 is less than half the average, which a
    reader calls far below, however few standard deviations it is."""
    names = ["holiday_season_order_share", "max_order_value"]
    means, scales = np.array([0.26, 611.59]), np.array([0.5, 900.0])

    assert describe_centroid(names, np.array([-0.28, -0.306922]), means, scales) == (
        "max order value below average (335.36 vs 611.59); holiday season order share far below average (12% vs 26%)"
    )


def test_a_spend_trend_reads_as_a_share_of_the_spend_before():
    """ln((1 + last 180 days) / (1 + the 180 before)): e^-4.88 = 0.0076 against e^-2.51 = 0.081, less than half."""
    names = ["spend_trend_log_ratio", "order_count_trend"]
    means, scales = np.array([-2.51, -1.0]), np.array([2.0, 2.0])

    assert describe_centroid(names, np.array([-1.185, -0.73]), means, scales) == (
        "spend in the last 180 days as a share of the 180 before far below average (0.8% vs 8.1%); "
        "orders in the last 180 days minus the 180 before below average (-2.46 vs -1.00)"
    )
    assert describe_centroid(names, np.array([1.76, 1.085]), means, scales).startswith(
        "spend in the last 180 days as a share of the 180 before far above average (275% vs 8.1%)"
    )


def test_shares_and_rates_read_as_percentages():
    names = ["returned_item_share", "average_discount_rate"]
    means, scales = np.array([0.05, 0.2]), np.array([0.1, 0.1])

    assert describe_centroid(names, np.array([3.0, -1.0]), means, scales) == (
        "returned item share far above average (35% vs 5.0%); average discount rate far below average (10% vs 20%)"
    )


def test_defining_features_do_not_print_negative_zero():
    text = describe_centroid(["a", "b"], np.array([-1.0, 0.0]), np.array([0.0, 0.0]), np.array([1e-16, 1.0]))

    assert text == "a far below average (0.00 vs 0.00)"


def test_stability_levels():
    assert [stability_level(v) for v in (0.59, 0.60, 0.75, 0.85, 0.851)] == [
        "unstable",
        "doubtful",
        "stable",
        "stable",
        "highly_stable",
    ]


def test_fit_axes_in_process_reports_each_axis_and_keeps_the_order():
    finished = []
    days = first_seen(len(FIVE_BLOBS))
    fits = fit_axes(
        {
            "purchase_value": AxisData(FIVE_BLOBS, days),
            "purchase_frequency": AxisData(FIVE_BLOBS[:, :2], days),
        },
        ClusteringParameters(workers=1, silhouette_sample=500, robustness_sample=500, bootstrap_resamples=2),
        on_fit=lambda fit, count: finished.append((fit.axis_name, count)),
    )

    assert list(fits) == ["purchase_value", "purchase_frequency"]
    assert finished == [("purchase_value", 1), ("purchase_frequency", 2)]


def test_percentiles_are_weighted_mid_ranks_and_a_segment_sits_at_its_members_mean():
    values = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 3.0])

    np.testing.assert_allclose(
        mid_rank_percentiles(values, np.ones(6)), [0.25] * 3 + [7 / 12, 9 / 12, 11 / 12]
    )
    # The zeros standing for three times as many customers each: 9 of 12 customers, centred at 4.5 / 12.
    weights = np.array([3.0, 3.0, 3.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(mid_rank_percentiles(values, weights)[[0, 3]], [4.5 / 12, 9.5 / 12])
    # Segment 0: the zeros and the 1; segment 1: the 2 and the 3.
    labels = np.array([0, 0, 0, 0, 1, 1])
    np.testing.assert_allclose(
        segment_percentiles(values, np.ones(6), labels, 2), [(3 * 0.25 + 7 / 12) / 4, (9 / 12 + 11 / 12) / 2]
    )


def test_a_majority_with_a_few_small_values_is_not_named_as_the_top():
    # 70% return nothing, 23% a little, 7% a lot. Placed by its raw centroid (0.02, above every zero), the
    # majority segment was `frequent_returner`; most of its customers (700 of 930) returned nothing at all, and
    # its name says so, without claiming it for the 230 who did return a little.
    rng = np.random.default_rng(13)
    none = np.zeros((700, 2))
    little = rng.uniform(0.02, 0.1, size=(230, 2))
    much = rng.uniform(0.4, 0.8, size=(70, 2))
    fit = fit_axis("return_behaviour", np.vstack([none, little, much]), first_seen(1000), FAST)

    assert fit.segment_count == 2
    assert fit.segment_names == ["mostly_no_returns", "serial_returner"]


def test_a_majority_that_mostly_returned_something_is_named_from_the_population():
    # 30% return nothing, 63% a little, 7% a lot: the majority's typical member did return something, so it is
    # named by where it sits (its members' mean percentile), not "never".
    rng = np.random.default_rng(13)
    none = np.zeros((300, 2))
    little = rng.uniform(0.02, 0.1, size=(630, 2))
    much = rng.uniform(0.4, 0.8, size=(70, 2))
    fit = fit_axis("return_behaviour", np.vstack([none, little, much]), first_seen(1000), FAST)

    assert fit.segment_count == 2
    assert fit.segment_names == ["occasional_returner", "serial_returner"]


def test_two_segments_both_below_the_median_are_not_named_lowest_and_highest():
    # A long tail: 80% of customers near 1 order a month, 20% spread up to 12. k-means splits the bulk from the
    # tail's top, and both centroids lie in the lower half of the customers or barely above it.
    rng = np.random.default_rng(11)
    bulk = rng.normal([1.0, 3.0], 0.3, size=(800, 2))
    tail = np.column_stack([rng.uniform(3, 12, 200), rng.uniform(5, 30, 200)])
    fit = fit_axis("purchase_frequency", np.vstack([bulk, tail]), first_seen(1000), FAST)
    names = AXES_BY_NAME["purchase_frequency"].naming.names

    assert fit.segment_count == 2
    # The bulk's centroid sits near the median; before, k = 2 named it `rare_buyer` (the lowest rung) anyway.
    assert fit.segment_names[0] == names[3]
    assert fit.segment_names[1] in names[5:]


def test_names_place_the_centroids_in_the_population_the_weights_describe():
    # Two blobs; in the population the low one holds nineteen customers for every one of the high one.
    data = blobs([[1.0, 1.0], [5.0, 5.0]], per_blob=300, spread=0.1, seed=12)
    weights = np.concatenate([np.full(300, 19.0), np.ones(300)])
    unweighted = fit_axis("purchase_frequency", data, first_seen(600), FAST)
    weighted = fit_axis("purchase_frequency", data, first_seen(600), FAST, weights)

    # Equal halves: the 25th and 75th percentiles. Nineteen to one: the 47.5th and the 97.5th.
    assert unweighted.segment_names == ["occasional_buyer", "frequent_buyer"]
    assert weighted.segment_names == ["typical_frequency_buyer", "power_buyer"]
