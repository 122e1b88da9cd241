"""`--observation-end` checked against the loaded orders before anything is rebuilt, on a real warehouse."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from click.testing import CliRunner

from python_jobs.cli import main
from python_jobs.ingest.raw_loading import replace_raw_tables
from python_jobs.warehouse.observation_end import ObservationEndError, check_observation_end
from python_jobs.warehouse.raw_tables import RAW_TABLES


def _load_orders(warehouse, days: list[str]) -> None:
    orders = [
        {
            "order_id": f"O{n}",
            "customer_id": "c1",
            "ordered_at": dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC),
            "order_status": "completed",
            "sales_channel": None,
            "order_total": 10.0,
        }
        for n, day in enumerate(days)
    ]
    replace_raw_tables(warehouse, {"orders": pa.Table.from_pylist(orders, schema=RAW_TABLES["orders"])})


def test_a_date_before_the_first_order_is_refused_before_anything_is_built(warehouse):
    _load_orders(warehouse, ["2024-03-15T23:30:00", "2025-01-10"])
    result = CliRunner().invoke(
        main, ["build", "--target", warehouse.target, "--observation-end", "2000-01-01"]
    )
    assert result.exit_code == 1, result.output
    assert "--observation-end 2000-01-01 is before the first order in the data (2024-03-15)" in result.output
    assert "Traceback" not in result.output
    with warehouse.session(read_only=True) as session:  # no dbt step ran: no mart was (re)built
        assert not session.table_exists("marts", "customer_profiles")


def test_a_date_far_past_the_last_order_is_a_warning_and_a_near_one_is_fine(warehouse):
    # An order dated after now is left out: staging quarantines it, so it is not the last order.
    _load_orders(warehouse, ["2024-03-15", "2025-01-10", "2099-01-01"])
    assert check_observation_end(warehouse, "2025-06-30") == []
    assert check_observation_end(warehouse, "2024-03-15") == []
    (warning,) = check_observation_end(warehouse, "2026-02-01")
    assert "387 days after the last order in the data (2025-01-10)" in warning
    with pytest.raises(ObservationEndError):
        check_observation_end(warehouse, "2024-03-14")


def test_no_orders_or_no_date_is_nothing_to_check(warehouse):
    assert check_observation_end(warehouse, "2000-01-01") == []  # no raw.orders yet
    _load_orders(warehouse, ["2024-03-15"])
    assert check_observation_end(warehouse, None) == []
