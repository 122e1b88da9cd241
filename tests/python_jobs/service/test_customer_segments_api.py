"""Customer segments over HTTP, on the shared built warehouses (DuckDB and PostgreSQL): read only.

Each test reads what it expects from the marts before it starts the service: on DuckDB the running service is
the file's only writer, and this process cannot open the file read-only beside it.
"""

from __future__ import annotations

import pytest

from python_jobs.definitions import AXES
from python_jobs.testing.service import running_service


@pytest.fixture
def service(built):
    with running_service(built.warehouse) as running:
        yield running


def test_a_customer_has_the_marts_segment_on_every_axis(built):
    axis_columns = ", ".join(axis.name for axis in AXES)
    with built.warehouse.session(read_only=True) as session:
        customer_id, *segments = session.fetchone(
            f"select customer_id, {axis_columns} from marts.customer_segments order by customer_id limit 1"
        )
        orders = session.fetchone(
            "select total_orders from marts.customer_profiles where customer_id = ?", [customer_id]
        )[0]
    with running_service(built.warehouse) as service, service.client() as client:
        response = client.get(f"/segments/customer/{customer_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == customer_id
    assert {axis: m["segment"] for axis, m in body["memberships"].items()} == dict(
        zip([axis.name for axis in AXES], segments, strict=True)
    )
    assert body["profile"]["total_orders"] == orders


def test_a_merged_account_id_answers_for_its_customer(built):
    with built.warehouse.session(read_only=True) as session:
        merged, canonical = session.fetchone(
            "select customer_id, canonical_customer_id from intermediate.int_customer_merges_resolved "
            "where customer_id <> canonical_customer_id order by customer_id limit 1"
        )
    with running_service(built.warehouse) as service, service.client() as client:
        body = client.get(f"/segments/customer/{merged}").json()
    assert body["requested_id"] == merged
    assert body["customer_id"] == canonical


def test_an_unknown_customer_is_404_with_a_clear_message(service):
    with service.client() as client:
        response = client.get("/segments/customer/NO-SUCH-CUSTOMER")
    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "detail": "customer 'NO-SUCH-CUSTOMER' is in neither marts.customer_segments nor marts.customer_features",
    }


def test_stats_count_the_customers_of_each_segment(built):
    expected = {}
    with built.warehouse.session(read_only=True) as session:
        total = session.fetchone("select count(*) from marts.customer_segments")[0]
        for axis in AXES:
            for name, count in session.fetchall(
                f"select {axis.name}, count(*) from marts.customer_segments group by 1"
            ):
                expected[(axis.name, name)] = count
    with running_service(built.warehouse) as service, service.client() as client:
        body = client.get("/segments/stats").json()
    got = {(row["axis_name"], row["segment_name"]): row["customers"] for row in body["segments"]}
    assert {key: value for key, value in got.items() if value} == expected
    for axis in AXES:
        shares = [row["customer_share"] for row in body["segments"] if row["axis_name"] == axis.name]
        assert sum(shares) == pytest.approx(1.0, abs=1e-6)
    assert sum(got[(AXES[0].name, name)] for (a, name) in got if a == AXES[0].name) == total


def test_axes_name_each_axis_its_features_and_segments(built):
    with built.warehouse.session(read_only=True) as session:
        names = {
            (axis, name)
            for axis, name in session.fetchall("select axis_name, segment_name from marts.segment_summary")
        }
    with running_service(built.warehouse) as service, service.client() as client:
        body = client.get("/segments/axes").json()
    assert [axis["name"] for axis in body["axes"]] == [axis.name for axis in AXES]
    first = body["axes"][0]
    assert [f["name"] for f in first["features"]] == AXES[0].feature_names
    assert {(a["name"], s["segment_name"]) for a in body["axes"] for s in a["segments"]} == names
