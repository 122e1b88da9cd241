"""`POST /segments/assign` against the real server on the shared built warehouses (DuckDB and PostgreSQL).

The customer copied from the warehouse is the test's yardstick: their raw rows, posted under a fresh id, must come
back with the features and segments the build gave the original, read from the marts (never computed by the code
under test). On DuckDB the running service is the file's only writer, so everything the tests read from the
warehouse is read before the service starts or after it stops.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from python_jobs.definitions import AXES, HAS_ORDERS, feature_names, requirement_flags
from python_jobs.service.assign import MAX_ASSIGN_BODY_BYTES, MAX_ORDERS
from python_jobs.testing.service import running_service
from python_jobs.warehouse.connection import Session, Warehouse

# Time for the first request of a process, which compiles the dbt models the endpoint runs.
FIRST_REQUEST_TIMEOUT = 300


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.datetime | dt.date) else v for k, v in row.items()}


def _rows(session: Session, sql: str, customer_id: str) -> list[dict[str, Any]]:
    return session.fetch_arrow(sql, [customer_id]).to_pylist()


def _copied_customer(session: Session) -> tuple[str, dict[str, Any]]:
    """A customer with orders, lines, web visits and tickets and no merged accounts, and their raw rows as an
    assign body under a fresh id."""
    (customer_id,) = session.fetchone(
        "select customer_id from marts.customer_profiles "
        "where merged_account_count = 0 and total_orders between 3 and 10 and support_tickets > 0 "
        "and web_sessions > 0 order by customer_id limit 1"
    )
    orders = _rows(
        session,
        "select order_id, ordered_at, order_status, sales_channel, order_total from raw.orders "
        "where trim(customer_id) = ?",
        customer_id,
    )
    lines = _rows(
        session,
        "select items.order_id, items.order_item_id, items.product_category, items.quantity, items.unit_price, "
        "items.discount_amount, items.is_returned from raw.order_items as items "
        "inner join raw.orders as orders on trim(items.order_id) = trim(orders.order_id) "
        "where trim(orders.customer_id) = ?",
        customer_id,
    )
    events = _rows(
        session,
        "select event_id, session_id, event_type, page_type, device_type, occurred_at from raw.web_events "
        "where trim(customer_id) = ?",
        customer_id,
    )
    tickets = _rows(
        session,
        "select ticket_id, opened_at, resolved_at, contact_channel, complexity, topic, satisfaction_score "
        "from raw.support_tickets where trim(customer_id) = ?",
        customer_id,
    )
    accounts = _rows(
        session,
        "select signed_up_at, country_code, acquisition_channel, marketing_opt_in from raw.customers "
        "where trim(customer_id) = ?",
        customer_id,
    )
    body = {
        "customer_id": "FRESH-COPY-1",
        "orders": [
            {
                **_json(order),
                "lines": [
                    _json({k: v for k, v in line.items() if k != "order_id"})
                    for line in lines
                    if line["order_id"].strip() == order["order_id"].strip()
                ],
            }
            for order in orders
        ],
        "web_events": [_json(event) for event in events],
        "support_tickets": [_json(ticket) for ticket in tickets],
    }
    if accounts:
        body["account"] = _json(accounts[0])
    return customer_id, body


def _row_counts(warehouse: Warehouse) -> dict[str, int]:
    """Rows of every table of the warehouse's schemas the endpoint could touch."""
    counts = {}
    with warehouse.session(read_only=True) as session:
        tables = session.fetchall(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'ml', 'staging', 'intermediate', 'marts') and table_type = 'BASE TABLE'"
        )
        for schema, table in tables:
            counts[f"{schema}.{table}"] = session.fetchone(f'select count(*) from "{schema}"."{table}"')[0]
    return counts


def test_a_customer_copied_from_the_warehouse_gets_the_originals_features_and_segments(built):
    with built.warehouse.session(read_only=True) as session:
        original, body = _copied_customer(session)
        expected_features = _rows(
            session, "select * from marts.customer_features where customer_id = ?", original
        )[0]
        expected_segments = _rows(
            session, "select * from marts.customer_segments where customer_id = ?", original
        )[0]
        (observation_end,) = session.fetchone("select max(observation_end) from marts.customer_profiles")
    before = _row_counts(built.warehouse)
    with running_service(built.warehouse) as service, service.client(timeout=FIRST_REQUEST_TIMEOUT) as client:
        response = client.post("/segments/assign", json=body)
    after = _row_counts(built.warehouse)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["customer_id"] == "FRESH-COPY-1"
    assert answer["segmentation_run_id"] == expected_segments["segmentation_run_id"]
    assert answer["observation_end"] == observation_end.isoformat()
    for name in feature_names():
        if expected_features[name] is None:
            assert answer["features"][name] is None, name
        else:
            assert answer["features"][name] == pytest.approx(expected_features[name], rel=1e-9, abs=1e-9), (
                name
            )
    assert answer["data_available"] == {flag: expected_features[flag] for flag in requirement_flags()}
    for axis in AXES:
        membership = answer["memberships"][axis.name]
        assert membership["segment"] == expected_segments[axis.name], axis.name
        strength = expected_segments[f"{axis.name}_strength"]
        if strength is None:
            assert membership["strength"] is None
        else:
            assert membership["strength"] == pytest.approx(strength, abs=1e-4), axis.name
    assert after == before, "POST /segments/assign wrote to the warehouse"


