"""Deterministic synthetic commerce data for the raw tables.

The warehouse needs data whose customer segments are known in advance, so that the clustering can
be checked against them. Every customer is drawn from one of the `ARCHETYPES`; the archetypes
differ clearly on what the features in `python_jobs.definitions` measure (how often, how much,
what, when, how they browse and how they complain). The archetype itself never reaches the raw
tables: `assign_archetypes` tells a test or an evaluation who is who. When customers buy follows a
BG/NBD-like process with real drop-out (`purchases`): one-time buyers, a loyal core, and most customers quiet
for months by the window's end.

The data is as dirty as the sources it imitates, so staging has work to do:

* duplicate accounts (`D…` ids) carry some of a customer's activity and merge into them,
  sometimes in chains; a few `X…` accounts merge into each other in a loop;
* about 0.5% of customer ids in orders, events and tickets carry stray spaces;
* about 5% of enum values come in mixed case or padded with spaces;
* a few returned lines are paid back by a refund order of their own, a negative total and a line with a
  negative quantity (`refunds`): staging counts them as returns;
* a handful of orders and web events have no customer id, and from 1,000 customers on, a few rows of each
  table are unusable in every way staging quarantines (`bad_rows`).

Duplicate and looping accounts are accounts like any other, so they have rows in `customers` too.

Everything is vectorised with numpy (loops run over archetypes, categories or enum values, never
over rows) and drawn from `np.random.default_rng(seed)`, so the same `(customers, seed)` always
gives byte-identical tables. Timestamps fall in a fixed window, never relative to the wall clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from python_jobs.ingest.generate.accounts import build_population, merge_cycle_sizes, plan_merges
from python_jobs.ingest.generate.archetypes import archetype_codes
from python_jobs.ingest.generate.bad_rows import plant_bad_rows
from python_jobs.ingest.generate.dirt import GUARANTEED_DIRT_MIN_CUSTOMERS
from python_jobs.ingest.generate.draws import random_streams
from python_jobs.ingest.generate.orders import generate_items, generate_orders, load_categories
from python_jobs.ingest.generate.products import generate_products, product_count
from python_jobs.ingest.generate.support import generate_tickets
from python_jobs.ingest.generate.tables import (
    customers_table,
    first_activity_times,
    identity_id_column,
    merges_table,
    orders_and_items_tables,
    support_tickets_table,
    web_events_table,
)
from python_jobs.ingest.generate.web import generate_web_events
from python_jobs.warehouse.raw_tables import RAW_SCHEMA

if TYPE_CHECKING:
    from python_jobs.warehouse.connection import Warehouse


def generate_raw_tables(customers: int, seed: int = 42) -> dict[str, pa.Table]:
    """All raw tables for `customers` customers; the same arguments always give the same data."""
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    categories = load_categories()
    streams = random_streams(seed)
    guaranteed_dirt = customers >= GUARANTEED_DIRT_MIN_CUSTOMERS

    customer_archetypes = archetype_codes(streams["archetypes"], customers)
    cycle_sizes = merge_cycle_sizes(streams["merges"], customers)
    population = build_population(streams["population"], customer_archetypes, int(cycle_sizes.sum()))
    plan = plan_merges(streams["merges"], population, cycle_sizes)
    identity_ids = identity_id_column(population, plan)

    orders = generate_orders(streams["orders"], population, plan)
    items = generate_items(streams["items"], population, orders, categories)
    orders_table, items_table = orders_and_items_tables(
        streams["orders"], orders, items, categories, identity_ids, guaranteed_dirt
    )
    del items
    web = generate_web_events(streams["web"], population, orders, plan)
    web_table = web_events_table(streams["web"], web, identity_ids, guaranteed_dirt)
    tickets = generate_tickets(streams["tickets"], population, orders, plan)
    tickets_table = support_tickets_table(streams["tickets"], tickets, identity_ids)

    first_activity = first_activity_times(len(identity_ids), plan, orders, web, tickets)
    del web
    tables = {
        "customers": customers_table(streams["customers"], population, plan, identity_ids, first_activity),
        "customer_id_merges": merges_table(plan, identity_ids),
        "orders": orders_table,
        "order_items": items_table,
        "web_events": web_table,
        "support_tickets": tickets_table,
        # From a random stream of its own: the other tables are the same with or without products.
        "products": generate_products(product_count(customers), seed=seed),
    }
    return plant_bad_rows(streams["bad_rows"], tables, guaranteed_dirt)


def write_raw_tables(warehouse: Warehouse, tables: dict[str, pa.Table]) -> dict[str, int]:
    """Replace the raw tables in one transaction: readers never see a mix of old and new data."""
    with warehouse.session() as session:
        session.replace_tables(RAW_SCHEMA, tables)
    return {name: table.num_rows for name, table in tables.items()}
