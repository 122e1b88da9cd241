"""Staging on the generator's own data, on a real warehouse per target: the planted refunds are returns, the
planted bad rows are quarantined with every reason staging knows, and the build stays under its quarantine limit.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from python_jobs import PROJECT_ROOT
from python_jobs.ingest.generate import generate_raw_tables
from python_jobs.ingest.raw_loading import replace_raw_tables
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.dbt_runner import run_dbt

# Large enough for the merge log to carry every contradiction (one planted row per 200 rows of a table).
CUSTOMERS = 30_000
SEED = 2
SELECTED = (
    "product_categories",
    "+quarantined_raw_rows",
    "+stg_raw__orders",
    "+stg_raw__order_items",
    "assert_quarantined_share_within_limit",
)
BASE_MODELS = PROJECT_ROOT / "models" / "staging" / "raw" / "base"


def _reasons_in_staging() -> set[tuple[str, str]]:
    """Every (table, quarantine reason) the base models can give, read from their SQL."""
    reasons = set()
    for path in Path(BASE_MODELS).glob("base_raw__*.sql"):
        table = path.stem.removeprefix("base_raw__")
        reasons |= {(table, reason) for reason in re.findall(r"then '([a-z_]+)'", path.read_text())}
    return reasons


def _rows(warehouse: Warehouse, sql: str) -> list[dict]:
    with warehouse.session(read_only=True) as session:
        return session.fetch_arrow(sql).to_pylist()


@pytest.fixture
def staged(warehouse: Warehouse) -> Warehouse:
    replace_raw_tables(warehouse, generate_raw_tables(CUSTOMERS, seed=SEED))
    run = run_dbt(["build", "--select", *SELECTED], target=warehouse.target)
    failed = [(r["unique_id"], r.get("message")) for r in run.problems() if r["status"] != "warn"]
    assert run.ok, failed
    return warehouse


def test_planted_refunds_are_returns_and_bad_rows_are_quarantined_for_every_reason(staged: Warehouse) -> None:
    refund_lines = _rows(
        staged,
        "select i.is_refund, i.is_returned, i.returned_value > 0 as pays_back "
        "from staging.stg_raw__order_items as i join staging.stg_raw__orders as o on i.order_id = o.order_id "
        "where o.is_refund",
    )
    assert len(refund_lines) > 100
    assert all(row == {"is_refund": True, "is_returned": True, "pays_back": True} for row in refund_lines)

    quarantined = _rows(
        staged,
        "select source_table, quarantine_reason, count(*) as n from marts.quarantined_raw_rows group by 1, 2",
    )
    found = {(row["source_table"], row["quarantine_reason"]) for row in quarantined}
    expected = _reasons_in_staging()
    assert expected - found == set()
    assert found <= expected
    # The only quarantined order lines are the planted ones: no refund line is among them.
    item_reasons = {
        row["quarantine_reason"]: row["n"] for row in quarantined if row["source_table"] == "order_items"
    }
    assert item_reasons == dict.fromkeys(item_reasons, 1)
