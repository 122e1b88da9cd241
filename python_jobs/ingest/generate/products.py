"""Deterministic synthetic product catalogue for `raw.products`.

The product segmentation job (an LLM, or a TF-IDF baseline) groups the products of one category into segments;
to check it, the segments have to be there to find. Every product is drawn from a *product type* of its
category (rotary, slide, smart Wi-Fi, Z-Wave, LED-compatible and 3-way dimmer switches; colour, Zigbee,
Bluetooth, filament, tunable-white and flood smart bulbs; …): a type has its own title phrases, specifications,
price level and description sentences, mentioning wattage, hubs, wiring, ratings and the like, so products of a
type read alike and differ from the other types of the category.

About 5% of the catalogue is *noise*: a product listed under a category it does not belong to (a garden hose
under 'Dimmer Switches'), which the segmentation should set aside as out of scope. A few rows are as careless as
a real catalogue export: the category now and then in another case or padded with spaces (staging keeps the
display spelling and matches on a lower-cased key), a few products without a brand or a description.

`product_truth` tells a test or an evaluation which type (or noise) each product was drawn from; the truth never
reaches the raw table. Loops run over categories and product types, never over rows; the same `(count, seed)`
always gives the same table, from a random stream of its own, so adding products did not change any other table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from python_jobs.ingest.generate.catalogue_home import HOME_CATEGORIES
from python_jobs.ingest.generate.catalogue_lighting import LIGHTING_CATEGORIES
from python_jobs.ingest.generate.catalogue_noise import NOISE_TYPES
from python_jobs.ingest.generate.product_types import Category, ProductType
from python_jobs.warehouse.raw_tables import RAW_TABLES

FIRST_PRODUCT_ID = 100_001
MIN_PRODUCTS = 300
MAX_PRODUCTS = 20_000
CUSTOMERS_PER_PRODUCT = 10

NOISE_SHARE = 0.05
MESSY_CATEGORY_SHARE = 0.02
MISSING_BRAND_SHARE = 0.02
MISSING_DESCRIPTION_SHARE = 0.01
PRICE_SPREAD = 0.25  # sigma of the log price around the type's median

# The products' random stream: a spawn key no stream of `commerce` uses (they are 0, 1, 2, ...).
_PRODUCTS_STREAM_KEY = 0x70726F64  # "prod"

# Sentences any product's description may end with.
_CLOSINGS = (
    "Backed by a 1-year limited warranty.",
    "Backed by a 2-year limited warranty.",
    "Ships in recyclable, frustration-free packaging.",
    "Customer support available 7 days a week.",
    "Free returns within 30 days.",
)


CATEGORIES: tuple[Category, ...] = (*LIGHTING_CATEGORIES, *HOME_CATEGORIES)

CATEGORY_NAMES: tuple[str, ...] = tuple(category.name for category in CATEGORIES)


def product_count(customers: int) -> int:
    """How many products `segments generate` writes for `customers` customers."""
    return max(MIN_PRODUCTS, min(customers // CUSTOMERS_PER_PRODUCT, MAX_PRODUCTS))


@dataclass(frozen=True)
class ProductTruth:
    """What each product really is, row for row with the generated table; never written to the warehouse."""

    category: np.ndarray  # the category it is listed under (clean spelling)
    product_type: np.ndarray  # the type it was drawn from: a key of its category's types, or a noise key
    is_noise: np.ndarray  # listed under a category it does not belong to


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_PRODUCTS_STREAM_KEY,)))


def _quotas(shares: Sequence[float], total: int) -> np.ndarray:
    """Exact counts by largest remainder, so the mix matches the shares at any size."""
    shares = np.asarray(shares, dtype=float) / sum(shares)
    quotas = np.floor(shares * total).astype(np.int64)
    remainders = shares * total - quotas
    quotas[np.argsort(-remainders, kind="stable")[: total - quotas.sum()]] += 1
    return quotas


@dataclass(frozen=True)
class _Kind:
    """A product type as drawn: the type and the brands it is sold under."""

    category_code: int  # the category it belongs to; -1 for noise
    type: ProductType
    brands: tuple[str, ...]


def _kinds() -> list[_Kind]:
    kinds = [
        _Kind(code, product_type, category.brands)
        for code, category in enumerate(CATEGORIES)
        for product_type in category.types
    ]
    kinds += [_Kind(-1, product_type, product_type.brands) for product_type in NOISE_TYPES]
    return kinds


def _pick(rng: np.random.Generator, options: Sequence[str], size: int) -> pa.Array:
    return pa.array(options).take(pa.array(rng.integers(0, len(options), size=size)))


def _describe(rng: np.random.Generator, details: Sequence[str], size: int) -> pa.Array:
    """Two different detail sentences of the type, then a closing sentence any product may carry."""
    first = rng.integers(0, len(details), size=size)
    second = (first + rng.integers(1, len(details), size=size)) % len(details)
    sentences = pa.array(details)
    return pc.binary_join_element_wise(
        sentences.take(pa.array(first)),
        sentences.take(pa.array(second)),
        _pick(rng, _CLOSINGS, size),
        " ",
    )


def _prices(rng: np.random.Generator, median: float, size: int) -> np.ndarray:
    """Shop prices around the type's median: whole amounts ending in .99 (or .49 under 10)."""
    raw = median * rng.lognormal(0.0, PRICE_SPREAD, size=size)
    cents = np.where(raw < 10, 0.51, 0.01)
    return np.round(np.maximum(np.round(raw), 1.0) - cents, 2)


