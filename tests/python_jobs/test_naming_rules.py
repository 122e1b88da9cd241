"""Segments that would share a name are told apart by the features they differ on (python_jobs/naming_rules.py).

Centroids, population percentiles and expected names are written by hand; the percentiles are those of the
3,000-customer demo where a case comes from it.
"""

from __future__ import annotations

import numpy as np
import pytest

from python_jobs import definitions
from python_jobs.segmentation.naming import name_segments


def positions(axis_name: str, *rows: tuple[float, ...]) -> list[dict[str, float]]:
    """Per segment, its population percentile on each feature of the axis, in the axis's feature order."""
    names = definitions.AXES_BY_NAME[axis_name].feature_names
    return [dict(zip(names, row, strict=True)) for row in rows]


def test_two_typical_support_segments_are_told_apart_by_complex_tickets():
    # The demo's two `typical_support` segments: 1.4% and 68% complex tickets, both near the median number of
    # tickets per order, so "lower"/"upper" on tickets per order said nothing.
    axis = definitions.AXES_BY_NAME["problem_complexity"]
    centroids = [
        {"tickets_per_order": 0.575, "high_complexity_ticket_share": 0.014, "mean_resolution_hours": 16.5},
        {"tickets_per_order": 0.963, "high_complexity_ticket_share": 0.679, "mean_resolution_hours": 77.2},
    ]
    where = positions("problem_complexity", (0.43, 0.36, 0.37), (0.58, 0.87, 0.81))

    names = axis.segment_names(centroids, [0.43, 0.58], positions=where)
    swapped = axis.segment_names(centroids[::-1], [0.58, 0.43], positions=where[::-1])

    assert names == ["typical_support_fewer_complex_tickets", "typical_support_more_complex_tickets"]
    assert swapped == names[::-1]


def test_three_segments_each_take_the_feature_they_stand_out_on():
    # The demo's three `no_guide_reading` segments: one adds little to its cart, one reads deal pages, one adds a
    # lot to its cart. Each is named by its own difference from the other two, not all by one feature.
    axis = definitions.AXES_BY_NAME["product_knowledge"]
    centroids = [dict.fromkeys(axis.feature_names, 0.0) for _ in range(3)]
    where = positions(
        "product_knowledge",
        (0.40, 0.41, 0.44, 0.33),
        (0.42, 0.91, 0.48, 0.45),
        (0.48, 0.41, 0.47, 0.87),
    )

    # 77%, 69% and 62% of their members read no guide at all (the demo's): mostly, not all.
    names = axis.segment_names(centroids, [0.40, 0.42, 0.48], [0.77, 0.69, 0.62], where)

    assert names == [
        "mostly_no_guide_reading_fewer_cart_adds",
        "mostly_no_guide_reading_more_deal_browsing",
        "mostly_no_guide_reading_more_cart_adds",
    ]


def test_a_word_is_given_once_so_the_next_best_difference_names_the_segment():
    # Two of three segments stand out with more repeat purchases; the one that stands out less on it takes its
    # next best difference (fewer orders) rather than a second `more_repeat_purchases`.
    axis = definitions.AXES_BY_NAME["purchase_frequency"]
    centroids = [dict.fromkeys(axis.feature_names, 1.0) for _ in range(3)]
    # (orders_per_month, repeat_purchase_days)
    where = positions("purchase_frequency", (0.55, 0.90), (0.42, 0.80), (0.55, 0.10))

    names = axis.segment_names(centroids, [0.55, 0.42, 0.55], positions=where)

    assert names == [
        "typical_frequency_buyer_more_repeat_purchases",
        "typical_frequency_buyer_fewer_orders",
        "typical_frequency_buyer_fewer_repeat_purchases",
    ]


def test_two_phone_first_segments_are_told_apart_by_what_each_has_more_of():
    # The demo's: 56% phone, 38% email, 7% chat against 64% phone, 7% email, 29% chat. They differ most on chat
    # (percentiles 0.39 against 0.64) and nearly as much on email (0.64 against 0.40): "more email" says what the
    # first does, "less chat" only what it does not.
    axis = definitions.AXES_BY_NAME["communication_preference"]
    centroids = [
        {"email_ticket_share": 0.375, "chat_ticket_share": 0.07, "phone_ticket_share": 0.555},
        {"email_ticket_share": 0.07, "chat_ticket_share": 0.29, "phone_ticket_share": 0.639},
    ]
    where = positions("communication_preference", (0.64, 0.39, 0.67), (0.40, 0.64, 0.71))

    assert axis.segment_names(centroids, positions=where) == [
        "phone_first_more_email",
        "phone_first_more_chat",
    ]


