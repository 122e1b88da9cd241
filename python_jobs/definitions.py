"""Definitions shared by the SQL models and the Python jobs, written once.

dbt-py injects this module into dbt's Jinja context as `modules.segments` (see `[tool.dbt-py]` in
pyproject.toml), so `models/marts/customers/customer_features.sql` builds its columns from `AXES` and the
clustering job reads the same features from the same list. Keep this module import-light: it is loaded by every
dbt invocation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    """One behavioural feature: a column of `marts.customer_features`."""

    name: str
    description: str
    # Value used when a customer has no data for the feature (no orders, no tickets, no web visits).
    fill_value: float
    fill_reason: str


# The two segment names the product segmentation job writes beside the taxonomy it finds: the system segment of a
# product that does not belong to the category at all, and the placeholder of a product no answer has placed (yet).
# The product marts and their tests read them from here through dbt-py.
OUT_OF_SCOPE_SEGMENT = "__OUT_OF_SCOPE__"
UNASSIGNED_SEGMENT = "__UNASSIGNED__"

# An axis is split into at most this many segments; the naming ladders below have room for every k up to it.
MAX_SEGMENTS_PER_AXIS = 6
LADDER_LENGTH = 7


@dataclass(frozen=True)
class Ladder:
    """Segments named by rank along one feature: the centroid lowest on it gets the first name.

    Seven names, low to high, symmetric around the fourth: k segments take the names at evenly spaced rungs
    (k=2: first and last; k=3: first, middle, last), so the same k always gives the same names.
    """

    feature: str
    names: tuple[str, ...]

    def name(self, centroids: list[dict[str, float]]) -> list[str]:
        order = sorted(range(len(centroids)), key=lambda i: (centroids[i][self.feature], i))
        rungs = _rungs(len(centroids))
        names = [""] * len(centroids)
        for rank, index in enumerate(order):
            names[index] = self.names[rungs[rank]]
        return names

    def order_key(self, centroid: dict[str, float]) -> float:
        return centroid[self.feature]

    def accepted_names(self) -> list[str]:
        return list(self.names)


@dataclass(frozen=True)
class Dominant:
    """Segments named by the feature that dominates the centroid (e.g. the support channel used most).

    A centroid whose dominant features add up to less than `quiet_below` gets `quiet_name`. Two centroids with
    the same name are told apart by a suffix (`_2`, `_3`…) in order of how strongly the feature dominates.
    """

    labels: tuple[tuple[str, str], ...]
    quiet_name: str
    quiet_below: float

    def _label(self, centroid: dict[str, float]) -> str:
        if sum(centroid[feature] for feature, _ in self.labels) < self.quiet_below:
            return self.quiet_name
        return max(self.labels, key=lambda pair: centroid[pair[0]])[1]

    def order_key(self, centroid: dict[str, float]) -> float:
        return max(centroid[feature] for feature, _ in self.labels)

    def name(self, centroids: list[dict[str, float]]) -> list[str]:
        labels = [self._label(centroid) for centroid in centroids]
        names = list(labels)
        for label in set(labels):
            holders = [i for i, candidate in enumerate(labels) if candidate == label]
            holders.sort(key=lambda i: (-self.order_key(centroids[i]), i))
            for position, index in enumerate(holders[1:], start=2):
                names[index] = f"{label}_{position}"
        return names

    def accepted_names(self) -> list[str]:
        bases = [self.quiet_name, *(label for _, label in self.labels)]
        return [
            base if position == 1 else f"{base}_{position}"
            for base in bases
            for position in range(1, MAX_SEGMENTS_PER_AXIS + 1)
        ]


def _rungs(k: int) -> list[int]:
    """Evenly spaced rungs of the ladder for k segments, rounding halves up."""
    if k == 1:
        return [LADDER_LENGTH // 2]
    return [int(i * (LADDER_LENGTH - 1) / (k - 1) + 0.5) for i in range(k)]


@dataclass(frozen=True)
class Axis:
    """A behavioural axis: the clustering job fits one k-means per axis on its features."""

    name: str
    description: str
    features: tuple[Feature, ...]
    naming: Ladder | Dominant

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]

    def segment_names(self, centroids: list[dict[str, float]]) -> list[str]:
        """Readable names for centroids given in the features' own units, one per centroid."""
        return self.naming.name(centroids)

    def accepted_segment_names(self) -> list[str]:
        return self.naming.accepted_names()


