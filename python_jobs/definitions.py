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


@dataclass(frozen=True)
class Axis:
    """A behavioural axis: the clustering job fits one k-means per axis on its features."""

    name: str
    description: str
    features: tuple[Feature, ...]

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]


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
            Feature("orders_per_month", "Completed orders per 30 days of customer age.", 0.0, _NO_ORDERS),
            Feature(
                "repeat_purchase_days",
                "Distinct purchase days minus one (BG/NBD frequency).",
                0.0,
                _NO_ORDERS,
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
    ),
    Axis(
        "price_sensitivity",
        "How much the customer leans on discounts and deals.",
        (
            Feature("discounted_item_share", "Share of items bought with a discount.", 0.0, _NO_ITEMS),
            Feature("average_discount_rate", "Discount as a share of the items' list value.", 0.0, _NO_ITEMS),
            Feature("deal_page_view_share", "Share of page views on deal pages.", 0.0, _NO_WEB),
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
    ),
    Axis(
        "return_behaviour",
        "How often the customer sends things back.",
        (
            Feature("returned_item_share", "Share of items returned.", 0.0, _NO_ITEMS),
            Feature("returned_value_share", "Share of item value returned.", 0.0, _NO_ITEMS),
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
    ),
)

AXIS_NAMES: tuple[str, ...] = tuple(axis.name for axis in AXES)
FEATURES: tuple[Feature, ...] = tuple(feature for axis in AXES for feature in axis.features)


def feature_names() -> list[str]:
    """All feature columns of `marts.customer_features`, in axis order."""
    return [feature.name for feature in FEATURES]
