"""The stratified sample: quotas by largest remainder, drawn in SQL, the same on DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from python_jobs.definitions import feature_names, requirement_flags
from python_jobs.segmentation.sampling import (
    VALUE_TIERS,
    draw_sample,
    value_tier_quotas,
    value_tier_shares,
)

POPULATION = 1000


def synthetic_marts(customers: int, seed: int = 0) -> tuple[pa.Table, pa.Table]:
    """customer_profiles and customer_features for `customers` customers with distinct lifetime values.

    Ids are shuffled against lifetime value, so a draw that ignored the tiers would not pass by accident.
    """
    rng = np.random.default_rng(seed)
    ids = [f"C{number:06d}" for number in rng.permutation(customers)]
    cents = rng.permutation(customers) * 7 + 100
    start = dt.datetime(2020, 1, 1)
    profiles = pa.table(
        {
            "customer_id": pa.array(ids),
            "lifetime_value": pa.array([Decimal(int(c)) / 100 for c in cents], pa.decimal128(18, 2)),
            "first_seen_at": pa.array(
                [start + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 2_000_000, customers)],
                pa.timestamp("us"),
            ),
        }
    )
    features = pa.table(
        {"customer_id": pa.array(ids)}
        | {name: pa.array(rng.normal(size=customers).round(6)) for name in feature_names()}
        | {flag: pa.array(np.ones(customers, dtype=bool)) for flag in requirement_flags()}
    )
    return profiles, features


def load_marts(warehouse, profiles: pa.Table, features: pa.Table) -> None:
    with warehouse.session() as session:
        session.replace_table("marts", "customer_profiles", profiles)
        session.replace_table("marts", "customer_features", features)


def draw(warehouse, sample_size: int, seed: str = "42"):
    with warehouse.session() as session:
        return draw_sample(session, sample_size, seed)


def expected_tiers(profiles: pa.Table) -> dict[str, str]:
    """Tier by percent_rank = (rank - 1) / (n - 1) of lifetime value, computed independently of the SQL."""
    values = [float(v) for v in profiles.column("lifetime_value").to_pylist()]
    order = np.argsort(values)
    ids = profiles.column("customer_id").to_pylist()
    tiers = {}
    for rank, index in enumerate(order):
        share = rank / (len(values) - 1)
        tier = "vip" if share >= 0.95 else "high" if share >= 0.80 else "mid" if share >= 0.50 else "low"
        tiers[ids[index]] = tier
    return tiers


# --- quotas -------------------------------------------------------------------------------------------------


def test_quotas_are_proportional_and_add_up():
    assert value_tier_quotas({"vip": 50, "high": 150, "mid": 300, "low": 500}, 100) == {
        "vip": 5,
        "high": 15,
        "mid": 30,
        "low": 50,
    }


def test_leftover_goes_to_the_largest_remainders_highest_tier_first_on_a_tie():
    # Exact shares 0.5, 1, 1.5 and 2: one customer is left over, vip and mid tie on the remainder.
    assert value_tier_quotas({"vip": 1, "high": 2, "mid": 3, "low": 4}, 5) == {
        "vip": 1,
        "high": 1,
        "mid": 1,
        "low": 2,
    }
    # Remainders 0.7 (high) against 0.3 (mid): high gets the leftover.
    assert value_tier_quotas({"vip": 0, "high": 7, "mid": 3, "low": 0}, 1) == {
        "vip": 0,
        "high": 1,
        "mid": 0,
        "low": 0,
    }


@pytest.mark.parametrize("seed", range(20))
def test_quotas_hold_for_any_counts(seed):
    rng = np.random.default_rng(seed)
    counts = {tier: int(rng.integers(0, 5000)) for tier in VALUE_TIERS}
    population = sum(counts.values())
    sample_size = int(rng.integers(0, population + 1))

    quotas = value_tier_quotas(counts, sample_size)

    assert sum(quotas.values()) == sample_size
    for tier, count in counts.items():
        assert 0 <= quotas[tier] <= count
        assert abs(quotas[tier] - count * sample_size / population) < 1


def test_a_sample_at_least_the_population_takes_everyone():
    counts = {"vip": 3, "high": 9, "mid": 18, "low": 30}

    assert value_tier_quotas(counts, 60) == counts
    assert value_tier_quotas(counts, 10_000) == counts


def test_tiny_tiers_may_get_nobody_but_the_total_is_kept():
    quotas = value_tier_quotas({"vip": 1, "high": 1, "mid": 2, "low": 9996}, 100)

    assert quotas == {"vip": 0, "high": 0, "mid": 0, "low": 100}
    assert value_tier_quotas({"vip": 1, "high": 1, "mid": 1, "low": 1}, 0) == dict.fromkeys(VALUE_TIERS, 0)
    with pytest.raises(ValueError, match="negative"):
        value_tier_quotas({"vip": 1}, -1)


# --- the draw, on both warehouses -----------------------------------------------------------------------------


def test_sample_is_stratified_by_value_tier(warehouse):
    profiles, features = synthetic_marts(POPULATION)
    load_marts(warehouse, profiles, features)

    sample = draw(warehouse, 333)

    assert sample.population_size == POPULATION
    assert sample.table.num_rows == 333
    assert sample.tier_population == {"vip": 50, "high": 150, "mid": 300, "low": 500}
    for tier, share in value_tier_shares().items():
        assert abs(sample.tier_sample[tier] - share * 333) <= 1
    tiers = expected_tiers(profiles)
    drawn = sample.table.to_pydict()
    assert all(tiers[c] == t for c, t in zip(drawn["customer_id"], drawn["value_tier"], strict=True))
    assert sample.table.column_names == [
        "customer_id",
        "value_tier",
        "first_seen_days",
        *feature_names(),
        *requirement_flags(),
    ]
    assert drawn["customer_id"] == sorted(drawn["customer_id"])


def test_sample_follows_the_seeded_md5_order(warehouse):
    """The draw is exactly: per tier, the quota first customers by md5(seed || customer_id)."""
    profiles, features = synthetic_marts(POPULATION, seed=1)
    load_marts(warehouse, profiles, features)

    sample = draw(warehouse, 100, seed="salt")

    tiers = expected_tiers(profiles)
    expected = []
    for tier, quota in {"vip": 5, "high": 15, "mid": 30, "low": 50}.items():
        members = sorted(
            (c for c, t in tiers.items() if t == tier),
            key=lambda c: hashlib.md5(f"salt{c}".encode()).hexdigest(),
        )
        expected += members[:quota]
    assert sample.table.column("customer_id").to_pylist() == sorted(expected)


def test_a_sample_larger_than_the_population_is_everyone(warehouse):
    profiles, features = synthetic_marts(200)
    load_marts(warehouse, profiles, features)

    sample = draw(warehouse, 20_000)

    assert sample.population_size == 200
    assert sorted(sample.table.column("customer_id").to_pylist()) == sorted(
        profiles.column("customer_id").to_pylist()
    )


def test_same_seed_same_sample_other_seed_other_sample(warehouse):
    profiles, features = synthetic_marts(POPULATION)
    load_marts(warehouse, profiles, features)

    first = draw(warehouse, 200, seed="42").table.column("customer_id").to_pylist()
    again = draw(warehouse, 200, seed="42").table.column("customer_id").to_pylist()
    other = draw(warehouse, 200, seed="43")

    assert first == again
    assert other.table.column("customer_id").to_pylist() != first
    assert other.tier_sample == {"vip": 10, "high": 30, "mid": 60, "low": 100}


@pytest.mark.postgres
def test_duckdb_and_postgres_draw_the_same_sample(duckdb_warehouse, postgres_warehouse):
    profiles, features = synthetic_marts(POPULATION, seed=2)
    load_marts(duckdb_warehouse, profiles, features)
    load_marts(postgres_warehouse, profiles, features)

    on_duckdb = draw(duckdb_warehouse, 250, seed="7")
    on_postgres = draw(postgres_warehouse, 250, seed="7")

    assert (
        on_duckdb.table.column("customer_id").to_pylist()
        == on_postgres.table.column("customer_id").to_pylist()
    )
    assert on_duckdb.tier_sample == on_postgres.tier_sample
    np.testing.assert_array_equal(on_duckdb.features(feature_names()), on_postgres.features(feature_names()))
    np.testing.assert_array_equal(on_duckdb.first_seen_days(), on_postgres.first_seen_days())


def test_value_tier_shares_come_from_the_floors():
    assert value_tier_shares() == {"vip": 0.05, "high": 0.15, "mid": 0.30, "low": 0.50}
