"""The synthetic product catalogue: reproducible, true to the raw contract, with segments there to be found.

The truth (`product_truth`) says which product type, or noise, each product was drawn from; the checks compare
the table with it the way the warehouse sees the table (categories trimmed and lower-cased, as staging does).
"""

from __future__ import annotations

import re
import time
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from python_jobs.ingest.generate import generate_raw_tables
from python_jobs.ingest.generate.products import (
    CATEGORIES,
    CATEGORY_NAMES,
    FIRST_PRODUCT_ID,
    MESSY_CATEGORY_SHARE,
    NOISE_SHARE,
    NOISE_TYPES,
    generate_products,
    generate_products_with_truth,
    product_count,
    product_truth,
)
from python_jobs.warehouse.raw_tables import RAW_TABLES

COUNT = 20_000
SEED = 5


@pytest.fixture(scope="module")
def catalogue() -> tuple[pa.Table, object]:
    return generate_products_with_truth(COUNT, seed=SEED)


@pytest.fixture(scope="module")
def table(catalogue) -> pa.Table:
    return catalogue[0]


@pytest.fixture(scope="module")
def truth(catalogue):
    return catalogue[1]


def column(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist()


# Reproducibility and contract ---------------------------------------------------------------------


def test_same_arguments_give_identical_tables():
    assert generate_products(2_000, seed=3).equals(generate_products(2_000, seed=3))
    first, second = product_truth(2_000, seed=3), product_truth(2_000, seed=3)
    assert np.array_equal(first.product_type, second.product_type)
    assert np.array_equal(first.is_noise, second.is_noise)


def test_different_seeds_give_different_tables():
    assert not generate_products(2_000, seed=3).equals(generate_products(2_000, seed=4))


def test_table_matches_the_raw_contract(table):
    assert table.schema.equals(RAW_TABLES["products"])
    assert table.num_rows == COUNT


def test_ids_are_unique_consecutive_and_start_at_100001(table):
    ids = column(table, "product_id")  # text, as raw.products holds every catalogue's ids
    assert ids == [str(n) for n in range(FIRST_PRODUCT_ID, FIRST_PRODUCT_ID + COUNT)]
    assert FIRST_PRODUCT_ID == 100_001


def test_titles_are_never_empty_and_prices_are_shop_prices(table):
    assert all(title and title.strip() == title for title in column(table, "title"))
    prices = np.array(column(table, "price"))
    assert (prices > 0).all()
    cents = np.round(prices * 100).astype(int) % 100
    assert set(cents) <= {49, 99}


@pytest.mark.parametrize(
    ("customers", "expected"),
    [(1, 300), (3_000, 300), (3_009, 300), (3_010, 301), (50_000, 5_000), (200_000, 20_000), (10**6, 20_000)],
)
def test_product_count_follows_the_customers(customers, expected):
    assert product_count(customers) == expected


def test_generate_raw_tables_includes_the_products_of_its_seed():
    tables = generate_raw_tables(3_500, seed=9)

    catalogue = generate_products(product_count(3_500), seed=9)
    assert tables["products"].num_rows == catalogue.num_rows == 350
    # Row for row the catalogue, but for the one row planted without its product id (one per 200 rows).
    differs = [
        index
        for index, (raw, generated) in enumerate(
            zip(tables["products"].to_pylist(), catalogue.to_pylist(), strict=True)
        )
        if raw != generated
    ]
    assert len(differs) == 1
    assert tables["products"]["product_id"][differs[0]].as_py() is None


def test_twenty_thousand_products_take_under_two_seconds():
    started = time.perf_counter()
    generate_products(20_000, seed=1)
    assert time.perf_counter() - started < 2.0


# Category mix ---------------------------------------------------------------------------------------


def test_categories_come_in_their_shares_exactly(truth):
    counts = Counter(truth.category.tolist())
    for category in CATEGORIES:
        assert abs(counts[category.name] - category.share * COUNT) <= 1, category.name


def test_raw_categories_match_the_truth_once_trimmed_and_lower_cased(table, truth):
    keys = [category.strip().lower() for category in column(table, "category")]
    assert keys == [name.lower() for name in truth.category]


def test_a_few_categories_are_spelled_carelessly(table, truth):
    messy = np.array(column(table, "category")) != truth.category
    assert messy.mean() == pytest.approx(MESSY_CATEGORY_SHARE, abs=0.005)
    assert set(np.array(column(table, "category"))[~messy]) == set(CATEGORY_NAMES)


def test_each_category_has_three_to_six_types_all_present(truth):
    for category in CATEGORIES:
        assert 3 <= len(category.types) <= 6, category.name
        in_category = (truth.category == category.name) & ~truth.is_noise
        assert set(truth.product_type[in_category]) == {t.key for t in category.types}, category.name


def test_a_few_brands_and_descriptions_are_missing(table):
    brands, descriptions = column(table, "brand"), column(table, "description")
    assert 0.01 < brands.count(None) / COUNT < 0.03
    assert 0.003 < descriptions.count(None) / COUNT < 0.02


# Noise -------------------------------------------------------------------------------------------------


def test_noise_is_five_percent_exactly(truth):
    assert truth.is_noise.sum() == round(NOISE_SHARE * COUNT)


def test_noise_products_are_noise_types_spread_over_every_category(table, truth):
    noise_keys = {t.key for t in NOISE_TYPES}
    assert set(truth.product_type[truth.is_noise]) == noise_keys
    assert not set(truth.product_type[~truth.is_noise]) & noise_keys
    assert set(truth.category[truth.is_noise]) == set(CATEGORY_NAMES)
    noise_titles = np.array(column(table, "title"))[truth.is_noise]
    phrases = tuple(phrase for t in NOISE_TYPES for phrase in t.phrases)
    assert all(any(phrase in title for phrase in phrases) for title in noise_titles)


def test_noise_share_holds_at_the_smallest_catalogue():
    truth = product_truth(300, seed=2)
    assert truth.is_noise.sum() == 15


# Types are findable -----------------------------------------------------------------------------------


def test_titles_and_descriptions_speak_for_their_type(table, truth):
    """A product's title carries one of its type's phrases and specs; its description two of its sentences."""
    titles, descriptions = column(table, "title"), column(table, "description")
    types = {(c.name, t.key): t for c in CATEGORIES for t in c.types}
    types |= {(name, t.key): t for name in CATEGORY_NAMES for t in NOISE_TYPES}
    for row in range(0, COUNT, 7):
        product_type = types[(truth.category[row], truth.product_type[row])]
        assert any(f" {phrase}, " in titles[row] for phrase in product_type.phrases), titles[row]
        assert any(titles[row].endswith(spec) for spec in product_type.specs), titles[row]
        if descriptions[row] is not None:
            assert sum(detail in descriptions[row] for detail in product_type.details) == 2, descriptions[row]


def test_every_type_has_at_least_three_title_phrases_and_details():
    for category in CATEGORIES:
        for product_type in category.types:
            assert len(product_type.phrases) >= 3, product_type.key
            assert len(product_type.details) >= 3, product_type.key
            assert len(set(product_type.details)) == len(product_type.details), product_type.key


def test_dimmer_switch_types_are_the_natural_ones():
    dimmers = next(c for c in CATEGORIES if c.name == "Dimmer Switches")
    assert {t.key for t in dimmers.types} == {
        "rotary",
        "slide",
        "smart_wifi",
        "zwave",
        "led_compatible",
        "multi_location",
    }


def test_prices_follow_the_type(table, truth):
    prices = np.array(column(table, "price"))
    fans = truth.category == "Ceiling Fans"
    large = prices[fans & (truth.product_type == "large_room")]
    low_profile = prices[fans & (truth.product_type == "low_profile")]
    assert np.median(large) > 2 * np.median(low_profile)


def test_brands_are_the_categorys_or_the_noise_types(table, truth):
    brands = column(table, "brand")
    allowed = {c.name: set(c.brands) for c in CATEGORIES}
    noise_brands = {b for t in NOISE_TYPES for b in t.brands}
    for row in range(COUNT):
        if brands[row] is None:
            continue
        expected = noise_brands if truth.is_noise[row] else allowed[truth.category[row]]
        assert brands[row] in expected, (brands[row], truth.category[row])


def test_titles_start_with_the_brand(table):
    for title, brand in zip(column(table, "title")[:2_000], column(table, "brand")[:2_000], strict=True):
        if brand is not None:
            assert title.startswith(f"{brand} "), title
        assert re.search(r", \S", title), title
