"""Deterministic synthetic commerce data for the raw tables.

The warehouse needs data whose customer segments are known in advance, so that the clustering can
be checked against them. Every customer is drawn from one of the `ARCHETYPES`; the archetypes
differ clearly on what the features in `python_jobs.definitions` measure (how often, how much,
what, when, how they browse and how they complain). The archetype itself never reaches the raw
tables: `assign_archetypes` tells a test or an evaluation who is who.

The data is as dirty as the sources it imitates, so staging has work to do:

* duplicate accounts (`D…` ids) carry some of a customer's activity and merge into them,
  sometimes in chains; a few `X…` accounts merge into each other in a loop;
* about 0.5% of customer ids in orders, events and tickets carry stray spaces;
* about 5% of enum values come in mixed case or padded with spaces;
* a handful of orders and web events have no customer id, a handful of items a negative quantity.

Duplicate and looping accounts are accounts like any other, so they have rows in `customers` too.

Everything is vectorised with numpy (loops run over archetypes, categories or enum values, never
over rows) and drawn from `np.random.default_rng(seed)`, so the same `(customers, seed)` always
gives byte-identical tables. Timestamps fall in a fixed window, never relative to the wall clock.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from python_jobs import PROJECT_ROOT
from python_jobs.ingest.generate_products import generate_products, product_count
from python_jobs.warehouse.raw_tables import (
    COMPLEXITIES,
    CONTACT_CHANNELS,
    DEVICE_TYPES,
    EVENT_TYPES,
    ORDER_STATUSES,
    PAGE_TYPES,
    RAW_SCHEMA,
    RAW_TABLES,
    SALES_CHANNELS,
    TICKET_TOPICS,
)

if TYPE_CHECKING:
    from python_jobs.warehouse.connection import Warehouse

CATEGORIES_CSV = PROJECT_ROOT / "seeds" / "product_categories.csv"

WINDOW_START = np.datetime64("2024-07-01T00:00:00", "us")
# Exclusive: the last day of the window is 2026-06-30.
WINDOW_END = np.datetime64("2026-07-01T00:00:00", "us")
_US_PER_SECOND = 1_000_000
_US_PER_HOUR = 3_600 * _US_PER_SECOND
_US_PER_DAY = 24 * _US_PER_HOUR
_START_US = int(WINDOW_START.astype(np.int64))
_END_US = int(WINDOW_END.astype(np.int64))
_WINDOW_DAYS = (_END_US - _START_US) // _US_PER_DAY

# Shares of dirty and duplicated data.
DUPLICATE_CUSTOMER_SHARE = 0.03
CHAIN_LENGTH_PROBABILITIES = (0.75, 0.20, 0.05)  # a duplicate chain of 1, 2 or 3 duplicate accounts
DUPLICATE_ACTIVITY_SHARE = 0.5  # of a customer's activity before the merge, carried by a duplicate
CUSTOMERS_PER_MERGE_CYCLE = 2_000
STRAY_SPACE_SHARE = 0.005
MESSY_ENUM_SHARE = 0.05
NULL_CUSTOMER_SHARE = 0.0002
NEGATIVE_QUANTITY_SHARE = 0.0002
# Below this size a data set is a quick experiment: dirty rows appear only at their natural rate.
GUARANTEED_DIRT_MIN_CUSTOMERS = 1_000

ORDER_STATUS_PROBABILITIES = (0.96, 0.03, 0.01)
SALES_CHANNEL_PROBABILITIES = (0.55, 0.33, 0.12)
DEVICE_PROBABILITIES = (0.45, 0.45, 0.10)
TOPIC_PROBABILITIES = (0.30, 0.22, 0.22, 0.14, 0.12)
COUNTRY_CODES = ("US", "GB", "DE", "FR", "NL", "ES", "IT", "CA", "AU", "SE", "PL", "BE")
COUNTRY_PROBABILITIES = (0.30, 0.14, 0.12, 0.09, 0.06, 0.06, 0.06, 0.05, 0.04, 0.03, 0.03, 0.02)
ACQUISITION_CHANNELS = ("organic", "paid_search", "social", "referral", "email")
ACQUISITION_PROBABILITIES = (0.35, 0.25, 0.20, 0.10, 0.10)
EMAIL_DOMAINS = ("example.com", "mail.example", "inbox.example", "post.example")
MARKETING_OPT_IN_RATE = 0.55

# Page types other than deals and guides, in the proportions every archetype shares.
_ORDINARY_PAGE_WEIGHTS = {
    "home": 0.22,
    "category": 0.20,
    "product": 0.33,
    "search": 0.15,
    "cart": 0.10,
}
_COMPLEXITY_HOURS_FACTOR = (0.5, 1.0, 2.5)  # low, medium, high
_PREFERRED_CHANNEL_PROBABILITY = 0.7


@dataclass(frozen=True)
class Archetype:
    """A kind of customer and how it behaves; the parameters are the knobs the generator turns."""

    name: str
    share: float
    # What they buy and for how much.
    mean_orders: float  # Poisson mean of orders over the two-year window; 1 means exactly one order
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
        mean_orders=18, browser_share=0.0, extra_items_per_order=1.0, premium_factor=1.8,
        price_growth=0.5, discount_propensity=0.05, discount_rate=0.10, category_breadth=8,
        return_rate=0.04, weekend_share=0.22, holiday_share=0.20, activity_trend=1.2,
        quiet_final_days=0, holiday_gift_share=0.25, tickets_mean=0.6, preferred_channel="phone",
        complexity_mix=(0.50, 0.35, 0.15), resolution_hours=6, sessions_mean=6.0,
        page_views_per_session=5.0, guide_share=0.22, deals_share=0.02, add_to_cart_rate=0.45,
    ),
    Archetype(
        "deal_hunter", 0.15,
        mean_orders=8, browser_share=0.06, extra_items_per_order=0.8, premium_factor=0.7,
        price_growth=0.0, discount_propensity=0.75, discount_rate=0.30, category_breadth=11,
        return_rate=0.06, weekend_share=0.40, holiday_share=0.35, activity_trend=0.0,
        quiet_final_days=0, holiday_gift_share=0.30, tickets_mean=0.3, preferred_channel="chat",
        complexity_mix=(0.60, 0.30, 0.10), resolution_hours=16, sessions_mean=4.0,
        page_views_per_session=4.0, guide_share=0.03, deals_share=0.40, add_to_cart_rate=0.35,
    ),
    Archetype(
        "one_time_buyer", 0.22,
        mean_orders=1, browser_share=0.0, extra_items_per_order=0.4, premium_factor=1.0,
        price_growth=0.0, discount_propensity=0.15, discount_rate=0.15, category_breadth=2,
        return_rate=0.10, weekend_share=0.30, holiday_share=0.18, activity_trend=0.0,
        quiet_final_days=0, holiday_gift_share=0.30, tickets_mean=0.2, preferred_channel="email",
        complexity_mix=(0.60, 0.30, 0.10), resolution_hours=24, sessions_mean=1.2,
        page_views_per_session=3.0, guide_share=0.08, deals_share=0.06, add_to_cart_rate=0.25,
    ),
    Archetype(
        "seasonal_gifter", 0.10,
        mean_orders=4, browser_share=0.10, extra_items_per_order=0.8, premium_factor=1.15,
        price_growth=0.0, discount_propensity=0.20, discount_rate=0.15, category_breadth=3,
        return_rate=0.05, weekend_share=0.50, holiday_share=0.92, activity_trend=0.0,
        quiet_final_days=0, holiday_gift_share=0.70, tickets_mean=0.3, preferred_channel="email",
        complexity_mix=(0.60, 0.30, 0.10), resolution_hours=20, sessions_mean=1.5,
        page_views_per_session=3.0, guide_share=0.10, deals_share=0.08, add_to_cart_rate=0.30,
    ),
    Archetype(
        "churning_regular", 0.12,
        mean_orders=7, browser_share=0.04, extra_items_per_order=0.6, premium_factor=1.0,
        price_growth=-0.3, discount_propensity=0.12, discount_rate=0.12, category_breadth=3,
        return_rate=0.08, weekend_share=0.25, holiday_share=0.15, activity_trend=-1.0,
        quiet_final_days=240, holiday_gift_share=0.25, tickets_mean=0.7, preferred_channel="chat",
        complexity_mix=(0.50, 0.35, 0.15), resolution_hours=24, sessions_mean=2.5,
        page_views_per_session=3.0, guide_share=0.04, deals_share=0.05, add_to_cart_rate=0.30,
    ),
    Archetype(
        "support_heavy", 0.07,
        mean_orders=5, browser_share=0.06, extra_items_per_order=0.6, premium_factor=1.05,
        price_growth=0.0, discount_propensity=0.12, discount_rate=0.12, category_breadth=5,
        return_rate=0.28, weekend_share=0.30, holiday_share=0.17, activity_trend=0.0,
        quiet_final_days=0, holiday_gift_share=0.25, tickets_mean=6.0, preferred_channel="phone",
        complexity_mix=(0.15, 0.40, 0.45), resolution_hours=48, sessions_mean=2.0,
        page_views_per_session=3.0, guide_share=0.06, deals_share=0.05, add_to_cart_rate=0.30,
    ),
    Archetype(
        "steady_regular", 0.28,
        mean_orders=6, browser_share=0.08, extra_items_per_order=0.6, premium_factor=1.0,
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
_CYCLE_ARCHETYPE = ARCHETYPE_NAMES.index("steady_regular")


def _archetype_column(field_name: str) -> np.ndarray:
    """One parameter of every archetype, indexable by archetype code."""
    return np.array([getattr(archetype, field_name) for archetype in ARCHETYPES])


# Categories -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Categories:
    """The product categories of the seed file: the only place they are defined."""

    names: tuple[str, ...]
    typical_unit_price: np.ndarray
    is_seasonal: np.ndarray


def load_categories(path: Path = CATEGORIES_CSV) -> Categories:
    """Read the categories from the seed file, so adding a category there is enough."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return Categories(
        names=tuple(row["product_category"] for row in rows),
        typical_unit_price=np.array([float(row["typical_unit_price"]) for row in rows]),
        is_seasonal=np.array([row["is_seasonal"].strip().lower() == "true" for row in rows]),
    )


