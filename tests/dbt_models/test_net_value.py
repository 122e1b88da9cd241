"""Value is net: hand-worked customers with a returned line, a refund line, a discount, a fully returned order and
refunds of their own, built from raw rows by dbt on DuckDB and PostgreSQL, and the sample's value tiers on them.

Every expected figure below is worked out by hand from the rows in this file (the working is in the comments).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pyarrow as pa
import pytest

from python_jobs.ingest.raw_loading import replace_raw_tables
from python_jobs.segmentation.sampling import draw_sample
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.dbt_runner import run_dbt
from python_jobs.warehouse.ml_tables import CLV_TABLES, ML_SCHEMA
from python_jobs.warehouse.raw_tables import RAW_TABLES

OBSERVATION_END = "2025-06-30"


def _order(order_id: str, customer: str, day: str, total: float) -> dict:
    return {
        "order_id": order_id,
        "customer_id": customer,
        "ordered_at": dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=dt.UTC),
        "order_status": "completed",
        "sales_channel": "web",
        "order_total": total,
    }


def _item(
    item_id: str,
    order_id: str,
    quantity: int,
    unit_price: float,
    discount: float = 0.0,
    returned: bool = False,
) -> dict:
    return {
        "order_item_id": item_id,
        "order_id": order_id,
        "product_category": None,
        "quantity": quantity,
        "unit_price": unit_price,
        "discount_amount": discount,
        "is_returned": returned,
    }


ORDERS = [
    # ret: a plain order, one with a line returned, one with a discount.
    _order("A1", "ret", "2025-01-10", 15.0),
    _order("A2", "ret", "2025-02-10", 50.0),
    _order("A3", "ret", "2025-03-10", 30.0),
    # refline: the second order has a refund line (a negative quantity) in it; its total is already net.
    _order("B1", "refline", "2025-02-01", 12.0),
    _order("B2", "refline", "2025-02-15", 20.0),
    # fullret: the first order went back entirely.
    _order("C1", "fullret", "2025-01-01", 40.0),
    _order("C2", "fullret", "2025-02-01", 60.0),
    _order("C3", "fullret", "2025-03-01", 20.0),
    # refund: a refund before any purchase, then a refund of the whole second purchase.
    _order("D0", "refund", "2025-01-02", -25.0),
    _order("D1", "refund", "2025-01-05", 100.0),
    _order("D2", "refund", "2025-01-20", 50.0),
    _order("DR", "refund", "2025-01-25", -50.0),
    _order("D3", "refund", "2025-03-01", 30.0),
    # lost: a refund of a purchase made before the data starts outweighs the one purchase in it.
    _order("E0", "lost", "2025-01-03", -80.0),
    _order("E1", "lost", "2025-04-01", 20.0),
    # returner: the largest order of all, returned.
    _order("F1", "returner", "2025-02-01", 500.0),
    # refunded: a refund, and no purchase in the data.
    _order("G0", "refunded", "2025-02-01", -40.0),
]
ORDER_ITEMS = [
    _item("A1-1", "A1", 1, 15.0),
    _item("A2-1", "A2", 2, 10.0),
    _item("A2-2", "A2", 1, 30.0, returned=True),
    _item("A3-1", "A3", 1, 40.0, discount=10.0),
    _item("B1-1", "B1", 1, 12.0),
    _item("B2-1", "B2", 3, 10.0),
    _item("B2-2", "B2", -1, 10.0),
    _item("C1-1", "C1", 1, 15.0, returned=True),
    _item("C1-2", "C1", 1, 25.0, returned=True),
    _item("C2-1", "C2", 1, 60.0),
    _item("C3-1", "C3", 1, 20.0),
    _item("D0-1", "D0", -1, 25.0),
    _item("D1-1", "D1", 1, 100.0),
    _item("D2-1", "D2", 1, 50.0),
    _item("DR-1", "DR", 1, -50.0),
    _item("D3-1", "D3", 1, 30.0),
    _item("E0-1", "E0", -1, 80.0),
    _item("E1-1", "E1", 1, 20.0),
    _item("F1-1", "F1", 1, 500.0, returned=True),
    _item("G0-1", "G0", -1, 40.0),
]


def _money(value: str) -> Decimal:
    return Decimal(value)


EXPECTED_PROFILES = {
    # A1 15; A2 charged 2 x 10 + 30 = 50, 30 back, net 20; A3 charged 40 - 10 = 30. Days: 01-10, 02-10, 03-10.
    "ret": {
        "total_orders": 3,
        "gross_revenue": _money("95.00"),
        "returned_value": _money("30.00"),
        "net_revenue": _money("65.00"),
        "lifetime_value": _money("65.00"),
        "average_order_value": _money("21.67"),  # (15 + 20 + 30) / 3
        "rfm_frequency": 2,
        "rfm_recency_days": 59,
        "rfm_age_days": 171,
        "rfm_monetary_value": _money("25.00"),  # (20 + 30) / 2
    },
    # B1 12; B2 sold 3 x 10 = 30, the refund line gives 10 back: net 20.
    "refline": {
        "total_orders": 2,
        "gross_revenue": _money("42.00"),
        "returned_value": _money("10.00"),
        "net_revenue": _money("32.00"),
        "lifetime_value": _money("32.00"),
        "average_order_value": _money("16.00"),
        "rfm_frequency": 1,
        "rfm_recency_days": 14,
        "rfm_age_days": 149,
        "rfm_monetary_value": _money("20.00"),
    },
    # C1 went back whole (net 0), but as the first order it still starts the history (the trial purchase, not
    # valued). Days: 01-01, 02-01 (60), 03-01 (20).
    "fullret": {
        "total_orders": 3,
        "gross_revenue": _money("120.00"),
        "returned_value": _money("40.00"),
        "net_revenue": _money("80.00"),
        "lifetime_value": _money("80.00"),
        "average_order_value": _money("26.67"),  # (0 + 60 + 20) / 3
        "rfm_frequency": 2,
        "rfm_recency_days": 59,
        "rfm_age_days": 180,
        "rfm_monetary_value": _money("40.00"),  # (60 + 20) / 2
    },
    # D0 (25) has no purchase before it: it only lowers the revenue. DR (50) is taken by D2, the latest purchase
    # before it, whose net becomes 0, so 01-20 is no purchase day. Days: 01-05 (100), 03-01 (30).
    "refund": {
        "total_orders": 3,
        "gross_revenue": _money("180.00"),
        "returned_value": _money("75.00"),
        "net_revenue": _money("105.00"),
        "lifetime_value": _money("105.00"),
        "average_order_value": _money("43.33"),  # (100 + 0 + 30) / 3
        "rfm_frequency": 1,
        "rfm_recency_days": 55,
        "rfm_age_days": 176,
        "rfm_monetary_value": _money("30.00"),
    },
    # 20 bought, 80 paid back for something bought before the data: net -60, worth 0.
    "lost": {
        "total_orders": 1,
        "gross_revenue": _money("20.00"),
        "returned_value": _money("80.00"),
        "net_revenue": _money("-60.00"),
        "lifetime_value": _money("0.00"),
        "average_order_value": _money("20.00"),
        "rfm_frequency": 0,
        "rfm_recency_days": 0,
        "rfm_age_days": 90,
        "rfm_monetary_value": _money("0.00"),
    },
    # Everything went back: one order placed, a one-off buyer worth nothing.
    "returner": {
        "total_orders": 1,
        "gross_revenue": _money("500.00"),
        "returned_value": _money("500.00"),
        "net_revenue": _money("0.00"),
        "lifetime_value": _money("0.00"),
        "average_order_value": _money("0.00"),
        "rfm_frequency": 0,
        "rfm_recency_days": 0,
        "rfm_age_days": 149,
        "rfm_monetary_value": _money("0.00"),
    },
    # Money paid back for a purchase before the data: no order, no purchase day.
    "refunded": {
        "total_orders": 0,
        "gross_revenue": _money("0.00"),
        "returned_value": _money("40.00"),
        "net_revenue": _money("-40.00"),
        "lifetime_value": _money("0.00"),
        "average_order_value": None,
        "rfm_frequency": None,
        "rfm_recency_days": None,
        "rfm_age_days": None,
        "rfm_monetary_value": None,
    },
}


def _create_empty_clv_tables(warehouse: Warehouse) -> None:
    """The fit_clv job's tables, empty: the profiles build before any fit, with null predictions."""
    with warehouse.session() as session:
        session.ensure_schema(ML_SCHEMA)
        for name, schema in CLV_TABLES.items():
            session.create_table(ML_SCHEMA, name, schema)