def _no_orders_body() -> dict[str, Any]:
    return {
        "account": {"signed_up_at": "2024-01-02T10:00:00+01:00", "country_code": "fr"},
        "web_events": [
            {"event_id": "E1", "session_id": "S1", "event_type": "page_view", "page_type": "guide",
             "occurred_at": "2024-02-01T09:00:00Z"},
            {"event_id": "E2", "session_id": "S1", "event_type": " Add_To_Cart ", "page_type": "product",
             "occurred_at": "2024-02-01T09:05:00Z"},
        ],
    }  # fmt: skip


def test_a_customer_without_orders_gets_the_no_orders_segments(built):
    with running_service(built.warehouse) as service, service.client(timeout=FIRST_REQUEST_TIMEOUT) as client:
        response = client.post("/segments/assign", json=_no_orders_body())
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["customer_id"] is None
    assert answer["data_available"]["has_orders"] is False
    assert answer["data_available"]["has_web_visits"] is True
    assert answer["features"]["orders_per_month"] is None
    ordered_axes = [axis.name for axis in AXES if HAS_ORDERS in axis.requirements]
    assert ordered_axes
    assert {name: answer["memberships"][name]["segment"] for name in ordered_axes} == dict.fromkeys(
        ordered_axes, "no_orders"
    )


def test_latest_order_measures_the_customer_as_of_their_own_last_order(built):
    body = {
        "orders": [
            {"order_id": "O1", "ordered_at": "2020-03-01T12:00:00Z", "order_status": "completed", "order_total": 80},
            {"order_id": "O2", "ordered_at": "2020-05-31T23:30:00Z", "order_status": "Completed", "order_total": 20},
        ],
        "observation_end": "latest_order",
    }  # fmt: skip
    with running_service(built.warehouse) as service, service.client(timeout=FIRST_REQUEST_TIMEOUT) as client:
        response = client.post("/segments/assign", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["observation_end"] == "2020-05-31"
    assert answer["observation_end_from"] == "latest_order"
    # Ninety-one days from the first order to the observation end; an average order of (80 + 20) / 2.
    assert answer["features"]["days_since_first_order"] == 91
    assert answer["features"]["average_order_value"] == 50


_ORDER = {
    "order_id": "O1",
    "ordered_at": "2024-03-01T12:00:00Z",
    "order_status": "completed",
    "order_total": 10,
}


@pytest.mark.parametrize(
    ("body", "in_detail"),
    [
        ({}, "nothing to place"),
        ({"orders": [{"order_id": "O1"}]}, "body.orders.0.ordered_at: Field required"),
        ({"orders": [{**_ORDER, "order_status": "shipped"}]}, "body.orders.0.order_status"),
        ({"orders": [_ORDER, _ORDER]}, "order_id 'O1' is given more than once"),
        ({"orders": [{**_ORDER, "order_total": 1e300}]}, "body.orders.0.order_total"),
        ({"orders": [_ORDER], "table": "raw.orders"}, "body.table: Extra inputs are not permitted"),
        ({"orders": [{**_ORDER, "order_id": f"O{i}"} for i in range(MAX_ORDERS + 1)]}, "body.orders"),
        ({"orders": [_ORDER], "observation_end": "2024-01-01"}, "body.observation_end"),
    ],
    ids=["empty", "missing", "enum", "duplicate", "amount", "extra", "too-many", "observation-end"],
)
def test_bad_bodies_are_422_saying_what_is_wrong(built, body, in_detail):
    with running_service(built.warehouse) as service, service.client(timeout=FIRST_REQUEST_TIMEOUT) as client:
        response = client.post("/segments/assign", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_request"
    assert in_detail in response.json()["detail"]


def test_a_body_past_the_routes_cap_is_413(built):
    padding = "x" * (MAX_ASSIGN_BODY_BYTES + 1)
    with running_service(built.warehouse) as service, service.client() as client:
        response = client.post(
            "/segments/assign",
            content=f'{{"customer_id": "{padding}"}}',
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
