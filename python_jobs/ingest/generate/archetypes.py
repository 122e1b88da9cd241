"""The behaviour archetypes customers are drawn from, and who is who."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from python_jobs.ingest.generate.draws import random_streams


@dataclass(frozen=True)
class Archetype:
    """A kind of customer and how it behaves; the parameters are the knobs the generator turns."""

    name: str
    share: float
    # What they buy and for how much.
    # Repeat purchases over the whole window while active, mean of a gamma across customers (0: never back),
    # and the chance of leaving for good after a repeat purchase, mean of a beta across customers (see purchases).
    purchase_rate: float
    dropout_probability: float
    browser_share: float  # share that only browses and never orders
    extra_items_per_order: float  # Poisson mean of items beyond the first (at most 4 items)
    premium_factor: float  # median unit price relative to the category's typical price
    price_growth: float  # log change of the premium factor from the window's start to its end
    discount_propensity: float  # share of items bought with a discount
    discount_rate: float  # typical discount as a share of the item's list value
    category_breadth: int  # how many of the categories they regularly buy from
    return_rate: float
    # When they buy.
    weekend_share: float
    holiday_share: float  # share of orders in November and December
    activity_trend: float  # log ratio of activity at the window's end to its start
    quiet_final_days: int  # no orders or visits in the window's last days (churn)
    holiday_gift_share: float  # share of November/December items that are gifts or decorations
    # How they need support.
    tickets_mean: float  # Poisson mean of tickets over the window
    preferred_channel: str
    complexity_mix: tuple[float, float, float]  # low, medium, high
    resolution_hours: float  # median hours to resolve a medium ticket
    # How they browse.
    sessions_mean: float
    page_views_per_session: float
    guide_share: float  # share of page views on buying guides (researchers read them)
    deals_share: float  # share of page views on deal pages
    add_to_cart_rate: float  # chance a product page view ends in an add-to-cart


# fmt: off
ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        "vip_loyalist", 0.06,
        purchase_rate=40, dropout_probability=0.03,
        browser_share=0.0, extra_items_per_order=1.0, premium_factor=1.8,
        price_growth=0.5, discount_propensity=0.05, discount_rate=0.10, category_breadth=8,
        return_rate=0.04, weekend_share=0.22, holiday_share=0.20, activity_trend=1.2,
        quiet_final_days=0, holiday_gift_share=0.25, tickets_mean=0.6, preferred_channel="phone",
        complexity_mix=(0.50, 0.35, 0.15), resolution_hours=6, sessions_mean=6.0,
        page_views_per_session=5.0, guide_share=0.22, deals_share=0.02, add_to_cart_rate=0.45,
    ),
    Archetype(
        "deal_hunter", 0.15,
        purchase_rate=16, dropout_probability=0.12,
        browser_share=0.06, extra_items_per_order=0.8, premium_factor=0.7,
        price_growth=0.0, discount_propensity=0.75, discount_rate=0.30, category_breadth=11,
        return_rate=0.06, weekend_share=0.40, holiday_share=0.35, activity_trend=0.0,
        quiet_final_days=0, holiday_gift_share=0.30, tickets_mean=0.3, preferred_channel="chat",
        complexity_mix=(0.60, 0.30, 0.10), resolution_hours=16, sessions_mean=4.0,
        page_views_per_session=4.0, guide_share=0.03, deals_share=0.40, add_to_cart_rate=0.35,
    ),
    Archetype(
        "one_time_buyer", 0.22,
        purchase_rate=0, dropout_probability=1.0,
        browser_share=0.0, extra_items_per_order=0.4, premium_factor=1.0,
        price_growth=0.0, discount_propensity=0.15, discount_rate=0.15, category_breadth=2,
        return_rate=0.10, weekend_share=0.30, holiday_share=0.18, activity_trend=0.0,
        quiet_final_days=0, holiday_gift_share=0.30, tickets_mean=0.2, preferred_channel="email",
        complexity_mix=(0.60, 0.30, 0.10), resolution_hours=24, sessions_mean=1.2,
        page_views_per_session=3.0, guide_share=0.08, deals_share=0.06, add_to_cart_rate=0.25,
    ),
    Archetype(
        "seasonal_gifter", 0.10,
        purchase_rate=8, dropout_probability=0.2,
        browser_share=0.10, extra_items_per_order=0.8, premium_factor=1.15,
        price_growth=0.0, discount_propensity=0.20, discount_rate=0.15, category_breadth=3,
        return_rate=0.05, weekend_share=0.50, holiday_share=0.92, activity_trend=0.0,
        quiet_final_days=0, holiday_gift_share=0.70, tickets_mean=0.3, preferred_channel="email",
        complexity_mix=(0.60, 0.30, 0.10), resolution_hours=20, sessions_mean=1.5,
        page_views_per_session=3.0, guide_share=0.10, deals_share=0.08, add_to_cart_rate=0.30,
    ),
    Archetype(
        "churning_regular", 0.12,
        purchase_rate=14, dropout_probability=0.1,
        browser_share=0.04, extra_items_per_order=0.6, premium_factor=1.0,
        price_growth=-0.3, discount_propensity=0.12, discount_rate=0.12, category_breadth=3,
        return_rate=0.08, weekend_share=0.25, holiday_share=0.15, activity_trend=-1.0,
        quiet_final_days=240, holiday_gift_share=0.25, tickets_mean=0.7, preferred_channel="chat",
        complexity_mix=(0.50, 0.35, 0.15), resolution_hours=24, sessions_mean=2.5,
        page_views_per_session=3.0, guide_share=0.04, deals_share=0.05, add_to_cart_rate=0.30,
    ),
    Archetype(
        "support_heavy", 0.07,
        purchase_rate=10, dropout_probability=0.12,
        browser_share=0.06, extra_items_per_order=0.6, premium_factor=1.05,
        price_growth=0.0, discount_propensity=0.12, discount_rate=0.12, category_breadth=5,
        return_rate=0.28, weekend_share=0.30, holiday_share=0.17, activity_trend=0.0,
        quiet_final_days=0, holiday_gift_share=0.25, tickets_mean=6.0, preferred_channel="phone",
        complexity_mix=(0.15, 0.40, 0.45), resolution_hours=48, sessions_mean=2.0,
        page_views_per_session=3.0, guide_share=0.06, deals_share=0.05, add_to_cart_rate=0.30,
    ),
    Archetype(
        "steady_regular", 0.28,
        purchase_rate=12, dropout_probability=0.1,
        browser_share=0.08, extra_items_per_order=0.6, premium_factor=1.0,
        price_growth=0.0, discount_propensity=0.12, discount_rate=0.12, category_breadth=4,
        return_rate=0.06, weekend_share=0.29, holiday_share=0.17, activity_trend=0.0,
        quiet_final_days=0, holiday_gift_share=0.25, tickets_mean=0.3, preferred_channel="email",
        complexity_mix=(0.60, 0.30, 0.10), resolution_hours=18, sessions_mean=2.5,
        page_views_per_session=3.0, guide_share=0.06, deals_share=0.06, add_to_cart_rate=0.30,
    ),
)
# fmt: on

ARCHETYPE_NAMES: tuple[str, ...] = tuple(archetype.name for archetype in ARCHETYPES)
# Accounts caught in circular merges are nobody in particular: they behave like the mainstream.
CYCLE_ARCHETYPE = ARCHETYPE_NAMES.index("steady_regular")


def archetype_column(field_name: str) -> np.ndarray:
    """One parameter of every archetype, indexable by archetype code."""
    return np.array([getattr(archetype, field_name) for archetype in ARCHETYPES])


def archetype_codes(rng: np.random.Generator, customers: int) -> np.ndarray:
    """Exact quotas (largest remainders) in random order: the mix matches the shares at any size."""
    shares = archetype_column("share")
    quotas = np.floor(shares * customers).astype(np.int64)
    remainders = shares * customers - quotas
    quotas[np.argsort(-remainders, kind="stable")[: customers - quotas.sum()]] += 1
    codes = np.repeat(np.arange(len(ARCHETYPES), dtype=np.int8), quotas)
    return rng.permutation(codes)


def assign_archetypes(customers: int, seed: int = 42) -> np.ndarray:
    """The archetype name of each customer: entry i belongs to customer id f"C{i:08d}"."""
    codes = archetype_codes(random_streams(seed)["archetypes"], customers)
    return np.array(ARCHETYPE_NAMES)[codes]
