"""Rows no warehouse can use, planted so every quarantine reason of staging has something to catch.

Each is what a broken export really produces: an id, a timestamp or an amount lost, an order dated after the load,
a zero quantity, a line with both a negative quantity and a negative price (bought or paid back?), a ticket resolved
before it was opened, a customer row without its id, a product without an id or a title or with a negative price,
and merge rows that contradict themselves (an account merged into itself, into nobody, into two accounts, or the
same merge recorded twice). Staging sets them aside in `marts.quarantined_raw_rows`, one row per defect, with the
reason named in its `base_raw__*` model.

A table gets at most one planted row per `ROWS_PER_BAD_ROW` rows, so a build stays well under its limit on the
quarantined share (1%); reasons are planted in the order listed until a table's allowance is spent, so a small
table shows the first few. Data sets below `GUARANTEED_DIRT_MIN_CUSTOMERS` customers get none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from python_jobs.ingest.generate.window import US_PER_DAY, US_PER_HOUR

ROWS_PER_BAD_ROW = 200
# An order from a clock gone wrong: long after any load of this data.
ORDERED_AFTER_LOAD = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)

# A defect turns one row (as a dict of column values) into its unusable version.
Defect = Callable[[dict], dict]


def _without(column: str) -> Defect:
    return lambda row: {**row, column: None}


def _with(column: str, value: object) -> Defect:
    return lambda row: {**row, column: value}


def _negative_quantity_and_price(row: dict) -> dict:
    return {**row, "quantity": -abs(row["quantity"]), "unit_price": -abs(row["unit_price"])}


def _negative_price(row: dict) -> dict:
    return {**row, "price": -abs(row["price"])}


def _resolved_before_opened(row: dict) -> dict:
    return {**row, "resolved_at": row["opened_at"] - dt.timedelta(microseconds=US_PER_HOUR)}


# Per table, the defects planted into existing rows, in the order they are planted.
_DEFECTS: dict[str, tuple[tuple[str, Defect], ...]] = {
    "orders": (
        ("missing_order_id", _without("order_id")),
        ("missing_timestamp", _without("ordered_at")),
        ("missing_amount", _without("order_total")),
        ("ordered_after_load", _with("ordered_at", ORDERED_AFTER_LOAD)),
    ),
    "order_items": (
        ("missing_order_item_id", _without("order_item_id")),
        ("missing_order_id", _without("order_id")),
        ("missing_quantity", _without("quantity")),
        ("zero_quantity", _with("quantity", 0)),
        ("missing_amount", _without("unit_price")),
        ("negative_quantity_and_amount", _negative_quantity_and_price),
    ),
    "web_events": (
        ("missing_event_id", _without("event_id")),
        ("missing_timestamp", _without("occurred_at")),
    ),
    "support_tickets": (
        ("missing_ticket_id", _without("ticket_id")),
        ("missing_customer_id", _without("customer_id")),
        ("missing_timestamp", _without("opened_at")),
        ("resolved_before_opened", _resolved_before_opened),
    ),
    "products": (
        ("missing_product_id", _without("product_id")),
        ("missing_title", _without("title")),
        ("negative_price", _negative_price),
    ),
}
# Rows that must already hold what the defect changes.
_ELIGIBLE: dict[str, Callable[[pa.Table], pa.Array]] = {
    "orders": lambda table: pc.is_valid(table["customer_id"]),
    "order_items": lambda table: pc.greater(table["quantity"], 0),
    "web_events": lambda table: pc.is_valid(table["customer_id"]),
    "support_tickets": lambda table: pc.is_valid(table["resolved_at"]),
    "products": lambda table: pc.is_valid(table["title"]),
}


def _allowance(rows: int) -> int:
    return rows // ROWS_PER_BAD_ROW


def _spoil_rows(rng: np.random.Generator, table: pa.Table, defects: tuple, eligible: pa.Array) -> pa.Table:
    """Replace distinct eligible rows, one per defect while the allowance lasts, by their spoilt version."""
    defects = defects[: _allowance(table.num_rows)]
    candidates = pc.indices_nonzero(eligible.combine_chunks()).to_numpy()
    if not defects or len(candidates) < len(defects):
        return table
    rows = np.sort(rng.choice(candidates, size=len(defects), replace=False))
    original = table.take(pa.array(rows)).to_pylist()
    spoilt = [defect(row) for row, (_, defect) in zip(original, defects, strict=True)]
    is_spoilt = np.zeros(table.num_rows, dtype=bool)
    is_spoilt[rows] = True
    mask = pa.array(is_spoilt)
    for index, field in enumerate(table.schema):
        values = [row[field.name] for row in spoilt]
        if values != [row[field.name] for row in original]:
            column = table[field.name].combine_chunks()
            replaced = pc.replace_with_mask(column, mask, pa.array(values, field.type))
            table = table.set_column(index, field, replaced)
    return table


def _customer_without_id(rng: np.random.Generator, customers: pa.Table) -> pa.Table:
    """A customer row exported without its id (the real row is there too)."""
    if _allowance(customers.num_rows) < 1:
        return customers
    row = customers.slice(int(rng.integers(0, customers.num_rows)), 1).to_pylist()[0]
    return pa.concat_tables(
        [customers, pa.Table.from_pylist([{**row, "customer_id": None}], schema=customers.schema)]
    )


def _contradicting_merges(rng: np.random.Generator, merges: pa.Table) -> pa.Table:
    """Merge rows that contradict the log: into itself, recorded twice, into nobody, into a second account.

    A merge into a second account takes two rows out (both are set aside), so it comes last.
    """
    allowance = _allowance(merges.num_rows)
    chain_rows = np.flatnonzero(
        pc.starts_with(merges["target_customer_id"], "C").to_numpy(zero_copy_only=False)
    )
    if allowance < 1 or len(chain_rows) < 2:
        return merges
    first, second = (
        merges.slice(int(row), 1).to_pylist()[0] for row in rng.choice(chain_rows, 2, replace=False)
    )
    later = dt.timedelta(microseconds=US_PER_DAY)
    planted = [
        {**first, "target_customer_id": first["source_customer_id"]},  # self_merge
        {**first, "merged_at": first["merged_at"] + later},  # duplicate_merge
        {**first, "target_customer_id": None},  # missing_customer_id
    ]
    if allowance >= len(planted) + 2:
        # merged_into_several_accounts: the second account now also goes into the first one's customer.
        planted.append(
            {
                **second,
                "target_customer_id": first["target_customer_id"],
                "merged_at": second["merged_at"] + later,
            }
        )
    planted = planted[:allowance]
    next_id = pc.max(merges["merge_id"]).as_py() + 1
    for offset, row in enumerate(planted):
        row["merge_id"] = next_id + offset
    return pa.concat_tables([merges, pa.Table.from_pylist(planted, schema=merges.schema)])


def plant_bad_rows(
    rng: np.random.Generator, tables: dict[str, pa.Table], guaranteed: bool
) -> dict[str, pa.Table]:
    """The tables with their unusable rows planted (none below the guaranteed-dirt size)."""
    if not guaranteed:
        return tables
    planted = dict(tables)
    for name, defects in _DEFECTS.items():
        planted[name] = _spoil_rows(rng, tables[name], defects, _ELIGIBLE[name](tables[name]))
    planted["customers"] = _customer_without_id(rng, tables["customers"])
    planted["customer_id_merges"] = _contradicting_merges(rng, tables["customer_id_merges"])
    return planted