def _build(warehouse: Warehouse) -> None:
    replace_raw_tables(
        warehouse,
        {
            "orders": pa.Table.from_pylist(ORDERS, schema=RAW_TABLES["orders"]),
            "order_items": pa.Table.from_pylist(ORDER_ITEMS, schema=RAW_TABLES["order_items"]),
        },
    )
    _create_empty_clv_tables(warehouse)
    run = run_dbt(
        # Cautious: the tests of the segmentation marts, which are not built here, stay out.
        ["build", "--select", "+customer_features", "--indirect-selection", "cautious"],
        target=warehouse.target,
        dbt_vars={"observation_end": OBSERVATION_END},
    )
    failed = [
        (r["unique_id"], r["status"], r.get("message")) for r in run.problems() if r["status"] != "warn"
    ]
    assert run.ok, failed


@pytest.fixture(scope="module", params=["local", pytest.param("postgres", marks=pytest.mark.postgres)])
def net_warehouse(request, scratch_warehouses) -> Iterator[Warehouse]:
    """One build of the rows above per target, shared by this module's tests, which only read it."""
    with pytest.MonkeyPatch.context() as patch, scratch_warehouses(request.param, "net", patch) as warehouse:
        _build(warehouse)
        yield warehouse


def _rows(warehouse: Warehouse, sql: str) -> list[dict]:
    with warehouse.session(read_only=True) as session:
        return session.fetch_arrow(sql).to_pylist()


