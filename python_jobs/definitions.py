"""Definitions shared by the SQL models and the Python jobs, written once.

dbt-py injects this module into dbt's Jinja context as `modules.segments` (see `[tool.dbt-py]` in
pyproject.toml), so `models/marts/customers/customer_features.sql` builds its columns from `AXES` and the
clustering job reads the same features from the same list. Keep this module import-light: it is loaded by every
dbt invocation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The naming rules are part of the shared definitions; re-exported so SQL and Python find them in one place.
from python_jobs.naming_rules import LADDER_LENGTH as LADDER_LENGTH
from python_jobs.naming_rules import MAX_SEGMENTS_PER_AXIS as MAX_SEGMENTS_PER_AXIS
from python_jobs.naming_rules import PERCENTILE_BAND_FLOORS as PERCENTILE_BAND_FLOORS
from python_jobs.naming_rules import SHARED_BAND_SUFFIXES as SHARED_BAND_SUFFIXES
from python_jobs.naming_rules import Dominant as Dominant
from python_jobs.naming_rules import Ladder as Ladder
from python_jobs.naming_rules import Positions as Positions
from python_jobs.naming_rules import ValueBands as ValueBands
from python_jobs.naming_rules import percentile_band as percentile_band
from python_jobs.naming_words import CONTRASTS as CONTRASTS


@dataclass(frozen=True)
class Requirement:
    """Data a customer must have before a feature exists for them (say, two purchase days for a purchase gap).

    `flag` is a boolean column of `marts.customer_features` saying whether the customer has it; `segment_name`
    is the explicit segment, on every axis that needs it, of the customers who do not. A missing feature is NULL,
    never a stand-in number: a customer with one purchase day has no gap between purchases, not a gap of 0 days.
    """

    flag: str
    segment_name: str
    description: str


@dataclass(frozen=True)
class Feature:
    """One behavioural feature: a column of `marts.customer_features`, NULL unless its requirements are met."""

    name: str
    description: str
    requires: tuple[Requirement, ...] = ()


# The two segment names the product segmentation job writes beside the taxonomy it finds: the system segment of a
# product that does not belong to the category at all, and the placeholder of a product no answer has placed (yet).
# The product marts and their tests read them from here through dbt-py.
OUT_OF_SCOPE_SEGMENT = "__OUT_OF_SCOPE__"
UNASSIGNED_SEGMENT = "__UNASSIGNED__"


# ------------------------------------------------------------------------------------------------ requirements
# In priority order: a customer who misses several requirements of an axis is placed in the segment of the first
# one missed (a customer without orders is `no_orders`, not `one_time_buyer`). `customer_features.sql` computes
# each flag; `int_customers_assigned_to_segments.sql` and `segments assign` apply this order.

HAS_ORDERS = Requirement("has_orders", "no_orders", "at least one completed order before observation_end")
HAS_REPEAT_PURCHASE = Requirement(
    "has_repeat_purchase",
    "one_time_buyer",
    "at least two purchase days (one purchase day has no gap between purchases)",
)
HAS_ORDERS_IN_360_DAYS = Requirement(
    "has_orders_in_360_days",
    "no_orders_in_360_days",
    "a completed order in the 360 days before observation_end (the two 180-day windows a trend compares)",
)
HAS_ORDERS_BEFORE_LAST_180_DAYS = Requirement(
    "has_orders_before_last_180_days",
    "new_in_last_180_days",
    "a completed order 180 days or more before observation_end (a customer before the last 180 days, so a trend "
    "has a before to compare)",
)
HAS_ORDER_LINES = Requirement(
    "has_order_lines", "no_order_lines", "at least one purchased order line before observation_end"
)
HAS_CATEGORY_DATA = Requirement(
    "has_category_data", "no_category_data", "at least one purchased order line with a known product category"
)
HAS_PRICE_REFERENCE = Requirement(
    "has_price_reference",
    "no_price_reference",
    "at least one purchased order line in a category with a typical unit price (seed `product_categories`)",
)
HAS_DISCOUNT_DATA = Requirement(
    "has_discount_data", "no_discount_data", "at least one purchased order line with a known discount"
)
HAS_RETURN_DATA = Requirement(
    "has_return_data",
    "no_return_data",
    "at least one purchased order line whose return status is known",
)
HAS_TICKETS = Requirement(
    "has_tickets", "no_tickets", "at least one support ticket opened before observation_end"
)
HAS_RESOLVED_TICKETS = Requirement(
    "has_resolved_tickets",
    "no_resolved_tickets",
    "at least one support ticket resolved before observation_end",
)
HAS_WEB_VISITS = Requirement(
    "has_web_visits", "no_web_visits", "at least one web session with a page view before observation_end"
)

REQUIREMENTS: tuple[Requirement, ...] = (
    HAS_ORDERS,
    HAS_REPEAT_PURCHASE,
    HAS_ORDERS_IN_360_DAYS,
    HAS_ORDERS_BEFORE_LAST_180_DAYS,
    HAS_ORDER_LINES,
    HAS_CATEGORY_DATA,
    HAS_PRICE_REFERENCE,
    HAS_DISCOUNT_DATA,
    HAS_RETURN_DATA,
    HAS_TICKETS,
    HAS_RESOLVED_TICKETS,
    HAS_WEB_VISITS,
)

# What became of an axis in a run (`ml.segment_axes.axis_status`), and the segment of the customers it could place
# when it was not clustered. An axis whose placeable customers all look alike is reported as such, never as one
# clustered segment holding everyone; one with too few placeable customers is not clustered either.
AXIS_CLUSTERED = "clustered"
AXIS_NO_VARIATION = "no_variation"
AXIS_TOO_FEW_CUSTOMERS = "too_few_customers"
UNCLUSTERED_AXIS_SEGMENTS: dict[str, tuple[str, str]] = {
    AXIS_NO_VARIATION: ("no_variation", "the customers this axis can place all have the same feature values"),
    AXIS_TOO_FEW_CUSTOMERS: (
        "too_few_to_segment",
        "too few customers have the data this axis needs for a segmentation",
    ),
}
# An axis is clustered only when the sample holds at least this many customers it can place.
MIN_CUSTOMERS_PER_AXIS = 50


@dataclass(frozen=True)
class Axis:
    """A behavioural axis: the clustering job fits one k-means per axis on its features.

    The axis places a customer only when every one of its features exists for them (`requirements`, the union
    of its features' requirements in priority order); the others get the explicit segment of the first
    requirement they miss and take no part in the fit, the silhouette or the robustness.
    """

    name: str
    description: str
    features: tuple[Feature, ...]
    naming: Ladder | ValueBands | Dominant

    def __post_init__(self) -> None:
        # Any feature may be the one that tells two segments of a name apart, so each needs its words.
        missing = [name for name in self.feature_names if name not in CONTRASTS]
        if missing:
            raise ValueError(f"axis {self.name}: no words in naming_words.CONTRASTS for {', '.join(missing)}")

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        needed = {requirement for feature in self.features for requirement in feature.requires}
        return tuple(requirement for requirement in REQUIREMENTS if requirement in needed)

    @property
    def naming_feature(self) -> str | None:
        """The feature whose population percentile names the segments (None when the naming does not use one)."""
        return self.naming.feature if isinstance(self.naming, Ladder | ValueBands) else None

    def segment_names(
        self,
        centroids: list[dict[str, float]],
        percentiles: list[float] | None = None,
        zero_shares: list[float] | None = None,
        positions: Positions | None = None,
    ) -> list[str]:
        """Readable names for centroids given in the features' own units, one per centroid.

        `percentiles`: per centroid, the population percentile (0..1) of its `naming_feature`; required by a
        ladder, ignored by a dominant-feature naming. `zero_shares`: per centroid, the share of its members at
        exactly zero on the naming feature (for a ladder's `none_name`). `positions`: per centroid, its
        population percentile on every feature of the axis, to tell apart segments that would share a name
        (without them, they are told apart by where each sits among them, `_lower`, `_upper`).
        """
        if isinstance(self.naming, ValueBands):
            return self.naming.name(centroids, percentiles, zero_shares, positions)
        if isinstance(self.naming, Ladder):
            if percentiles is None:
                raise ValueError(f"axis {self.name}: a ladder needs the centroids' population percentiles")
            return self.naming.name(centroids, percentiles, zero_shares, positions)
        return self.naming.name(centroids, positions)

    def unclustered_segment_names(self) -> list[str]:
        """The explicit segments: one per requirement, then those of an axis that was not clustered."""
        return [r.segment_name for r in self.requirements] + [
            n for n, _ in UNCLUSTERED_AXIS_SEGMENTS.values()
        ]

    def accepted_segment_names(self) -> list[str]:
        return [*self.naming.accepted_names(self.feature_names), *self.unclustered_segment_names()]


def _feature(name: str, description: str, *requires: Requirement) -> Feature:
    return Feature(name, description, requires)


_ORDERS = (HAS_ORDERS,)
_LINES = (HAS_ORDERS, HAS_ORDER_LINES)

AXES: tuple[Axis, ...] = (
    Axis(
        "purchase_frequency",
        "How often the customer buys.",
        (
            _feature(
                "orders_per_month",
                "Completed orders per 30 days since the first purchase (at least 30 days).",
                *_ORDERS,
            ),
            _feature(
                "repeat_purchase_days", "Distinct purchase days minus one (BG/NBD frequency).", *_ORDERS
            ),
        ),
        Ladder(
            "orders_per_month",
            (
                "rare_buyer",
                "infrequent_buyer",
                "occasional_buyer",
                "typical_frequency_buyer",
                "frequent_buyer",
                "very_frequent_buyer",
                "power_buyer",
            ),
        ),
    ),
    Axis(
        "purchase_value",
        "How much the customer spends.",
        (
            _feature(
                "average_order_value",
                "Mean net value of the completed orders (after discounts, returns and refunds).",
                *_ORDERS,
            ),
            _feature("max_order_value", "Largest net value of a completed order.", *_ORDERS),
            _feature("log_lifetime_value", "ln(1 + lifetime value), the net revenue floored at 0.", *_ORDERS),
        ),
        Ladder(
            "average_order_value",
            (
                "minimal_value",
                "low_value",
                "below_mid_tier",
                "mid_tier",
                "above_mid_tier",
                "high_value",
                "whale",
            ),
        ),
    ),
    Axis(
        "category_exploration",
        "How widely the customer shops across product categories.",
        (
            _feature(
                "distinct_categories",
                "Number of distinct product categories bought.",
                *_LINES,
                HAS_CATEGORY_DATA,
            ),
            _feature(
                "category_entropy",
                "Shannon entropy (nats) of spend across categories.",
                *_LINES,
                HAS_CATEGORY_DATA,
            ),
            _feature(
                "top_category_spend_share",
                "Share of spend in the customer's largest category.",
                *_LINES,
                HAS_CATEGORY_DATA,
            ),
        ),
        Ladder(
            "category_entropy",
            (
                "category_specialist",
                "category_loyalist",
                "focused",
                "selective",
                "varied",
                "broad",
                "category_explorer",
            ),
            none_name="single_category",
            mostly_none_name="mostly_single_category",
        ),
    ),
    Axis(
        "price_sensitivity",
        "How much the customer leans on discounts.",
        (
            _feature(
                "discounted_item_share", "Share of items bought with a discount.", *_LINES, HAS_DISCOUNT_DATA
            ),
            _feature(
                "average_discount_rate",
                "Discount as a share of the items' list value.",
                *_LINES,
                HAS_DISCOUNT_DATA,
            ),
        ),
        Ladder(
            "discounted_item_share",
            (
                "least_discount_use",
                "price_indifferent",
                "price_aware",
                "occasional_deal_taker",
                "deal_seeker",
                "deal_hunter",
                "discount_dependent",
            ),
            none_name="full_price_only",
            mostly_none_name="mostly_full_price",
        ),
    ),
    Axis(
        "purchase_cadence",
        "When the customer buys: weekends, the holiday season, and how long between purchases.",
        (
            _feature("weekend_order_share", "Share of orders placed on Saturday or Sunday.", *_ORDERS),
            _feature(
                "holiday_season_order_share", "Share of orders placed in November or December.", *_ORDERS
            ),
            _feature(
                "mean_days_between_purchases",
                "Mean gap in days between consecutive purchase days.",
                *_ORDERS,
                HAS_REPEAT_PURCHASE,
            ),
        ),
        # Named by the typical gap between purchase days, in plain calendar words; a segment that places most of
        # its orders in November and December is a holiday-season buyer whatever its gaps.
        ValueBands(
            "mean_days_between_purchases",
            (10, 45, 120, 240),
            ("weekly_or_more", "monthly", "every_few_months", "twice_yearly", "yearly_or_less"),
            override=("holiday_season_order_share", 0.5, "holiday_season_buyer"),
        ),
    ),
    Axis(
        "customer_maturity",
        "How long the customer has been with us.",
        (
            _feature("tenure_days", "Days from the customer's first record to observation_end."),
            _feature(
                "days_since_first_order", "Days from the first purchase day to observation_end.", *_ORDERS
            ),
        ),
        # Time with the shop has a meaning of its own: under three months is new, over four years a veteran.
        ValueBands(
            "tenure_days",
            (91, 182, 365, 730, 1461),
            (
                "new_under_3_months",
                "new_3_to_6_months",
                "first_year",
                "one_to_two_years",
                "two_to_four_years",
                "veteran_over_4_years",
            ),
        ),
    ),
    Axis(
        "repurchase_behaviour",
        "Whether the customer comes back for the same things.",
        (
            _feature(
                "repeat_category_item_share",
                "Share of items in a category the customer had bought on an earlier day.",
                *_LINES,
                HAS_CATEGORY_DATA,
            ),
            _feature(
                "reorder_within_90d_share",
                "Share of purchase days followed by another purchase day within 90 days.",
                *_ORDERS,
            ),
        ),
        Ladder(
            "reorder_within_90d_share",
            (
                "very_rare_quick_reorder",
                "rare_quick_reorder",
                "occasional_quick_reorder",
                "typical_reorderer",
                "frequent_reorderer",
                "habitual_reorderer",
                "replenisher",
            ),
            none_name="no_quick_reorder",
            mostly_none_name="mostly_no_quick_reorder",
        ),
    ),
    Axis(
        "return_behaviour",
        "How often the customer sends things back.",
        (
            _feature("returned_item_share", "Share of items returned.", *_LINES, HAS_RETURN_DATA),
            _feature("returned_value_share", "Share of item value returned.", *_LINES, HAS_RETURN_DATA),
        ),
        Ladder(
            "returned_item_share",
            (
                "very_rare_returner",
                "rare_returner",
                "light_returner",
                "occasional_returner",
                "frequent_returner",
                "heavy_returner",
                "serial_returner",
            ),
            none_name="never_returns",
            mostly_none_name="mostly_no_returns",
        ),
    ),
    Axis(
        "communication_preference",
        "Which support channel the customer reaches for.",
        (
            _feature("email_ticket_share", "Share of tickets opened by email.", HAS_TICKETS),
            _feature("chat_ticket_share", "Share of tickets opened by chat.", HAS_TICKETS),
            _feature("phone_ticket_share", "Share of tickets opened by phone.", HAS_TICKETS),
        ),
        Dominant(
            (
                ("email_ticket_share", "email"),
                ("chat_ticket_share", "chat"),
                ("phone_ticket_share", "phone"),
            ),
            mixed_name="mixed_channels",
        ),
    ),
    Axis(
        "problem_complexity",
        "How much support the customer needs, and how hard their problems are.",
        (
            _feature(
                "tickets_per_order",
                "Support tickets per completed order (tickets when no orders).",
                HAS_TICKETS,
            ),
            _feature("high_complexity_ticket_share", "Share of tickets graded high complexity.", HAS_TICKETS),
            _feature(
                "mean_resolution_hours",
                "Mean hours from opening to resolution of resolved tickets.",
                HAS_TICKETS,
                HAS_RESOLVED_TICKETS,
            ),
        ),
        Ladder(
            "tickets_per_order",
            (
                "least_support",
                "light_support",
                "below_typical_support",
                "typical_support",
                "above_typical_support",
                "high_touch",
                "most_support",
            ),
        ),
    ),
    Axis(
        "loyalty_trajectory",
        "Whether the customer's spending is growing or fading over the last year.",
        (
            _feature(
                "spend_trend_log_ratio",
                "ln((1 + net spend in the last 180 days) / (1 + net spend in the 180 days before)).",
                *_ORDERS,
                HAS_ORDERS_IN_360_DAYS,
                HAS_ORDERS_BEFORE_LAST_180_DAYS,
            ),
            _feature(
                "order_count_trend",
                "Orders in the last 180 days minus orders in the 180 days before.",
                *_ORDERS,
                HAS_ORDERS_IN_360_DAYS,
                HAS_ORDERS_BEFORE_LAST_180_DAYS,
            ),
        ),
        # Spend in the last 180 days against the 180 before: under a quarter is a collapse, within 10% steady,
        # over four times a surge (the floors are the logarithms of those ratios).
        ValueBands(
            "spend_trend_log_ratio",
            (math.log(1 / 4), math.log(2 / 3), math.log(0.9), math.log(1.1), math.log(1.5), math.log(4)),
            (
                "spend_collapsing",
                "spend_falling",
                "spend_easing",
                "spend_steady",
                "spend_rising",
                "spend_growing",
                "spend_surging",
            ),
        ),
    ),
    Axis(
        "product_knowledge",
        "How much the customer researches and browses before buying.",
        (
            _feature("guide_page_view_share", "Share of page views on buying guides.", HAS_WEB_VISITS),
            _feature("deal_page_view_share", "Share of page views on deal pages.", HAS_WEB_VISITS),
            _feature(
                "page_views_per_order",
                "Page views per completed order (page views when no orders).",
                HAS_WEB_VISITS,
            ),
            _feature("add_to_cart_per_session", "Add-to-cart events per web session.", HAS_WEB_VISITS),
        ),
        Ladder(
            "guide_page_view_share",
            (
                "least_research",
                "light_researcher",
                "casual_researcher",
                "typical_researcher",
                "researcher",
                "expert_researcher",
                "product_expert",
            ),
            none_name="no_guide_reading",
            mostly_none_name="mostly_no_guide_reading",
        ),
    ),
    Axis(
        "value_sophistication",
        "Whether the customer buys premium or entry-level within a category.",
        (
            _feature(
                "unit_price_index",
                "Mean of unit price / the category's typical unit price.",
                *_LINES,
                HAS_CATEGORY_DATA,
                HAS_PRICE_REFERENCE,
            ),
            _feature(
                "premium_item_share",
                "Share of items priced at 1.5x the category's typical price or more.",
                *_LINES,
                HAS_CATEGORY_DATA,
                HAS_PRICE_REFERENCE,
            ),
        ),
        Ladder(
            "unit_price_index",
            ("bargain_basement", "budget", "value", "mainstream", "quality_seeker", "premium", "luxury"),
        ),
    ),
)

AXIS_NAMES: tuple[str, ...] = tuple(axis.name for axis in AXES)
FEATURES: tuple[Feature, ...] = tuple(feature for axis in AXES for feature in axis.features)


AXES_BY_NAME: dict[str, Axis] = {axis.name: axis for axis in AXES}


def feature_names() -> list[str]:
    """All feature columns of `marts.customer_features`, in axis order."""
    return [feature.name for feature in FEATURES]


def requirement_flags() -> list[str]:
    """The boolean columns of `marts.customer_features` saying which data each customer has, in priority order."""
    return [requirement.flag for requirement in REQUIREMENTS]