def test_a_less_word_is_kept_when_it_is_much_the_stronger_difference():
    # Chat 0.30 against 0.70, email only 0.56 against 0.48: "less chat" is five times the difference.
    axis = definitions.AXES_BY_NAME["communication_preference"]
    centroids = [
        {"email_ticket_share": 0.30, "chat_ticket_share": 0.05, "phone_ticket_share": 0.65},
        {"email_ticket_share": 0.05, "chat_ticket_share": 0.30, "phone_ticket_share": 0.65},
    ]
    where = positions("communication_preference", (0.56, 0.30, 0.70), (0.48, 0.70, 0.70))

    assert axis.segment_names(centroids, positions=where) == [
        "phone_first_less_chat",
        "phone_first_more_chat",
    ]


def test_none_is_claimed_for_all_only_when_nearly_all_are_at_zero():
    axis = definitions.AXES_BY_NAME["return_behaviour"]
    centroids = [{"returned_item_share": v, "returned_value_share": v} for v in (0.001, 0.03, 0.5)]

    names = axis.segment_names(centroids, [0.30, 0.40, 0.97], [0.96, 0.70, 0.10])

    assert names == ["never_returns", "mostly_no_returns", "serial_returner"]


def test_segments_no_feature_tells_apart_fall_back_to_their_place_among_them():
    axis = definitions.AXES_BY_NAME["purchase_value"]
    centroids = [
        {"average_order_value": 190.0, "max_order_value": 300.0, "log_lifetime_value": 5.0},
        {"average_order_value": 180.0, "max_order_value": 300.0, "log_lifetime_value": 5.0},
    ]
    # Under 5 percentile points apart on every feature: "higher order value" would not be a difference.
    where = positions("purchase_value", (0.46, 0.45, 0.50), (0.44, 0.47, 0.49))

    names = axis.segment_names(centroids, [0.46, 0.44], positions=where)

    assert names == ["mid_tier_upper", "mid_tier_lower"]


def test_more_segments_than_words_fall_back_to_their_place_among_them():
    # Two features give four words; five segments of one name cannot all have one.
    axis = definitions.AXES_BY_NAME["value_sophistication"]
    centroids = [{"unit_price_index": v, "premium_item_share": 0.0} for v in (1.0, 1.1, 1.2, 1.3, 1.4)]
    where = positions("value_sophistication", *[(0.41 + i * 0.04, 0.1 + i * 0.2) for i in range(5)])

    names = axis.segment_names(centroids, [0.41, 0.45, 0.49, 0.53, 0.57], positions=where)

    assert names == [f"mainstream_{s}" for s in ("lowest", "lower", "middle", "upper", "highest")]


def test_name_segments_places_each_segment_on_every_feature():
    # Four customers, two segments: the same tickets per order (both `typical_support`), complex tickets 0 against
    # 1 (percentiles 0.25 against 0.75), resolution hours 10, 12 against 11, 13 (0.375 against 0.625).
    features = np.array([[1.0, 0.0, 10.0], [1.0, 0.0, 12.0], [1.0, 1.0, 11.0], [1.0, 1.0, 13.0]])
    raw = [
        {"tickets_per_order": 1.0, "high_complexity_ticket_share": 0.0, "mean_resolution_hours": 11.0},
        {"tickets_per_order": 1.0, "high_complexity_ticket_share": 1.0, "mean_resolution_hours": 12.0},
    ]

    names = name_segments("problem_complexity", raw, features, np.ones(4), np.array([0, 0, 1, 1]))

    assert names == ["typical_support_fewer_complex_tickets", "typical_support_more_complex_tickets"]


def test_every_feature_of_every_axis_has_its_words_and_an_axis_without_them_is_refused():
    for axis in definitions.AXES:
        for feature in axis.feature_names:
            assert feature in definitions.CONTRASTS, (axis.name, feature)
    unnamed = definitions.Feature("basket_size", "Items per order.")
    with pytest.raises(ValueError, match=r"axis basket: no words .* for basket_size"):
        definitions.Axis("basket", "Basket size.", (unnamed,), definitions.Ladder("basket_size", ("a",) * 7))


@pytest.mark.parametrize("axis", definitions.AXES, ids=lambda axis: axis.name)
def test_accepted_names_are_identifiers_and_each_says_one_thing(axis):
    accepted = axis.accepted_segment_names()

    # Each (name, words) pair gives a name no other pair gives, so names told apart stay unique.
    assert len(accepted) == len(set(accepted))
    assert all(name.isidentifier() and name == name.lower() for name in accepted)
    assert max(len(name) for name in accepted) <= 60