# Random streams ---------------------------------------------------------------------------------

_STREAMS = ("archetypes", "population", "merges", "orders", "items", "web", "tickets", "customers")


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per concern, so tuning one table does not reshuffle the others."""
    children = np.random.default_rng(seed).spawn(len(_STREAMS))
    return dict(zip(_STREAMS, children, strict=True))


def _archetype_codes(rng: np.random.Generator, customers: int) -> np.ndarray:
    """Exact quotas (largest remainders) in random order: the mix matches the shares at any size."""
    shares = _archetype_column("share")
    quotas = np.floor(shares * customers).astype(np.int64)
    remainders = shares * customers - quotas
    quotas[np.argsort(-remainders, kind="stable")[: customers - quotas.sum()]] += 1
    codes = np.repeat(np.arange(len(ARCHETYPES), dtype=np.int8), quotas)
    return rng.permutation(codes)


def assign_archetypes(customers: int, seed: int = 42) -> np.ndarray:
    """The archetype name of each customer: entry i belongs to customer id f"C{i:08d}"."""
    codes = _archetype_codes(_streams(seed)["archetypes"], customers)
    return np.array(ARCHETYPE_NAMES)[codes]


# Small helpers ----------------------------------------------------------------------------------


def _draw_codes(rng: np.random.Generator, probabilities: Sequence[float], size: int) -> np.ndarray:
    return rng.choice(len(probabilities), size=size, p=np.asarray(probabilities)).astype(np.int64)


def _draw_codes_by_group(
    rng: np.random.Generator, groups: np.ndarray, probability_table: np.ndarray
) -> np.ndarray:
    """Draw one code per row from its group's distribution (a row of `probability_table`)."""
    uniform = rng.random(len(groups))
    cumulative = np.cumsum(probability_table, axis=1)
    codes = np.zeros(len(groups), dtype=np.int64)
    # Inverse CDF one column at a time: a rows x codes matrix would not fit at a million customers.
    for column in range(probability_table.shape[1] - 1):
        codes += uniform >= cumulative[:, column][groups]
    return codes


