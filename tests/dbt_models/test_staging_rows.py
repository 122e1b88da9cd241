"""Staging on awkward raw rows, on a real warehouse per target: what is usable stays, what is not is quarantined
with a reason, and the build's tests pass on both.

- an account merged into two different accounts is quarantined, not a failed uniqueness test;
- an order dated after the load time is quarantined, and the default observation_end stays at the last real one;
- a refund (a negative amount or a negative quantity) is a returned order/line, not a quarantined row.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from python_jobs.ingest.raw_loading import replace_raw_tables
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.dbt_runner import run_dbt
from python_jobs.warehouse.raw_tables import RAW_TABLES

SELECTED = (
    "product_categories",
    "+quarantined_raw_rows",
    "+stg_raw__orders",
    "+stg_raw__order_items",
    "+stg_raw__customer_id_merges",
    "+int_customer_merges_resolved",
    "+int_observation_window",
    "assert_merge_chains_resolve",
    "assert_quarantined_share_within_limit",
)


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)


def _table(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=RAW_TABLES[name])


def _merge(merge_id: int, source: str, target: str, day: str = "2025-01-01") -> dict:
    return {
        "merge_id": merge_id,
        "source_customer_id": source,
        "target_customer_id": target,
        "merged_at": _at(day),
    }


def _order(order_id: str, customer: str, day: str, total: float) -> dict:
    return {
        "order_id": order_id,
        "customer_id": customer,
        "ordered_at": _at(day),
        "order_status": "completed",
        "sales_channel": "web",
        "order_total": total,
    }


def _item(item_id: str, order_id: str, quantity: int, unit_price: float) -> dict:
    return {
        "order_item_id": item_id,
        "order_id": order_id,
        "product_category": None,
        "quantity": quantity,
        "unit_price": unit_price,
        "discount_amount": 0.0,
        "is_returned": False,
    }


# 300 ordinary orders keep every quarantine below the 1% share that fails a build.
ORDINARY = [_order(f"O{n:04d}", f"c{n % 50}", "2025-03-01", 10.0) for n in range(300)]
ORDINARY_ITEMS = [_item(f"I{n:04d}", f"O{n:04d}", 1, 10.0) for n in range(300)]
# 400 plain merges keep the merge table's quarantined share below 1% too.
ORDINARY_MERGES = [_merge(1000 + n, f"m{n}", f"c{n % 50}") for n in range(400)]


def _load(warehouse: Warehouse, **tables: list[dict]) -> None:
    replace_raw_tables(warehouse, {name: _table(name, rows) for name, rows in tables.items()})


def _build(warehouse: Warehouse, **dbt_vars: str):
    run = run_dbt(["build", "--select", *SELECTED], target=warehouse.target, dbt_vars=dbt_vars)
    failed = [
        (r["unique_id"], r["status"], r.get("message")) for r in run.problems() if r["status"] != "warn"
    ]
    assert run.ok, failed
    return run


def _rows(warehouse: Warehouse, sql: str) -> list[dict]:
    with warehouse.session(read_only=True) as session:
        return session.fetch_arrow(sql).to_pylist()


def _quarantined(warehouse: Warehouse, table: str) -> dict[str, str]:
    rows = _rows(
        warehouse,
        "select source_row_id, quarantine_reason from marts.quarantined_raw_rows "
        f"where source_table = '{table}'",
    )
    return {row["source_row_id"]: row["quarantine_reason"] for row in rows}


def test_an_account_merged_into_two_accounts_is_quarantined_not_a_failed_build(warehouse):
    _load(
        warehouse,
        orders=ORDINARY,
        order_items=ORDINARY_ITEMS,
        customer_id_merges=[
            *ORDINARY_MERGES,
            _merge(1, "a", "b"),
            _merge(2, "a", "c"),  # a went into b and into c: which one?
            _merge(3, "d", "e"),
            _merge(4, "d", "e", "2025-02-01"),  # the same merge recorded twice: the first row is kept
        ],
    )
    run = _build(warehouse)
    assert _quarantined(warehouse, "customer_id_merges") == {
        "1": "merged_into_several_accounts",
        "2": "merged_into_several_accounts",
        "4": "duplicate_merge",
    }
    resolved = _rows(
        warehouse,
        "select customer_id, canonical_customer_id from intermediate.int_customer_merges_resolved "
        "where customer_id in ('a', 'd')",
    )
    assert resolved == [{"customer_id": "d", "canonical_customer_id": "e"}]
    # The build names them in its warnings.
    warned = [r["unique_id"] for r in run.problems() if r["status"] == "warn"]
    assert any("expect_no_rows_quarantined_raw_rows" in unique_id for unique_id in warned)


def test_an_order_dated_after_the_load_is_quarantined_and_does_not_move_observation_end(warehouse):
    _load(
        warehouse,
        orders=[*ORDINARY, _order("FUTURE", "c1", "2099-06-01", 25.0)],
        order_items=[*ORDINARY_ITEMS, _item("IFUTURE", "FUTURE", 1, 25.0)],
    )
    _build(warehouse)
    assert _quarantined(warehouse, "orders") == {"FUTURE": "ordered_after_load"}
    window = _rows(warehouse, "select observation_end from intermediate.int_observation_window")
    assert window == [{"observation_end": dt.date(2025, 3, 1)}]


def test_the_loaded_at_var_sets_the_load_time(warehouse):
    _load(
        warehouse, orders=[*ORDINARY, _order("LATER", "c1", "2025-03-10", 25.0)], order_items=ORDINARY_ITEMS
    )
    _build(warehouse, loaded_at="2025-03-05")
    assert _quarantined(warehouse, "orders") == {"LATER": "ordered_after_load"}
    assert _rows(warehouse, "select observation_end from intermediate.int_observation_window") == [
        {"observation_end": dt.date(2025, 3, 1)}
    ]


def test_refunds_are_returns_not_quarantined_rows(warehouse):
    _load(
        warehouse,
        orders=[
            *ORDINARY,
            _order("R1", "c1", "2025-03-02", -10.0),  # a refund order of its own
            _order("R2", "c2", "2025-03-02", -8.0),
            _order("MIX", "c3", "2025-03-02", 12.0),  # a purchase with one line taken back
        ],
        order_items=[
            *ORDINARY_ITEMS,
            _item("R1-1", "R1", 1, -10.0),  # negative amount (a transactions export without quantities)
            _item("R2-1", "R2", -2, 4.0),  # negative quantity, positive price (the usual retail export)
            _item("MIX-1", "MIX", 2, 10.0),
            _item("MIX-2", "MIX", 1, -8.0),
            _item("BOTH", "MIX", -1, -5.0),  # two minus signs: purchase or refund? set aside
        ],
    )
    _build(warehouse)
    assert _quarantined(warehouse, "orders") == {}
    assert _quarantined(warehouse, "order_items") == {"BOTH": "negative_quantity_and_amount"}
    orders = _rows(
        warehouse,
        "select order_id, order_status, order_total, is_refund, returned_value from staging.stg_raw__orders "
        "where order_id in ('R1', 'R2', 'MIX', 'O0001') order by order_id",
    )
    assert orders == [
        {
            "order_id": "MIX",
            "order_status": "completed",
            "order_total": Decimal("12.00"),
            "is_refund": False,
            "returned_value": Decimal("0.00"),
        },
        {
            "order_id": "O0001",
            "order_status": "completed",
            "order_total": Decimal("10.00"),
            "is_refund": False,
            "returned_value": Decimal("0.00"),
        },
        {
            "order_id": "R1",
            "order_status": "refunded",
            "order_total": Decimal("-10.00"),
            "is_refund": True,
            "returned_value": Decimal("10.00"),
        },
        {
            "order_id": "R2",
            "order_status": "refunded",
            "order_total": Decimal("-8.00"),
            "is_refund": True,
            "returned_value": Decimal("8.00"),
        },
    ]
    items = _rows(
        warehouse,
        "select order_item_id, quantity, unit_price, is_returned, is_refund, returned_value "
        "from staging.stg_raw__order_items where order_item_id in ('R1-1', 'R2-1', 'MIX-1', 'MIX-2') order by 1",
    )
    assert items == [
        {
            "order_item_id": "MIX-1",
            "quantity": 2,
            "unit_price": Decimal("10.00"),
            "is_returned": False,
            "is_refund": False,
            "returned_value": Decimal("0.00"),
        },
        {
            "order_item_id": "MIX-2",
            "quantity": 1,
            "unit_price": Decimal("8.00"),
            "is_returned": True,
            "is_refund": True,
            "returned_value": Decimal("8.00"),
        },
        {
            "order_item_id": "R1-1",
            "quantity": 1,
            "unit_price": Decimal("10.00"),
            "is_returned": True,
            "is_refund": True,
            "returned_value": Decimal("10.00"),
        },
        {
            "order_item_id": "R2-1",
            "quantity": 2,
            "unit_price": Decimal("4.00"),
            "is_returned": True,
            "is_refund": True,
            "returned_value": Decimal("8.00"),
        },
    ]
