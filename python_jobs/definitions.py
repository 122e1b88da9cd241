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

# An axis is split into at most this many segments; `SHARED_BAND_SUFFIXES` has suffixes for every k up to it.
MAX_SEGMENTS_PER_AXIS = 6
LADDER_LENGTH = 7


# Where a ladder's rungs begin, as percentiles of the naming feature over the whole population: a centroid below
# the 5th percentile takes the first name, from the 5th to the 20th the second, ... from the 95th the seventh. The
# bands are symmetric around the median, so a centroid at the median takes the middle (fourth) name.
PERCENTILE_BAND_FLOORS = (0.05, 0.20, 0.40, 0.60, 0.80, 0.95)

# How segments that fall in the same band are told apart: by where each sits among them on the naming feature,
# lowest first. Two in one band become `<name>_lower` and `<name>_upper`, and so on.
SHARED_BAND_SUFFIXES: dict[int, tuple[str, ...]] = {
    2: ("lower", "upper"),
    3: ("lower", "middle", "upper"),
    4: ("lowest", "lower", "upper", "highest"),
    5: ("lowest", "lower", "middle", "upper", "highest"),
    6: ("lowest", "lower", "lower_middle", "upper_middle", "upper", "highest"),
}


def percentile_band(percentile: float) -> int:
    """The ladder rung (0..6) of a population percentile in [0, 1]; a band includes its floor."""
    return sum(percentile >= floor for floor in PERCENTILE_BAND_FLOORS)


@dataclass(frozen=True)
class Ladder:
    """Segments named by where their centroid sits in the population on one feature.

    Seven names, low to high. A segment's name is the rung of the band (`PERCENTILE_BAND_FLOORS`) that holds the
    percentile of its centroid's `feature` in that feature's distribution over all customers: an extreme name is
    earned by an extreme centroid, whatever k is. Segments of one axis whose centroids fall in the same band keep
    that band's name with a suffix saying where each sits among them (`SHARED_BAND_SUFFIXES`), so two segments
    never share a name and no name claims a band its centroid is not in.
    """

    feature: str
    names: tuple[str, ...]

    def name(self, centroids: list[dict[str, float]], percentiles: list[float]) -> list[str]:
        if len(percentiles) != len(centroids):
            raise ValueError(f"{len(centroids)} centroids but {len(percentiles)} percentiles")
        bands = [percentile_band(p) for p in percentiles]
        names = [self.names[band] for band in bands]
        for band in set(bands):
            holders = [i for i, candidate in enumerate(bands) if candidate == band]
            if len(holders) < 2:
                continue
            holders.sort(key=lambda i: (centroids[i][self.feature], i))
            for suffix, index in zip(SHARED_BAND_SUFFIXES[len(holders)], holders, strict=True):
                names[index] = f"{self.names[band]}_{suffix}"
        return names

    def order_key(self, centroid: dict[str, float]) -> float:
        return centroid[self.feature]

    def accepted_names(self) -> list[str]:
        suffixes = sorted({suffix for group in SHARED_BAND_SUFFIXES.values() for suffix in group})
        return [*self.names, *(f"{name}_{suffix}" for name in self.names for suffix in suffixes)]


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

    def name(self, centroids: list[dict[str, float]], percentiles: list[float] | None = None) -> list[str]:
        """Names from the centroids alone: the dominant share is already a statement about the customer."""
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

    @property
    def naming_feature(self) -> str | None:
        """The feature whose population percentile names the segments (None when the naming does not use one)."""
        return self.naming.feature if isinstance(self.naming, Ladder) else None

    def segment_names(
        self, centroids: list[dict[str, float]], percentiles: list[float] | None = None
    ) -> list[str]:
        """Readable names for centroids given in the features' own units, one per centroid.

        `percentiles`: per centroid, the population percentile (0..1) of its `naming_feature`; required by a
        ladder, ignored by a dominant-feature naming.
        """
        if isinstance(self.naming, Ladder):
            if percentiles is None:
                raise ValueError(f"axis {self.name}: a ladder needs the centroids' population percentiles")
            return self.naming.name(centroids, percentiles)
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
                "single_category",
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
                "no_quick_reorder",
                "rare_quick_reorder",
                "occasional_quick_reorder",
                "regular_reorderer",
                "frequent_reorderer",
                "habitual_reorderer",
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
            quiet_name="no_support_contact",
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
                "least_support",
                "light_support",
                "below_typical_support",
                "typical_support",
                "above_typical_support",
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