def _poisson_by_group(rng: np.random.Generator, groups: np.ndarray, means: np.ndarray) -> np.ndarray:
    return rng.poisson(means[groups]).astype(np.int64)


def _pick_uniform(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """A uniform integer in [0, count) per row."""
    return np.minimum((rng.random(len(counts)) * counts).astype(np.int64), counts - 1)


def _dirty_count(rows: int, share: float, guaranteed: bool) -> int:
    count = round(rows * share)
    return min(rows, max(count, 1 if guaranteed else 0))


def _segment_cumsum(values: np.ndarray, segment_lengths: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at every segment; segments are consecutive runs of rows."""
    total = np.cumsum(values)
    segment_start = np.cumsum(segment_lengths) - segment_lengths
    before_segment = total[segment_start[segment_lengths > 0]] - values[segment_start[segment_lengths > 0]]
    return total - np.repeat(before_segment, segment_lengths[segment_lengths > 0])


# Calendar ---------------------------------------------------------------------------------------


def _with_share(weights: np.ndarray, mask: np.ndarray, share: float) -> np.ndarray:
    """Rescale weights so the masked days carry `share` of the total (when both sides can)."""
    inside, outside = weights[mask].sum(), weights[~mask].sum()
    if inside == 0 or outside == 0:
        return weights
    scaled = weights.copy()
    scaled[mask] *= share / inside
    scaled[~mask] *= (1 - share) / outside
    return scaled


def _day_weights(archetype: Archetype) -> np.ndarray:
    """How likely an archetype is active on each day: trend, churn, weekends and holidays."""
    days = WINDOW_START.astype("datetime64[D]") + np.arange(_WINDOW_DAYS)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    is_weekend, is_holiday = weekday >= 5, month >= 11

    weights = np.exp(archetype.activity_trend * np.linspace(0.0, 1.0, _WINDOW_DAYS))
    if archetype.quiet_final_days:
        weights[-archetype.quiet_final_days :] = 0.0
    # Weekend share within holiday and ordinary days alike, so setting the holiday share keeps it.
    for season in (is_holiday, ~is_holiday):
        weights[season] = _with_share(weights[season], is_weekend[season], archetype.weekend_share)
    weights = _with_share(weights, is_holiday, archetype.holiday_share)
    return weights / weights.sum()


_DAY_CDF = np.cumsum(np.stack([_day_weights(archetype) for archetype in ARCHETYPES]), axis=1)


def _sample_times(rng: np.random.Generator, archetype_codes: np.ndarray) -> np.ndarray:
    """Timestamps (µs) in the window, the day drawn from each row's archetype calendar."""
    uniform = rng.random(len(archetype_codes))
    days = np.zeros(len(archetype_codes), dtype=np.int64)
    for code in range(len(ARCHETYPES)):
        rows = np.flatnonzero(archetype_codes == code)
        days[rows] = np.searchsorted(_DAY_CDF[code], uniform[rows], side="right")
    days = np.minimum(days, _WINDOW_DAYS - 1)
    seconds = rng.integers(0, 86_400, size=len(archetype_codes))
    return _START_US + days * _US_PER_DAY + seconds * _US_PER_SECOND


def _is_holiday_season(times: np.ndarray) -> np.ndarray:
    months = times.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    return months >= 11


def _keep_in_window(times: np.ndarray, fallback: np.ndarray, margin_us: int = 0) -> np.ndarray:
    """Times moved relative to an order, falling back where they left the window.

    Clipping instead would pile rows up on the window's first and last instant.
    """
    inside = (times >= _START_US) & (times < _END_US - margin_us)
    return np.where(inside, times // _US_PER_SECOND * _US_PER_SECOND, fallback)


# Population -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Population:
    """Everyone who behaves: the real customers, then the accounts caught in circular merges.

    Identities (the ids in the raw tables) are laid out as real customers, cycle accounts, then
    duplicates, so a behaving account's index is also its identity index.
    """

    archetype: np.ndarray
    is_browser: np.ndarray
    is_cycle_account: np.ndarray
    customers: int

    @property
    def size(self) -> int:
        return len(self.archetype)


def _build_population(
    rng: np.random.Generator, customer_archetypes: np.ndarray, cycle_accounts: int
) -> _Population:
    customers = len(customer_archetypes)
    archetype = np.concatenate(
        [customer_archetypes, np.full(cycle_accounts, _CYCLE_ARCHETYPE, dtype=np.int8)]
    ).astype(np.int64)
    is_cycle_account = np.arange(len(archetype)) >= customers
    is_browser = (rng.random(len(archetype)) < _archetype_column("browser_share")[archetype]) & (
        ~is_cycle_account
    )
    return _Population(archetype, is_browser, is_cycle_account, customers)


def _merge_cycle_sizes(rng: np.random.Generator, customers: int) -> np.ndarray:
    guaranteed = customers >= GUARANTEED_DIRT_MIN_CUSTOMERS
    cycles = max(round(customers / CUSTOMERS_PER_MERGE_CYCLE), 1 if guaranteed else 0)
    return np.where(rng.random(cycles) < 0.7, 2, 3).astype(np.int64)


# Merges -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _MergePlan:
    """Duplicate accounts and the merges that fold them (and the looping accounts) together."""

    source: np.ndarray  # identity index per merge row
    target: np.ndarray
    merged_at: np.ndarray
    # Per behaving account: its first duplicate identity (-1 when it has none), how many, and the
    # earliest merge of its chain (activity before it may sit on a duplicate).
    chain_start: np.ndarray
    chain_length: np.ndarray
    first_merge_at: np.ndarray
    duplicate_owner: np.ndarray  # per duplicate: the real customer it belongs to

    @property
    def duplicates(self) -> int:
        return len(self.duplicate_owner)


@dataclass(frozen=True)
class _Links:
    source: np.ndarray
    target: np.ndarray
    merged_at: np.ndarray


def _whole_seconds(micros: np.ndarray) -> np.ndarray:
    return micros // _US_PER_SECOND * _US_PER_SECOND


def _chain_links(
    rng: np.random.Generator, owners: np.ndarray, lengths: np.ndarray, first_duplicate: int
) -> _Links:
    """Link j of a chain merges duplicate j into duplicate j + 1, the last one into the customer.

    Earlier links happened earlier: a duplicate already merged away could not be merged into.
    """
    starts = first_duplicate + np.cumsum(lengths) - lengths
    link_chain = np.repeat(np.arange(len(owners)), lengths)
    link_position = np.arange(len(link_chain)) - (starts - first_duplicate)[link_chain]
    steps_before_last = lengths[link_chain] - 1 - link_position
    source = starts[link_chain] + link_position
    target = np.where(steps_before_last == 0, owners[link_chain], source + 1)
    # The last merge comes at least two months in, so duplicates have time to be used.
    last_merge_span = _END_US - _START_US - 61 * _US_PER_DAY
    last_merge_at = _START_US + 60 * _US_PER_DAY + (rng.random(len(owners)) * last_merge_span)
    merged_at = last_merge_at[link_chain].astype(np.int64) - (
        steps_before_last * 15 * _US_PER_DAY
        + (rng.random(len(link_chain)) * 14 * _US_PER_DAY).astype(np.int64)
    )
    return _Links(source, target, _whole_seconds(merged_at))


def _cycle_links(rng: np.random.Generator, first_member: int, cycle_sizes: np.ndarray) -> _Links:
    """Each looping account merges into the next of its cycle, the last one back into the first."""
    members = first_member + np.arange(cycle_sizes.sum())
    cycle = np.repeat(np.arange(len(cycle_sizes)), cycle_sizes)
    cycle_first = first_member + np.cumsum(cycle_sizes) - cycle_sizes
    is_last = members == cycle_first[cycle] + cycle_sizes[cycle] - 1
    target = np.where(is_last, cycle_first[cycle], members + 1)
    merged_at = _START_US + (rng.random(len(members)) * (_END_US - _START_US)).astype(np.int64)
    return _Links(members, target, _whole_seconds(merged_at))


def _plan_merges(rng: np.random.Generator, population: _Population, cycle_sizes: np.ndarray) -> _MergePlan:
    customers = population.customers
    duplicated = round(customers * DUPLICATE_CUSTOMER_SHARE)
    owners = np.sort(rng.choice(customers, size=duplicated, replace=False))
    lengths = _draw_codes(rng, CHAIN_LENGTH_PROBABILITIES, len(owners)) + 1
    chains = _chain_links(rng, owners, lengths, first_duplicate=population.size)
    cycles = _cycle_links(rng, customers, cycle_sizes)

    chain_start = np.full(population.size, -1, dtype=np.int64)
    chain_start[owners] = population.size + np.cumsum(lengths) - lengths
    chain_length = np.zeros(population.size, dtype=np.int64)
    chain_length[owners] = lengths
    first_merge_at = np.full(population.size, np.iinfo(np.int64).min, dtype=np.int64)
    # Links are numbered like the duplicates they start from.
    first_merge_at[owners] = chains.merged_at[chain_start[owners] - population.size]
    return _MergePlan(
        source=np.concatenate([chains.source, cycles.source]),
        target=np.concatenate([chains.target, cycles.target]),
        merged_at=np.concatenate([chains.merged_at, cycles.merged_at]),
        chain_start=chain_start,
        chain_length=chain_length,
        first_merge_at=first_merge_at,
        duplicate_owner=np.repeat(owners, lengths),
    )


def _attribute_to_duplicates(
    rng: np.random.Generator, plan: _MergePlan, owner: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """The identity each row is recorded under: before the first merge, maybe a duplicate."""
    on_duplicate = (
        (plan.chain_start[owner] >= 0)
        & (times < plan.first_merge_at[owner])
        & (rng.random(len(owner)) < DUPLICATE_ACTIVITY_SHARE)
    )
    identity = owner.copy()
    moved = owner[on_duplicate]
    identity[on_duplicate] = plan.chain_start[moved] + _pick_uniform(rng, plan.chain_length[moved])
    return identity


# Orders -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Orders:
    """Orders in chronological order (so order ids grow with time)."""

    owner: np.ndarray  # behaving account
    identity: np.ndarray  # the id the order is recorded under
    ordered_at: np.ndarray
    per_owner: np.ndarray  # orders per behaving account
    by_owner: np.ndarray  # order rows grouped by owner, in owner order

    def random_order_of(self, rng: np.random.Generator, owners: np.ndarray) -> np.ndarray:
        first = np.cumsum(self.per_owner) - self.per_owner
        return self.by_owner[first[owners] + _pick_uniform(rng, self.per_owner[owners])]


def _order_counts(rng: np.random.Generator, population: _Population) -> np.ndarray:
    """At least one order for buyers (exactly one when the mean is one), none for browsers."""
    extra_mean = _archetype_column("mean_orders")[population.archetype] - 1.0
    counts = 1 + rng.poisson(extra_mean)
    cycle_counts = 1 + rng.integers(0, 2, size=population.size)  # an order or two
    counts = np.where(population.is_cycle_account, cycle_counts, counts)
    return np.where(population.is_browser, 0, counts).astype(np.int64)


def _generate_orders(rng: np.random.Generator, population: _Population, plan: _MergePlan) -> _Orders:
    per_owner = _order_counts(rng, population)
    owner = np.repeat(np.arange(population.size), per_owner)
    ordered_at = _sample_times(rng, population.archetype[owner])
    chronological = np.argsort(ordered_at, kind="stable")
    owner, ordered_at = owner[chronological], ordered_at[chronological]
    identity = _attribute_to_duplicates(rng, plan, owner, ordered_at)
    by_owner = np.argsort(owner, kind="stable")
    return _Orders(owner, identity, ordered_at, per_owner, by_owner)


@dataclass(frozen=True)
class _Items:
    order: np.ndarray  # order row
    category: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    discount_amount: np.ndarray
    is_returned: np.ndarray


def _preferred_categories(
    rng: np.random.Generator, accounts: int, categories: Categories, depth: int
) -> np.ndarray:
    """Each account's favourite categories, best first (weighted sampling without replacement).

    Seasonal categories rarely become favourites: they are bought as holiday gifts instead.
    """
    popularity = np.where(categories.is_seasonal, 0.15, 1.0).astype(np.float32)
    # 1 - U lies in (0, 1], so the logarithm stays finite.
    keys = np.log(1 - rng.random((accounts, len(popularity)), dtype=np.float32)) / popularity
    return np.argsort(-keys, axis=1)[:, :depth].astype(np.int8)


def _item_categories(
    rng: np.random.Generator,
    categories: Categories,
    preferred: np.ndarray,
    owner: np.ndarray,
    archetype: np.ndarray,
    in_holiday_season: np.ndarray,
) -> np.ndarray:
    breadth = _archetype_column("category_breadth")[archetype]
    # Squaring skews the draw towards the top favourites, so spend is concentrated, not uniform.
    rank = np.minimum((breadth * rng.random(len(owner)) ** 2).astype(np.int64), breadth - 1)
    category = preferred[owner, rank].astype(np.int64)
    seasonal = np.flatnonzero(categories.is_seasonal)
    is_gift = in_holiday_season & (
        rng.random(len(owner)) < _archetype_column("holiday_gift_share")[archetype]
    )
    category[is_gift] = seasonal[rng.integers(0, len(seasonal), size=int(is_gift.sum()))]
    return category


def _generate_items(
    rng: np.random.Generator, population: _Population, orders: _Orders, categories: Categories
) -> _Items:
    order_archetype = population.archetype[orders.owner]
    extra = _poisson_by_group(rng, order_archetype, _archetype_column("extra_items_per_order"))
    order = np.repeat(np.arange(len(orders.owner)), 1 + np.minimum(extra, 3))
    owner, archetype = orders.owner[order], order_archetype[order]
    ordered_at = orders.ordered_at[order]

    depth = int(_archetype_column("category_breadth").max())
    preferred = _preferred_categories(rng, population.size, categories, depth)
    category = _item_categories(rng, categories, preferred, owner, archetype, _is_holiday_season(ordered_at))
    del preferred

    quantity = 1 + rng.poisson(0.25, size=len(order))
    window_position = (ordered_at - _START_US) / (_END_US - _START_US)
    # Premium customers pay more within a category; a growing customer pays more as time goes on.
    growth = _archetype_column("price_growth")[archetype] * (window_position - 0.5)
    log_premium = np.log(_archetype_column("premium_factor"))[archetype] + growth
    unit_price = np.round(categories.typical_unit_price[category] * np.exp(rng.normal(log_premium, 0.25)), 2)
    unit_price = np.maximum(unit_price, 0.5)

    is_discounted = rng.random(len(order)) < _archetype_column("discount_propensity")[archetype]
    rate = np.clip(rng.normal(_archetype_column("discount_rate")[archetype], 0.05), 0.05, 0.8)
    discount_amount = np.where(is_discounted, np.round(rate * quantity * unit_price, 2), 0.0)
    is_returned = rng.random(len(order)) < _archetype_column("return_rate")[archetype]
    return _Items(order, category, quantity, unit_price, discount_amount, is_returned)


def _order_totals(items: _Items, order_count: int) -> np.ndarray:
    line_value = items.quantity * items.unit_price - items.discount_amount
    return np.round(np.bincount(items.order, weights=line_value, minlength=order_count), 2)


# Web events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _WebEvents:
    session_identity: np.ndarray  # per session, chronological
    session_started_at: np.ndarray
    session_device: np.ndarray
    session: np.ndarray  # per event
    event_type: np.ndarray
    page_type: np.ndarray
    occurred_at: np.ndarray


def _page_type_table() -> np.ndarray:
    """Per archetype, the probability of each page type: deals and guides set, the rest shared."""
    table = np.zeros((len(ARCHETYPES), len(PAGE_TYPES)))
    ordinary_total = sum(_ORDINARY_PAGE_WEIGHTS.values())
    for code, archetype in enumerate(ARCHETYPES):
        remaining = 1.0 - archetype.deals_share - archetype.guide_share
        for page, weight in _ORDINARY_PAGE_WEIGHTS.items():
            table[code, PAGE_TYPES.index(page)] = remaining * weight / ordinary_total
        table[code, PAGE_TYPES.index("deals")] = archetype.deals_share
        table[code, PAGE_TYPES.index("guide")] = archetype.guide_share
    return table


def _session_start_times(
    rng: np.random.Generator, population: _Population, orders: _Orders, owner: np.ndarray
) -> np.ndarray:
    """Most visits of buyers lead up to (or follow) an order; the rest follow their calendar."""
    started_at = _sample_times(rng, population.archetype[owner])
    # Leave room for the session's later events inside the window.
    started_at = np.where(started_at >= _END_US - _US_PER_HOUR, started_at - _US_PER_HOUR, started_at)
    near_order = (orders.per_owner[owner] > 0) & (rng.random(len(owner)) < 0.6)
    order = orders.random_order_of(rng, owner[near_order])
    offset = ((rng.random(len(order)) * 50 - 48) * _US_PER_HOUR).astype(np.int64)
    started_at[near_order] = _keep_in_window(
        orders.ordered_at[order] + offset, started_at[near_order], margin_us=_US_PER_HOUR
    )
    return started_at


def _session_counts(rng: np.random.Generator, population: _Population) -> np.ndarray:
    """Visits per account: browsers visit at least once, looping accounts never."""
    counts = _poisson_by_group(rng, population.archetype, _archetype_column("sessions_mean"))
    counts = np.where(population.is_browser, np.maximum(counts, 1), counts)
    return np.where(population.is_cycle_account, 0, counts)


def _session_events(
    rng: np.random.Generator, session_archetype: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lay out each session's events: a start, page views, an add-to-cart after some product views.

    Returns per event its session, event type code and page type code, sessions one after another.
    """
    sessions = len(session_archetype)
    extra_views = _poisson_by_group(rng, session_archetype, _archetype_column("page_views_per_session") - 1)
    views_per_session = 1 + np.minimum(extra_views, 7)
    view_session = np.repeat(np.arange(sessions), views_per_session)
    view_archetype = session_archetype[view_session]
    view_page = _draw_codes_by_group(rng, view_archetype, _page_type_table())
    adds_to_cart = (view_page == PAGE_TYPES.index("product")) & (
        rng.random(len(view_session)) < _archetype_column("add_to_cart_rate")[view_archetype]
    )

    # Where each page view lands: after the session start and the earlier views and add-to-carts.
    events_per_view = 1 + adds_to_cart.astype(np.int64)
    events_per_session = 1 + np.bincount(view_session, weights=events_per_view, minlength=sessions).astype(
        np.int64
    )
    session_offset = np.cumsum(events_per_session) - events_per_session
    view_position = 1 + _segment_cumsum(events_per_view, views_per_session) - events_per_view
    view_event = session_offset[view_session] + view_position
    cart_event = view_event[adds_to_cart] + 1

    events = int(events_per_session.sum())
    event_type = np.full(events, EVENT_TYPES.index("session_start"), dtype=np.int64)
    page_type = np.empty(events, dtype=np.int64)
    # A session starts on the page of its first view (the landing page).
    page_type[session_offset] = view_page[np.cumsum(views_per_session) - views_per_session]
    event_type[view_event] = EVENT_TYPES.index("page_view")
    page_type[view_event] = view_page
    event_type[cart_event] = EVENT_TYPES.index("add_to_cart")
    page_type[cart_event] = PAGE_TYPES.index("product")
    return np.repeat(np.arange(sessions), events_per_session), event_type, page_type


def _event_times(
    rng: np.random.Generator, started_at: np.ndarray, session: np.ndarray, event_type: np.ndarray
) -> np.ndarray:
    """Each event a few seconds to minutes after the previous one of its session."""
    is_start = event_type == EVENT_TYPES.index("session_start")
    gap_seconds = np.where(is_start, 0, rng.integers(5, 240, size=len(session)))
    events_per_session = np.bincount(session, minlength=len(started_at))
    return started_at[session] + _segment_cumsum(gap_seconds, events_per_session) * _US_PER_SECOND


def _generate_web_events(
    rng: np.random.Generator, population: _Population, orders: _Orders, plan: _MergePlan
) -> _WebEvents:
    owner = np.repeat(np.arange(population.size), _session_counts(rng, population))
    started_at = _session_start_times(rng, population, orders, owner)
    chronological = np.argsort(started_at, kind="stable")
    owner, started_at = owner[chronological], started_at[chronological]
    identity = _attribute_to_duplicates(rng, plan, owner, started_at)
    device = _draw_codes(rng, DEVICE_PROBABILITIES, len(owner))
    session, event_type, page_type = _session_events(rng, population.archetype[owner])
    occurred_at = _event_times(rng, started_at, session, event_type)
    return _WebEvents(identity, started_at, device, session, event_type, page_type, occurred_at)


# Tickets ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tickets:
    identity: np.ndarray
    opened_at: np.ndarray
    resolved_at: np.ndarray
    is_unresolved: np.ndarray
    channel: np.ndarray
    complexity: np.ndarray
    topic: np.ndarray
    satisfaction: np.ndarray
    has_satisfaction: np.ndarray


def _channel_table() -> np.ndarray:
    others = (1 - _PREFERRED_CHANNEL_PROBABILITY) / (len(CONTACT_CHANNELS) - 1)
    table = np.full((len(ARCHETYPES), len(CONTACT_CHANNELS)), others)
    for code, archetype in enumerate(ARCHETYPES):
        table[code, CONTACT_CHANNELS.index(archetype.preferred_channel)] = _PREFERRED_CHANNEL_PROBABILITY
    return table


def _ticket_open_times(
    rng: np.random.Generator, population: _Population, orders: _Orders, owner: np.ndarray
) -> np.ndarray:
    """Most tickets follow an order by a few days (late, broken); the rest come any time."""
    opened_at = _sample_times(rng, population.archetype[owner])
    after_order = (orders.per_owner[owner] > 0) & (rng.random(len(owner)) < 0.75)
    order = orders.random_order_of(rng, owner[after_order])
    delay = ((0.5 + rng.random(len(order)) * 20) * _US_PER_DAY).astype(np.int64)
    opened_at[after_order] = _keep_in_window(orders.ordered_at[order] + delay, opened_at[after_order])
    return opened_at


def _generate_tickets(
    rng: np.random.Generator, population: _Population, orders: _Orders, plan: _MergePlan
) -> _Tickets:
    per_owner = _poisson_by_group(rng, population.archetype, _archetype_column("tickets_mean"))
    per_owner[population.is_cycle_account] = 0
    owner = np.repeat(np.arange(population.size), per_owner)
    opened_at = _ticket_open_times(rng, population, orders, owner)
    chronological = np.argsort(opened_at, kind="stable")
    owner, opened_at = owner[chronological], opened_at[chronological]
    archetype = population.archetype[owner]
    identity = _attribute_to_duplicates(rng, plan, owner, opened_at)

    channel = _draw_codes_by_group(rng, archetype, _channel_table())
    complexity = _draw_codes_by_group(rng, archetype, np.array(_archetype_column("complexity_mix")))
    topic = _draw_codes(rng, TOPIC_PROBABILITIES, len(owner))
    median_hours = (
        _archetype_column("resolution_hours")[archetype] * np.array(_COMPLEXITY_HOURS_FACTOR)[complexity]
    )
    hours = rng.lognormal(np.log(median_hours), 0.6)
    resolved_at = opened_at + (hours * _US_PER_HOUR).astype(np.int64) // _US_PER_SECOND * _US_PER_SECOND
    # Still open: some stalled, and anything not resolved by the end of the window.
    is_unresolved = (rng.random(len(owner)) < 0.05) | (resolved_at >= _END_US)

    # Only some customers answer the survey; slow answers make for unhappy ones.
    has_satisfaction = ~is_unresolved & (rng.random(len(owner)) < 0.6)
    score = 4.2 - 0.45 * np.log(hours / 12) + rng.normal(0, 0.9, size=len(owner))
    satisfaction = np.clip(np.round(score), 1, 5).astype(np.int64)
    return _Tickets(
        identity=identity,
        opened_at=opened_at,
        resolved_at=resolved_at,
        is_unresolved=is_unresolved,
        channel=channel,
        complexity=complexity,
        topic=topic,
        satisfaction=satisfaction,
        has_satisfaction=has_satisfaction,
    )


# Arrow columns ----------------------------------------------------------------------------------


def _format_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _timestamps(micros: np.ndarray, is_null: np.ndarray | None = None) -> pa.Array:
    return pa.array(micros, type=pa.timestamp("us", tz="UTC"), mask=is_null)


_ENUM_SPELLINGS: tuple[Callable[[str], str], ...] = (
    lambda value: value,  # the clean spelling comes first: variant 0
    str.capitalize,
    str.upper,
    str.title,
    lambda value: f" {value} ",
    lambda value: f"{value.upper()} ",
    lambda value: f" {value.capitalize()}",
)


def _messy_enum(rng: np.random.Generator, codes: np.ndarray, values: Sequence[str]) -> pa.Array:
    """Enum values as a careless source system writes them: now and then mixed case or padded."""
    spellings = pa.array([spell(value) for value in values for spell in _ENUM_SPELLINGS])
    is_messy = rng.random(len(codes)) < MESSY_ENUM_SHARE
    variant = np.where(is_messy, rng.integers(1, len(_ENUM_SPELLINGS), size=len(codes)), 0)
    return spellings.take(pa.array(codes * len(_ENUM_SPELLINGS) + variant))


_STRAY_SPACES = ((" ", ""), ("", " "), (" ", " "), ("  ", ""), ("", "  "))


def _with_stray_spaces(rng: np.random.Generator, ids: pa.Array) -> pa.Array:
    is_scuffed = rng.random(len(ids)) < STRAY_SPACE_SHARE
    padding = rng.integers(0, len(_STRAY_SPACES), size=int(is_scuffed.sum()))
    left = pa.array([pair[0] for pair in _STRAY_SPACES]).take(pa.array(padding))
    right = pa.array([pair[1] for pair in _STRAY_SPACES]).take(pa.array(padding))
    scuffed = pc.binary_join_element_wise(left, ids.filter(pa.array(is_scuffed)), right, "")
    return pc.replace_with_mask(ids, pa.array(is_scuffed), scuffed)


def _random_rows(rng: np.random.Generator, rows: int, share: float, guaranteed: bool) -> np.ndarray:
    """A mask over `rows` picking the few rows a dirty-data rule applies to."""
    mask = np.zeros(rows, dtype=bool)
    mask[rng.choice(rows, size=_dirty_count(rows, share, guaranteed), replace=False)] = True
    return mask


def _activity_customer_ids(
    rng: np.random.Generator,
    identity_ids: pa.Array,
    identity: np.ndarray,
    is_null: np.ndarray | None,
) -> pa.Array:
    ids = identity_ids.take(pa.array(identity, mask=is_null))
    return _with_stray_spaces(rng, ids)


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    schema = RAW_TABLES[name]
    return pa.Table.from_arrays([columns[field.name] for field in schema], schema=schema)


# Tables -----------------------------------------------------------------------------------------


def _identity_ids(population: _Population, plan: _MergePlan) -> pa.Array:
    """Real customers C00000000…, looping accounts X00000001…, then duplicates D00000001…."""
    cycle_accounts = population.size - population.customers
    return pa.concat_arrays(
        [
            _format_ids("C", np.arange(population.customers), 8),
            _format_ids("X", np.arange(1, cycle_accounts + 1), 8),
            _format_ids("D", np.arange(1, plan.duplicates + 1), 8),
        ]
    )


def _first_activity(
    identities: int, plan: _MergePlan, orders: _Orders, web: _WebEvents, tickets: _Tickets
) -> np.ndarray:
    """Each account's first trace: an order, a visit, a ticket, or the day before its merge."""
    first = np.full(identities, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, orders.identity, orders.ordered_at)
    np.minimum.at(first, web.session_identity, web.session_started_at)
    np.minimum.at(first, tickets.identity, tickets.opened_at)
    np.minimum.at(first, plan.source, plan.merged_at - _US_PER_DAY)
    # The original account is the oldest: it signed up before anything the person did elsewhere.
    np.minimum.at(first, plan.duplicate_owner, first[len(first) - plan.duplicates :])
    return first


def _customers_table(
    rng: np.random.Generator,
    population: _Population,
    plan: _MergePlan,
    identity_ids: pa.Array,
    first_activity: np.ndarray,
) -> pa.Table:
    identities = len(identity_ids)
    is_duplicate = np.arange(identities) >= population.size
    # A duplicate account is the same person: same country, and an e-mail address they tagged.
    person = np.arange(identities)
    person[is_duplicate] = plan.duplicate_owner
    country = _draw_codes(rng, COUNTRY_PROBABILITIES, identities)[person]
    suffix = pc.if_else(
        pa.array(is_duplicate),
        pc.binary_join_element_wise("+", pc.utf8_lower(identity_ids), ""),
        "",
    )
    domain = pa.array(EMAIL_DOMAINS).take(pa.array(rng.integers(0, len(EMAIL_DOMAINS), identities)))
    local_part = pc.utf8_lower(identity_ids.take(pa.array(person)))
    email = pc.binary_join_element_wise(local_part, suffix, "@", domain, "")

    # People sign up right before they first do something, or a little earlier.
    lag = np.where(rng.random(identities) < 0.35, 0.0, rng.exponential(7 * _US_PER_DAY, identities))
    signed_up_at = (first_activity - lag.astype(np.int64)) // _US_PER_SECOND * _US_PER_SECOND
    return _table(
        "customers",
        {
            "customer_id": identity_ids,
            "email": email,
            "signed_up_at": _timestamps(signed_up_at),
            "country_code": pa.array(COUNTRY_CODES).take(pa.array(country)),
            "acquisition_channel": pa.array(ACQUISITION_CHANNELS).take(
                pa.array(_draw_codes(rng, ACQUISITION_PROBABILITIES, identities))
            ),
            "marketing_opt_in": pa.array(rng.random(identities) < MARKETING_OPT_IN_RATE),
        },
    )


def _merges_table(plan: _MergePlan, identity_ids: pa.Array) -> pa.Table:
    chronological = np.argsort(plan.merged_at, kind="stable")
    return _table(
        "customer_id_merges",
        {
            "merge_id": pa.array(np.arange(1, len(chronological) + 1), pa.int64()),
            "source_customer_id": identity_ids.take(pa.array(plan.source[chronological])),
            "target_customer_id": identity_ids.take(pa.array(plan.target[chronological])),
            "merged_at": _timestamps(plan.merged_at[chronological]),
        },
    )


def _orders_and_items_tables(
    rng: np.random.Generator,
    orders: _Orders,
    items: _Items,
    categories: Categories,
    identity_ids: pa.Array,
    guaranteed_dirt: bool,
) -> tuple[pa.Table, pa.Table]:
    order_count, item_count = len(orders.owner), len(items.order)
    order_ids = _format_ids("O", np.arange(1, order_count + 1), 9)
    # The source system keeps the total it charged even when an item line is later corrupted.
    order_total = _order_totals(items, order_count)
    quantity = items.quantity.copy()
    quantity[_random_rows(rng, item_count, NEGATIVE_QUANTITY_SHARE, guaranteed_dirt)] *= -1
    orders_table = _table(
        "orders",
        {
            "order_id": order_ids,
            "customer_id": _activity_customer_ids(
                rng,
                identity_ids,
                orders.identity,
                _random_rows(rng, order_count, NULL_CUSTOMER_SHARE, guaranteed_dirt),
            ),
            "ordered_at": _timestamps(orders.ordered_at),
            "order_status": _messy_enum(
                rng, _draw_codes(rng, ORDER_STATUS_PROBABILITIES, order_count), ORDER_STATUSES
            ),
            "sales_channel": _messy_enum(
                rng, _draw_codes(rng, SALES_CHANNEL_PROBABILITIES, order_count), SALES_CHANNELS
            ),
            "order_total": pa.array(order_total),
        },
    )
    items_table = _table(
        "order_items",
        {
            "order_item_id": _format_ids("I", np.arange(1, item_count + 1), 10),
            "order_id": order_ids.take(pa.array(items.order)),
            "product_category": pa.array(categories.names).take(pa.array(items.category)),
            "quantity": pa.array(quantity, pa.int64()),
            "unit_price": pa.array(items.unit_price),
            "discount_amount": pa.array(items.discount_amount),
            "is_returned": pa.array(items.is_returned),
        },
    )
    return orders_table, items_table


def _web_events_table(
    rng: np.random.Generator, web: _WebEvents, identity_ids: pa.Array, guaranteed_dirt: bool
) -> pa.Table:
    events = len(web.session)
    session_ids = _format_ids("S", np.arange(1, len(web.session_identity) + 1), 9)
    return _table(
        "web_events",
        {
            "event_id": _format_ids("E", np.arange(1, events + 1), 10),
            "customer_id": _activity_customer_ids(
                rng,
                identity_ids,
                web.session_identity[web.session],
                _random_rows(rng, events, NULL_CUSTOMER_SHARE, guaranteed_dirt),
            ),
            "session_id": session_ids.take(pa.array(web.session)),
            "event_type": _messy_enum(rng, web.event_type, EVENT_TYPES),
            "page_type": _messy_enum(rng, web.page_type, PAGE_TYPES),
            "device_type": _messy_enum(rng, web.session_device[web.session], DEVICE_TYPES),
            "occurred_at": _timestamps(web.occurred_at),
        },
    )


def _tickets_table(rng: np.random.Generator, tickets: _Tickets, identity_ids: pa.Array) -> pa.Table:
    count = len(tickets.identity)
    return _table(
        "support_tickets",
        {
            "ticket_id": _format_ids("T", np.arange(1, count + 1), 9),
            "customer_id": _activity_customer_ids(rng, identity_ids, tickets.identity, None),
            "opened_at": _timestamps(tickets.opened_at),
            "resolved_at": _timestamps(tickets.resolved_at, tickets.is_unresolved),
            "contact_channel": _messy_enum(rng, tickets.channel, CONTACT_CHANNELS),
            "complexity": _messy_enum(rng, tickets.complexity, COMPLEXITIES),
            "topic": _messy_enum(rng, tickets.topic, TICKET_TOPICS),
            "satisfaction_score": pa.array(tickets.satisfaction, pa.int64(), mask=~tickets.has_satisfaction),
        },
    )


# Public API -------------------------------------------------------------------------------------


def generate_raw_tables(customers: int, seed: int = 42) -> dict[str, pa.Table]:
    """All raw tables for `customers` customers; the same arguments always give the same data."""
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    categories = load_categories()
    streams = _streams(seed)
    guaranteed_dirt = customers >= GUARANTEED_DIRT_MIN_CUSTOMERS

    customer_archetypes = _archetype_codes(streams["archetypes"], customers)
    cycle_sizes = _merge_cycle_sizes(streams["merges"], customers)
    population = _build_population(streams["population"], customer_archetypes, int(cycle_sizes.sum()))
    plan = _plan_merges(streams["merges"], population, cycle_sizes)
    identity_ids = _identity_ids(population, plan)

    orders = _generate_orders(streams["orders"], population, plan)
    items = _generate_items(streams["items"], population, orders, categories)
    orders_table, items_table = _orders_and_items_tables(
        streams["orders"], orders, items, categories, identity_ids, guaranteed_dirt
    )
    del items
    web = _generate_web_events(streams["web"], population, orders, plan)
    web_table = _web_events_table(streams["web"], web, identity_ids, guaranteed_dirt)
    tickets = _generate_tickets(streams["tickets"], population, orders, plan)
    tickets_table = _tickets_table(streams["tickets"], tickets, identity_ids)

    first_activity = _first_activity(len(identity_ids), plan, orders, web, tickets)
    del web
    return {
        "customers": _customers_table(streams["customers"], population, plan, identity_ids, first_activity),
        "customer_id_merges": _merges_table(plan, identity_ids),
        "orders": orders_table,
        "order_items": items_table,
        "web_events": web_table,
        "support_tickets": tickets_table,
        # From a random stream of its own: the other tables are the same with or without products.
        "products": generate_products(product_count(customers), seed=seed),
    }


def write_raw_tables(warehouse: Warehouse, tables: dict[str, pa.Table]) -> dict[str, int]:
    """Replace the raw tables in one transaction: readers never see a mix of old and new data."""
    with warehouse.session() as session:
        session.replace_tables(RAW_SCHEMA, tables)
    return {name: table.num_rows for name, table in tables.items()}
