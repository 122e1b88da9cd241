"""The generator's purchase process: repeat purchases at a gamma-distributed rate, drop-out after a repeat purchase
with a beta-distributed probability, so the demo has one-time buyers, a loyal core and customers gone quiet, and a
BG/NBD fit on it converges.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from python_jobs.clv.models import fit_bgnbd
from python_jobs.ingest.generate import ARCHETYPE_NAMES, WINDOW_END, assign_archetypes, generate_raw_tables
from python_jobs.ingest.generate.accounts import Population
from python_jobs.ingest.generate.purchases import draw_purchases

CUSTOMERS = 5_000
SEED = 7
STEADY = ARCHETYPE_NAMES.index("steady_regular")


def _steady_regulars(count: int) -> Population:
    """`count` buying steady regulars, nobody browsing, no looping accounts."""
    archetype = np.full(count, STEADY, dtype=np.int64)
    no_one = np.zeros(count, dtype=bool)
    return Population(archetype, is_browser=no_one, is_cycle_account=no_one, customers=count)


def _purchases(population: Population, rate: float, dropout: float, seed: int = 1):
    rates = np.full(len(ARCHETYPE_NAMES), rate)
    dropouts = np.full(len(ARCHETYPE_NAMES), dropout)
    return draw_purchases(np.random.default_rng(seed), population, rates, dropouts)


def _repeats_per_customer(purchases, customers: int) -> np.ndarray:
    return np.bincount(purchases.owner, minlength=customers) - 1


def _last_position(purchases, customers: int) -> np.ndarray:
    last = np.zeros(customers)
    np.maximum.at(last, purchases.owner, purchases.position)
    return last


def test_every_buyer_buys_first_and_purchases_stay_in_the_window() -> None:
    population = _steady_regulars(2_000)
    purchases = _purchases(population, rate=12, dropout=0.1)
    assert (np.bincount(purchases.owner, minlength=2_000) >= 1).all()
    assert ((purchases.position >= 0) & (purchases.position < 1)).all()


def test_without_drop_out_customers_buy_at_their_rate_for_the_rest_of_the_window() -> None:
    # A first purchase evenly spread over the window leaves half of it on average: rate / 2 repeat purchases.
    count = 40_000
    repeats = _repeats_per_customer(_purchases(_steady_regulars(count), rate=10, dropout=0.0), count)
    assert repeats.mean() == pytest.approx(5.0, rel=0.05)
    # Rates differ between customers (gamma), so the counts spread more than one Poisson rate would.
    assert repeats.var() > 1.5 * repeats.mean()


def test_more_customers_go_quiet_the_higher_the_drop_out_probability() -> None:
    count = 20_000
    population = _steady_regulars(count)
    quiet_share, mean_repeats = [], []
    for dropout in (0.02, 0.1, 0.3, 0.6):
        purchases = _purchases(population, rate=20, dropout=dropout)
        # Quiet: no purchase in the last quarter of the window's activity.
        quiet_share.append(float((_last_position(purchases, count) < 0.75).mean()))
        mean_repeats.append(float(_repeats_per_customer(purchases, count).mean()))
    assert quiet_share == sorted(quiet_share)
    assert quiet_share[-1] > quiet_share[0] + 0.25
    assert mean_repeats == sorted(mean_repeats, reverse=True)


def test_the_same_seed_gives_the_same_purchases() -> None:
    population = _steady_regulars(1_000)
    first, second = _purchases(population, 12, 0.1, seed=3), _purchases(population, 12, 0.1, seed=3)
    assert np.array_equal(first.owner, second.owner)
    assert np.array_equal(first.position, second.position)
    assert not np.array_equal(first.position, _purchases(population, 12, 0.1, seed=4).position)


# The generated shop ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def purchase_days() -> duckdb.DuckDBPyConnection:
    """Completed purchase days in the window per real customer (duplicates followed to their customer)."""
    tables = generate_raw_tables(CUSTOMERS, seed=SEED)
    connection = duckdb.connect()
    for name in ("orders", "customer_id_merges"):
        connection.register(name, tables[name])
    archetypes = assign_archetypes(CUSTOMERS, seed=SEED)
    connection.register(
        "archetypes",
        pa.table({"customer_id": [f"C{i:08d}" for i in range(CUSTOMERS)], "archetype": archetypes}),
    )
    connection.execute(
        "create table canonical as "
        "with recursive walk(account, target, hops) as ("
        "  select trim(source_customer_id), trim(target_customer_id), 1 from customer_id_merges "
        "  union all select walk.account, trim(m.target_customer_id), hops + 1 "
        "  from walk join customer_id_merges as m on trim(m.source_customer_id) = walk.target where hops < 4"
        ") select account, arg_max(target, hops) as customer_id from walk group by account"
    )
    connection.execute(
        "create table days as "
        "select coalesce(canonical.customer_id, trim(orders.customer_id)) as customer_id, "
        "cast(ordered_at as date) as purchase_date "
        "from orders left join canonical on trim(orders.customer_id) = canonical.account "
        "where lower(trim(order_status)) = 'completed' and order_total > 0 and ordered_at < ? group by all",
        [f"{WINDOW_END}+00"],
    )
    connection.execute(
        "create table rfm as "
        "select customer_id, archetype, count(*) - 1 as frequency, "
        "max(purchase_date) - min(purchase_date) as recency, "
        "(select max(purchase_date) from days) - min(purchase_date) as age, "
        "(select max(purchase_date) from days) - max(purchase_date) as days_quiet "
        "from days join archetypes using (customer_id) group by customer_id, archetype"
    )
    return connection


def test_the_shop_has_one_time_buyers_a_loyal_core_and_customers_gone_quiet(purchase_days) -> None:
    one_time, quiet_90, quiet_365 = purchase_days.execute(
        "select avg((frequency = 0)::int), avg((days_quiet > 90)::int), avg((days_quiet > 365)::int) from rfm"
    ).fetchone()
    assert 0.25 < one_time < 0.5
    assert quiet_90 > 0.5  # most customers have not bought for months
    assert 0.1 < quiet_365 < 0.4
    median_days = dict(
        purchase_days.execute("select archetype, median(frequency + 1) from rfm group by 1").fetchall()
    )
    assert median_days["vip_loyalist"] >= 10
    assert median_days["one_time_buyer"] == 1


def test_a_bg_nbd_fit_on_the_generated_shop_converges(purchase_days) -> None:
    rfm = purchase_days.execute("select frequency, recency, age from rfm where age > 0").fetchnumpy()
    fit = fit_bgnbd(rfm["frequency"], rfm["recency"], rfm["age"])
    assert fit.converged
    # A real drop-out process: a and b of a few units, not running off to the search's bound.
    assert 0.1 < fit.a < 10
    assert 0.5 < fit.b < 50
    assert 0.02 < fit.a / (fit.a + fit.b) < 0.3  # the mean chance of leaving after a repeat purchase
