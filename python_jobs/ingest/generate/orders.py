"""Orders and their lines: when customers buy, what, and for how much."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from python_jobs import PROJECT_ROOT
from python_jobs.ingest.generate.accounts import MergePlan, Population, attribute_to_duplicates
from python_jobs.ingest.generate.archetypes import archetype_column
from python_jobs.ingest.generate.draws import pick_uniform, poisson_by_group
from python_jobs.ingest.generate.purchases import draw_purchases
from python_jobs.ingest.generate.window import END_US, START_US, is_holiday_season, times_at_positions

CATEGORIES_CSV = PROJECT_ROOT / "seeds" / "product_categories.csv"


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


@dataclass(frozen=True)
class Orders:
    """Orders in chronological order (so order ids grow with time)."""

    owner: np.ndarray  # behaving account
    identity: np.ndarray  # the id the order is recorded under
    ordered_at: np.ndarray
    per_owner: np.ndarray  # orders per behaving account
    by_owner: np.ndarray  # order rows grouped by owner, in owner order

    def random_order_of(self, rng: np.random.Generator, owners: np.ndarray) -> np.ndarray:
        first = np.cumsum(self.per_owner) - self.per_owner
        return self.by_owner[first[owners] + pick_uniform(rng, self.per_owner[owners])]


def generate_orders(rng: np.random.Generator, population: Population, plan: MergePlan) -> Orders:
    purchases = draw_purchases(rng, population)
    ordered_at = times_at_positions(rng, population.archetype[purchases.owner], purchases.position)
    chronological = np.argsort(ordered_at, kind="stable")
    owner, ordered_at = purchases.owner[chronological], ordered_at[chronological]
    per_owner = np.bincount(owner, minlength=population.size).astype(np.int64)
    identity = attribute_to_duplicates(rng, plan, owner, ordered_at)
    by_owner = np.argsort(owner, kind="stable")
    return Orders(owner, identity, ordered_at, per_owner, by_owner)


@dataclass(frozen=True)
class Items:
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
    breadth = archetype_column("category_breadth")[archetype]
    # Squaring skews the draw towards the top favourites, so spend is concentrated, not uniform.
    rank = np.minimum((breadth * rng.random(len(owner)) ** 2).astype(np.int64), breadth - 1)
    category = preferred[owner, rank].astype(np.int64)
    seasonal = np.flatnonzero(categories.is_seasonal)
    is_gift = in_holiday_season & (rng.random(len(owner)) < archetype_column("holiday_gift_share")[archetype])
    category[is_gift] = seasonal[rng.integers(0, len(seasonal), size=int(is_gift.sum()))]
    return category


def generate_items(
    rng: np.random.Generator, population: Population, orders: Orders, categories: Categories
) -> Items:
    order_archetype = population.archetype[orders.owner]
    extra = poisson_by_group(rng, order_archetype, archetype_column("extra_items_per_order"))
    order = np.repeat(np.arange(len(orders.owner)), 1 + np.minimum(extra, 3))
    owner, archetype = orders.owner[order], order_archetype[order]
    ordered_at = orders.ordered_at[order]

    depth = int(archetype_column("category_breadth").max())
    preferred = _preferred_categories(rng, population.size, categories, depth)
    category = _item_categories(rng, categories, preferred, owner, archetype, is_holiday_season(ordered_at))
    del preferred

    quantity = 1 + rng.poisson(0.25, size=len(order))
    window_position = (ordered_at - START_US) / (END_US - START_US)
    # Premium customers pay more within a category; a growing customer pays more as time goes on.
    growth = archetype_column("price_growth")[archetype] * (window_position - 0.5)
    log_premium = np.log(archetype_column("premium_factor"))[archetype] + growth
    unit_price = np.round(categories.typical_unit_price[category] * np.exp(rng.normal(log_premium, 0.25)), 2)
    unit_price = np.maximum(unit_price, 0.5)

    is_discounted = rng.random(len(order)) < archetype_column("discount_propensity")[archetype]
    rate = np.clip(rng.normal(archetype_column("discount_rate")[archetype], 0.05), 0.05, 0.8)
    discount_amount = np.where(is_discounted, np.round(rate * quantity * unit_price, 2), 0.0)
    is_returned = rng.random(len(order)) < archetype_column("return_rate")[archetype]
    return Items(order, category, quantity, unit_price, discount_amount, is_returned)


def order_totals(items: Items, order_count: int) -> np.ndarray:
    line_value = items.quantity * items.unit_price - items.discount_amount
    return np.round(np.bincount(items.order, weights=line_value, minlength=order_count), 2)