def _kind_rows(rng: np.random.Generator, kind: _Kind, size: int) -> dict[str, pa.Array]:
    product_type = kind.type
    brand = _pick(rng, kind.brands, size)
    title = pc.binary_join_element_wise(
        brand,
        " ",
        _pick(rng, product_type.phrases, size),
        ", ",
        _pick(rng, product_type.specs, size),
        "",
    )
    return {
        "title": title,
        "brand": brand,
        "price": pa.array(_prices(rng, product_type.median_price, size)),
        "description": _describe(rng, product_type.details, size),
    }


def _messy_categories(rng: np.random.Generator, codes: np.ndarray) -> pa.Array:
    """Category names as a careless export writes them: now and then lower or upper case, or padded."""
    spellings = (
        lambda name: name,
        str.lower,
        str.upper,
        lambda name: f" {name}",
        lambda name: f"{name} ",
    )
    table = pa.array([spell(name) for name in CATEGORY_NAMES for spell in spellings])
    is_messy = rng.random(len(codes)) < MESSY_CATEGORY_SHARE
    variant = np.where(is_messy, rng.integers(1, len(spellings), size=len(codes)), 0)
    return table.take(pa.array(codes * len(spellings) + variant))


def _with_nulls(rng: np.random.Generator, values: pa.Array, share: float) -> pa.Array:
    is_null = rng.random(len(values)) < share
    return pc.if_else(pa.array(is_null), pa.scalar(None, values.type), values)


def generate_products_with_truth(count: int, seed: int = 42) -> tuple[pa.Table, ProductTruth]:
    """`count` products and what each really is; the same arguments always give the same data."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    rng = _rng(seed)
    kinds = _kinds()

    # Which category each product is listed under: exact quotas, in random order.
    listed = rng.permutation(
        np.repeat(np.arange(len(CATEGORIES)), _quotas([c.share for c in CATEGORIES], count))
    )
    # Which kind it really is: a type of its category, or, for an exact 5%, a noise product.
    kind_of_type = {(kind.category_code, kind.type.key): index for index, kind in enumerate(kinds)}
    kind = np.empty(count, dtype=np.int64)
    for code, category in enumerate(CATEGORIES):
        rows = np.flatnonzero(listed == code)
        type_kinds = np.array([kind_of_type[(code, t.key)] for t in category.types])
        kind[rows] = type_kinds[rng.integers(0, len(type_kinds), size=len(rows))]
    noise_kinds = np.array([i for i, k in enumerate(kinds) if k.category_code == -1])
    is_noise = np.zeros(count, dtype=bool)
    is_noise[rng.choice(count, size=round(NOISE_SHARE * count), replace=False)] = True
    kind[is_noise] = noise_kinds[rng.integers(0, len(noise_kinds), size=int(is_noise.sum()))]

    # The text and prices, one kind at a time, then put back in row order.
    order = np.argsort(kind, kind="stable")
    counts = np.bincount(kind, minlength=len(kinds))
    chunks = [_kind_rows(rng, kinds[k], int(counts[k])) for k in range(len(kinds)) if counts[k]]
    back = pa.array(np.argsort(order, kind="stable"))
    columns = {
        name: pa.concat_arrays([chunk[name] for chunk in chunks]).take(back)
        for name in ("title", "brand", "price", "description")
    }

    schema = RAW_TABLES["products"]
    table = pa.Table.from_arrays(
        [
            pa.array(np.arange(FIRST_PRODUCT_ID, FIRST_PRODUCT_ID + count)).cast(pa.string()),
            columns["title"],
            _messy_categories(rng, listed),
            _with_nulls(rng, columns["brand"], MISSING_BRAND_SHARE),
            columns["price"],
            _with_nulls(rng, columns["description"], MISSING_DESCRIPTION_SHARE),
        ],
        schema=schema,
    )
    truth = ProductTruth(
        category=np.array(CATEGORY_NAMES)[listed],
        product_type=np.array([k.type.key for k in kinds])[kind],
        is_noise=is_noise,
    )
    return table, truth


def generate_products(count: int, seed: int = 42) -> pa.Table:
    """The `raw.products` table of `count` products."""
    return generate_products_with_truth(count, seed)[0]


def product_truth(count: int, seed: int = 42) -> ProductTruth:
    """What each product of `generate_products(count, seed)` really is, row for row."""
    return generate_products_with_truth(count, seed)[1]