_NO_ORDERS = "the customer has no completed orders before observation_end"
_NO_ITEMS = "the customer has no order items before observation_end"
_NO_TICKETS = "the customer opened no support tickets before observation_end"
_NO_WEB = "the customer has no attributed web events before observation_end"
_NO_REPEAT = "the customer has fewer than two purchase days, so no gap between purchases exists"

AXES: tuple[Axis, ...] = (
    Axis(
        "purchase_frequency",
        "How often the customer buys.",
        (
            Feature(
                "orders_per_month",
                "Completed orders per 30 days since the first purchase (at least 30 days).",
                0.0,
                _NO_ORDERS,
            ),
            Feature(
                "repeat_purchase_days",
                "Distinct purchase days minus one (BG/NBD frequency).",
                0.0,
                _NO_ORDERS,
            ),
        ),
        Ladder(
            "orders_per_month",
            (
                "rare_buyer",
                "infrequent_buyer",
                "occasional_buyer",
                "regular_buyer",
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
            Feature("average_order_value", "Mean completed order total.", 0.0, _NO_ORDERS),
            Feature("max_order_value", "Largest completed order total.", 0.0, _NO_ORDERS),
            Feature("log_lifetime_value", "ln(1 + lifetime value).", 0.0, _NO_ORDERS),
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
            Feature("distinct_categories", "Number of distinct product categories bought.", 0.0, _NO_ITEMS),
            Feature("category_entropy", "Shannon entropy (nats) of spend across categories.", 0.0, _NO_ITEMS),
            Feature(
                "top_category_spend_share",
                "Share of spend in the customer's largest category.",
                0.0,
                _NO_ITEMS,
            ),
        ),
        Ladder(
            "category_entropy",
            (
                "no_categories",
                "category_loyalist",
                "focused",
                "selective",
                "varied",
                "broad",
                "category_explorer",
            ),
        ),
    ),
    Axis(
        "price_sensitivity",
        "How much the customer leans on discounts and deals.",
        (
            Feature("discounted_item_share", "Share of items bought with a discount.", 0.0, _NO_ITEMS),
            Feature("average_discount_rate", "Discount as a share of the items' list value.", 0.0, _NO_ITEMS),
            Feature("deal_page_view_share", "Share of page views on deal pages.", 0.0, _NO_WEB),
        ),
        Ladder(
            "discounted_item_share",
            (
                "full_price",
                "price_indifferent",
                "price_aware",
                "occasional_deal_taker",
                "deal_seeker",
                "deal_hunter",
                "discount_dependent",
            ),
        ),
    ),
    Axis(
        "purchase_cadence",
        "When the customer buys: weekends, the holiday season, steady or bursty.",
        (
            Feature("weekend_order_share", "Share of orders placed on Saturday or Sunday.", 0.0, _NO_ORDERS),
            Feature(
                "holiday_season_order_share",
                "Share of orders placed in November or December.",
                0.0,
                _NO_ORDERS,
            ),
            Feature(
                "mean_days_between_purchases",
                "Mean gap in days between consecutive purchase days.",
                0.0,
                _NO_REPEAT,
            ),
        ),
        Ladder(
            "holiday_season_order_share",
            (
                "off_season",
                "year_round",
                "mostly_year_round",
                "mixed_season",
                "seasonal_leaning",
                "seasonal",
                "holiday_only",
            ),
        ),
    ),
    Axis(
        "customer_maturity",
        "How long the customer has been with us.",
        (
            Feature(
                "tenure_days",
                "Days from the customer's first record to observation_end.",
                0.0,
                "never null: every customer has a first record",
            ),
            Feature(
                "days_since_first_order",
                "Days from the first purchase day to observation_end.",
                0.0,
                _NO_ORDERS,
            ),
        ),
        Ladder(
            "tenure_days",
            ("brand_new", "new", "developing", "established", "mature", "long_standing", "veteran"),
        ),
    ),
    Axis(
        "repurchase_behaviour",
        "Whether the customer comes back for the same things.",
        (
            Feature(
                "repeat_category_item_share",
                "Share of items in a category the customer had bought on an earlier day.",
                0.0,
                _NO_ITEMS,
            ),
            Feature(
                "reorder_within_90d_share",
                "Share of purchase days followed by another purchase day within 90 days.",
                0.0,
                _NO_ORDERS,
            ),
        ),
        Ladder(
            "reorder_within_90d_share",
            (
                "one_off",
                "rare_returner",
                "infrequent_returner",
                "returner",
                "regular_repeater",
                "habitual",
                "replenisher",
            ),
        ),
    ),
    Axis(
        "return_behaviour",
        "How often the customer sends things back.",
        (
            Feature("returned_item_share", "Share of items returned.", 0.0, _NO_ITEMS),
            Feature("returned_value_share", "Share of item value returned.", 0.0, _NO_ITEMS),
        ),
        Ladder(
            "returned_item_share",
            (
                "never_returns",
                "rare_returner",
                "light_returner",
                "occasional_returner",
                "frequent_returner",
                "heavy_returner",
                "serial_returner",
            ),
        ),
    ),
    Axis(
        "communication_preference",
        "Which support channel the customer reaches for.",
        (
            Feature("email_ticket_share", "Share of tickets opened by email.", 0.0, _NO_TICKETS),
            Feature("chat_ticket_share", "Share of tickets opened by chat.", 0.0, _NO_TICKETS),
            Feature("phone_ticket_share", "Share of tickets opened by phone.", 0.0, _NO_TICKETS),
        ),
        Dominant(
            (
                ("email_ticket_share", "email_first"),
                ("chat_ticket_share", "chat_first"),
                ("phone_ticket_share", "phone_first"),
            ),
            quiet_name="no_contact",
            quiet_below=0.5,
        ),
    ),
    Axis(
        "problem_complexity",
        "How much support the customer needs, and how hard their problems are.",
        (
            Feature(
                "tickets_per_order",
                "Support tickets per completed order (tickets when no orders).",
                0.0,
                _NO_TICKETS,
            ),
            Feature(
                "high_complexity_ticket_share", "Share of tickets graded high complexity.", 0.0, _NO_TICKETS
            ),
            Feature(
                "mean_resolution_hours",
                "Mean hours from opening to resolution of resolved tickets.",
                0.0,
                _NO_TICKETS,
            ),
        ),
        Ladder(
            "tickets_per_order",
            (
                "no_support",
                "minimal_support",
                "light_support",
                "some_support",
                "support_reliant",
                "high_touch",
                "complex_cases",
            ),
        ),
    ),
    Axis(
        "loyalty_trajectory",
        "Whether the customer is growing or fading.",
        (
            Feature(
                "spend_trend_log_ratio",
                "ln((1 + spend in the last 180 days) / (1 + spend in the 180 days before)).",
                0.0,
                _NO_ORDERS,
            ),
            Feature(
                "order_count_trend",
                "Orders in the last 180 days minus orders in the 180 days before.",
                0.0,
                _NO_ORDERS,
            ),
        ),
        Ladder(
            "spend_trend_log_ratio",
            ("lapsed", "fading", "cooling", "steady", "warming", "growing", "surging"),
        ),
    ),
    Axis(
        "product_knowledge",
        "How much the customer researches before buying.",
        (
            Feature("guide_page_view_share", "Share of page views on buying guides.", 0.0, _NO_WEB),
            Feature(
                "page_views_per_order",
                "Page views per completed order (page views when no orders).",
                0.0,
                _NO_WEB,
            ),
            Feature("add_to_cart_per_session", "Add-to-cart events per web session.", 0.0, _NO_WEB),
        ),
        Ladder(
            "guide_page_view_share",
            (
                "impulse_buyer",
                "light_researcher",
                "casual_researcher",
                "informed",
                "researcher",
                "expert_researcher",
                "product_expert",
            ),
        ),
    ),
    Axis(
        "value_sophistication",
        "Whether the customer buys premium or entry-level within a category.",
        (
            Feature(
                "unit_price_index", "Mean of unit price / the category's typical unit price.", 0.0, _NO_ITEMS
            ),
            Feature(
                "premium_item_share",
                "Share of items priced at 1.5x the category's typical price or more.",
                0.0,
                _NO_ITEMS,
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
