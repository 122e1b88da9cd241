"""The words that tell apart segments of one axis that would share a name, one pair per feature the axes use.

Part of the shared definitions (through `python_jobs.naming_rules`), so it stays import-light.

Segments share a name when their centroids fall in the same naming band: both are `typical_support`, say. What
tells them apart is another feature of the axis, and the words say how each compares with the others of its name,
not where it sits in the population: of two `typical_support` segments that both have few complex tickets, one
is `typical_support_more_complex_tickets`, not "complex cases". So every word is a comparative, never an absolute
like "frequent" that a segment near zero on the feature would belie.
"""

from __future__ import annotations

from dataclasses import dataclass

# The comparatives a `Contrast` may use, lower value first; a closed list so that a typo cannot slip into a name.
COMPARATIVES = (
    ("fewer", "more"),
    ("less", "more"),
    ("lower", "higher"),
    ("shorter", "longer"),
    ("narrower", "wider"),
    ("shallower", "deeper"),
    ("later", "earlier"),
    ("faster", "slower"),
    ("weaker", "stronger"),
)


@dataclass(frozen=True)
class Contrast:
    """How a marketer says that a segment is lower or higher than the others of its name on a feature: `less`
    and `more` are the comparatives for a lower and a higher value (`shorter`/`longer` for a time), `noun` what is
    compared: `fewer_tickets_per_order`, `more_tickets_per_order`."""

    noun: str
    less: str
    more: str

    def __post_init__(self) -> None:
        if (self.less, self.more) not in COMPARATIVES:
            raise ValueError(f"contrast of {self.noun!r}: {self.less!r}/{self.more!r} is not in COMPARATIVES")

    def word(self, higher: bool) -> str:
        return f"{self.more if higher else self.less}_{self.noun}"

    def words(self) -> tuple[str, str]:
        return (self.word(higher=False), self.word(higher=True))


CONTRASTS: dict[str, Contrast] = {
    # purchase_frequency
    "orders_per_month": Contrast("orders", "fewer", "more"),
    "repeat_purchase_days": Contrast("repeat_purchases", "fewer", "more"),
    # purchase_value
    "average_order_value": Contrast("order_value", "lower", "higher"),
    "max_order_value": Contrast("biggest_order", "lower", "higher"),
    "log_lifetime_value": Contrast("lifetime_value", "lower", "higher"),
    # category_exploration
    "distinct_categories": Contrast("categories", "fewer", "more"),
    "category_entropy": Contrast("category_spread", "narrower", "wider"),
    "top_category_spend_share": Contrast("top_category_share", "lower", "higher"),
    # price_sensitivity
    "discounted_item_share": Contrast("discounted_items", "fewer", "more"),
    "average_discount_rate": Contrast("discounts", "shallower", "deeper"),
    # purchase_cadence
    "weekend_order_share": Contrast("weekend_orders", "fewer", "more"),
    "holiday_season_order_share": Contrast("holiday_orders", "fewer", "more"),
    "mean_days_between_purchases": Contrast("purchase_gaps", "shorter", "longer"),
    # customer_maturity
    "tenure_days": Contrast("tenure", "shorter", "longer"),
    # More days since the first order is an earlier first order.
    "days_since_first_order": Contrast("first_order", "later", "earlier"),
    # repurchase_behaviour
    "repeat_category_item_share": Contrast("repeat_category_buys", "fewer", "more"),
    "reorder_within_90d_share": Contrast("quick_reorders", "fewer", "more"),
    # return_behaviour
    "returned_item_share": Contrast("returned_items", "fewer", "more"),
    "returned_value_share": Contrast("returned_value", "lower", "higher"),
    # communication_preference
    "email_ticket_share": Contrast("email", "less", "more"),
    "chat_ticket_share": Contrast("chat", "less", "more"),
    "phone_ticket_share": Contrast("phone", "less", "more"),
    # problem_complexity
    "tickets_per_order": Contrast("tickets_per_order", "fewer", "more"),
    "high_complexity_ticket_share": Contrast("complex_tickets", "fewer", "more"),
    # More hours to resolve is a slower resolution.
    "mean_resolution_hours": Contrast("resolution", "faster", "slower"),
    # loyalty_trajectory
    "spend_trend_log_ratio": Contrast("spend_trend", "weaker", "stronger"),
    "order_count_trend": Contrast("order_trend", "weaker", "stronger"),
    # product_knowledge
    "guide_page_view_share": Contrast("guide_reading", "less", "more"),
    "deal_page_view_share": Contrast("deal_browsing", "less", "more"),
    "page_views_per_order": Contrast("browsing_per_order", "less", "more"),
    "add_to_cart_per_session": Contrast("cart_adds", "fewer", "more"),
    # value_sophistication
    "unit_price_index": Contrast("prices", "lower", "higher"),
    "premium_item_share": Contrast("premium_items", "fewer", "more"),
}
