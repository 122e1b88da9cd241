"""A Python job run on its own rebuilds the dbt models downstream of its tables, so the marts follow the job.

On a real warehouse per target: `segments run cluster-customers` on the built warehouse (its marts must move to
the new run), and `segments product-segmentation run` on a warehouse holding only a product catalogue (nothing
built yet: the parents the marts need are built too). `--no-rebuild` leaves the marts as they were.
"""

from __future__ import annotations

import pyarrow as pa
from click.testing import CliRunner

from python_jobs.cli import main
from python_jobs.ingest.raw_loading import replace_raw_tables
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import RAW_TABLES

CATEGORY = "Dimmer Switches"


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _scalar(warehouse: Warehouse, sql: str):
    with warehouse.session(read_only=True) as session:
        return session.fetchone(sql)[0]


def _latest_run(warehouse: Warehouse) -> str:
    return _scalar(
        warehouse,
        "select run_id from ml.segmentation_runs where status = 'succeeded' order by finished_at desc limit 1",
    )


def _mart_runs(warehouse: Warehouse) -> set[str]:
    with warehouse.session(read_only=True) as session:
        rows = session.fetchall("select distinct segmentation_run_id from marts.customer_segments")
    return {row[0] for row in rows}


def test_cluster_customers_on_its_own_moves_the_marts_to_its_run(built_copy):
    warehouse, target = built_copy.warehouse, built_copy.warehouse.target
    before = _latest_run(warehouse)
    assert _mart_runs(warehouse) == {before}
    common = [
        "run",
        "cluster-customers",
        "--target",
        target,
        "--sample-size",
        "2000",
        "--bootstrap-resamples",
        "2",
    ]

    _invoke(*common, "--seed", "7", "--no-rebuild")
    skipped = _latest_run(warehouse)
    assert skipped != before
    assert _mart_runs(warehouse) == {before}  # --no-rebuild: the marts stay where they were

    output = _invoke(*common, "--seed", "8")
    latest = _latest_run(warehouse)
    assert latest not in {before, skipped}
    assert "Rebuilt in" in output
    assert _mart_runs(warehouse) == {latest}
    assert _scalar(warehouse, "select count(distinct segmentation_run_id) from marts.segment_summary") == 1
    assert _scalar(warehouse, "select min(segmentation_run_id) from marts.segment_summary") == latest


def _products() -> pa.Table:
    rows = [
        {
            "product_id": str(n),
            "title": f"Rotary dimmer {n}" if n % 2 else f"Smart touch dimmer {n}",
            "category": CATEGORY,
            "brand": "Acme",
            "price": 10.0 + n,
            "description": "A wall dimmer switch for LED bulbs.",
        }
        for n in range(1, 9)
    ]
    return pa.Table.from_pylist(rows, schema=RAW_TABLES["products"])


def test_product_segmentation_on_its_own_fills_the_product_marts(warehouse, tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    replace_raw_tables(warehouse, {"products": _products()})
    common = ["product-segmentation", "run", "--category", CATEGORY, "--all", "--provider", "offline"]
    common += ["--archive-root", str(tmp_path / "llm"), "--target", warehouse.target]

    _invoke(*common, "--no-rebuild")
    with warehouse.session(read_only=True) as session:
        assert not session.table_exists("marts", "product_segments")  # --no-rebuild: nothing built

    run_id = _invoke(*common).strip().splitlines()[-1]
    assert _scalar(warehouse, "select count(*) from marts.product_segments") == 8
    assert _scalar(warehouse, "select min(run_id) from marts.product_segments") == run_id