def test_profiles_are_net_of_returned_lines_refunds_and_discounts(net_warehouse):
    columns = ", ".join(EXPECTED_PROFILES["ret"])
    rows = _rows(net_warehouse, f"select customer_id, {columns} from marts.customer_profiles")
    assert {row.pop("customer_id"): row for row in rows} == EXPECTED_PROFILES


def test_order_and_purchase_day_values(net_warehouse):
    orders = _rows(
        net_warehouse,
        "select order_id, is_purchase, gross_value, returned_value, net_value "
        "from intermediate.int_orders_valued where customer_id in ('refund', 'refline', 'fullret')",
    )
    by_order = {row.pop("order_id"): tuple(row.values()) for row in orders}
    assert by_order == {
        "B1": (True, _money("12.00"), _money("0.00"), _money("12.00")),
        "B2": (True, _money("30.00"), _money("10.00"), _money("20.00")),
        "C1": (True, _money("40.00"), _money("40.00"), _money("0.00")),
        "C2": (True, _money("60.00"), _money("0.00"), _money("60.00")),
        "C3": (True, _money("20.00"), _money("0.00"), _money("20.00")),
        "D0": (False, _money("0.00"), _money("25.00"), _money("-25.00")),  # no purchase before it
        "D1": (True, _money("100.00"), _money("0.00"), _money("100.00")),
        "D2": (True, _money("50.00"), _money("50.00"), _money("0.00")),  # took the refund DR
        "D3": (True, _money("30.00"), _money("0.00"), _money("30.00")),
    }
    days = _rows(
        net_warehouse,
        "select customer_id, purchase_date, net_value from intermediate.int_customer_purchase_days "
        "where customer_id in ('refund', 'returner')",
    )
    # D2's day (01-20) went back whole and is no repeat purchase; F1's day is the returner's first, so it stays.
    assert sorted((row["customer_id"], row["purchase_date"], row["net_value"]) for row in days) == [
        ("refund", dt.date(2025, 1, 5), _money("100.00")),
        ("refund", dt.date(2025, 3, 1), _money("30.00")),
        ("returner", dt.date(2025, 2, 1), _money("0.00")),
    ]


def test_order_metrics_are_only_for_customers_with_a_completed_order(net_warehouse):
    """A customer with only a refund has revenue (all of it returned) but no order metrics: the features read
    a row of int_customer_orders_aggregated as having orders."""
    orders = _rows(net_warehouse, "select customer_id from intermediate.int_customer_orders_aggregated")
    revenue = _rows(net_warehouse, "select customer_id from intermediate.int_customer_revenue_aggregated")
    assert sorted(row["customer_id"] for row in orders) == sorted(set(EXPECTED_PROFILES) - {"refunded"})
    assert sorted(row["customer_id"] for row in revenue) == sorted(EXPECTED_PROFILES)


def test_the_samples_value_tiers_rank_net_value_not_gross(net_warehouse):
    """percent_rank of net lifetime value over the 7 customers: lost, returner and refunded 0 (tied), refline
    32 -> 3/6, ret 65 -> 4/6, fullret 80 -> 5/6, refund 105 -> 1. By gross, returner (500) would be the `vip`."""
    with net_warehouse.session() as session:
        sample = draw_sample(session, 100, "42")
    tiers = dict(
        zip(sample.table["customer_id"].to_pylist(), sample.table["value_tier"].to_pylist(), strict=True)
    )
    assert tiers == {
        "lost": "low",
        "returner": "low",
        "refunded": "low",
        "refline": "mid",
        "ret": "mid",
        "fullret": "high",
        "refund": "vip",
    }


def test_a_spend_trend_only_for_customers_before_the_last_180_days(net_warehouse):
    """Observation end 2025-06-30, so the last 180 days begin on 2025-01-02. Only fullret bought before them
    (C1 on 2025-01-01, 180 days before the end, though returned whole): its trend is ln((1 + 60 + 20) / (1 + 0)).
    The others' first purchases (ret 01-10, refund 01-05, refline and returner 02-01, lost 04-01) fall in the
    window: they were not customers before it, which is no trend (`new_in_last_180_days`), not a surge."""
    rows = _rows(
        net_warehouse,
        "select customer_id, has_orders_before_last_180_days, spend_trend_log_ratio from marts.customer_features",
    )
    flags = {row["customer_id"]: row["has_orders_before_last_180_days"] for row in rows}
    trends = {row["customer_id"]: row["spend_trend_log_ratio"] for row in rows}
    assert flags == {name: name == "fullret" for name in EXPECTED_PROFILES}
    assert trends.pop("fullret") == pytest.approx(4.394449154672439)  # ln(81)
    assert trends == dict.fromkeys(trends)
