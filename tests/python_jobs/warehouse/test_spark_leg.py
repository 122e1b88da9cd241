"""The Spark leg: 2,000 generated customers, the models the clustering job reads, the job, the models on its output
and their dbt tests, all on the `spark` target's local session, each step timed.

Runs only with SEGMENTS_TEST_SPARK=1 (with pyspark, dbt-spark and Java); `dev.py test`'s Spark leg (so CI's) runs
this module and `test_sql_assignment.py`'s Spark case in one process, so Spark starts once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pytest

from python_jobs.ingest.generate import generate_raw_tables, write_raw_tables
from python_jobs.segmentation.job import (
    RESULT_TABLES,
    RUNS_TABLE,
    cluster_customers,
    remove_unfinished_results,
)
from python_jobs.warehouse import ml_tables
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.dbt_runner import DbtRun, run_dbt

pytestmark = pytest.mark.spark

CUSTOMERS = 2_000
# The clustering job's inputs with the data tests that guard Spark's differences (selectors.yml says which and
# why), and everything on the job's outputs that needs no other job's table, with all its tests.
INPUTS = "spark_leg_inputs"
ON_THE_RUN = [f"source:ml.{name}+,+int_customers_assigned_to_segments" for name in ml_tables.ML_TABLES]


@dataclass
class Leg:
    warehouse: Warehouse
    run_id: str
    built: DbtRun
    rebuilt: DbtRun
    seconds: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="module")
def leg(spark_warehouse: Warehouse) -> Iterator[Leg]:
    warehouse, seconds = spark_warehouse, {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = now - clock
        clock = now

    write_raw_tables(warehouse, generate_raw_tables(CUSTOMERS, seed=11))
    with warehouse.session() as session:
        # As before a first build's jobs have run: their tables exist, empty, for dbt's sources. The profiles
        # the clustering job reads join the CLV job's predictions, so its tables are needed too.
        for name, schema in {**ml_tables.CLV_TABLES, **ml_tables.ML_TABLES}.items():
            session.replace_table(ml_tables.ML_SCHEMA, name, schema.empty_table())
    lap("generate (Spark start included)")
    built = run_dbt(["build", "--selector", INPUTS], target="spark")
    lap("dbt build of the job's inputs")
    run_id = cluster_customers(warehouse, echo=lambda line: None)
    lap("clustering job")
    # Cautious: a test that also reads a model outside the selection (one downstream of the job) waits for it.
    rebuilt = run_dbt(["build", "--indirect-selection", "cautious", "--select", *ON_THE_RUN], target="spark")
    lap("dbt build on the run")
    yield Leg(warehouse, run_id, built, rebuilt, seconds)
    print("\nSpark leg, wall seconds: " + ", ".join(f"{step} {value:.0f}" for step, value in seconds.items()))


def test_the_job_inputs_build_and_pass_their_tests(leg):
    assert leg.built.ok, leg.built.problem_summary()
    assert leg.built.status_counts().get("pass", 0) > 0


def test_the_run_is_written_and_flipped_to_succeeded(leg):
    with leg.warehouse.session() as session:
        runs = session.fetchall(f"select run_id, status, population_size from ml.{RUNS_TABLE}")
        axes = session.fetchone("select count(*) from ml.segment_axes where run_id = ?", [leg.run_id])[0]
    assert [(run_id, status) for run_id, status, _ in runs] == [(leg.run_id, "succeeded")]
    assert runs[0][2] > 0
    assert axes > 0


def test_the_models_on_the_run_build_and_pass_their_tests(leg):
    assert leg.rebuilt.ok, leg.rebuilt.problem_summary()
    with leg.warehouse.session() as session:
        assigned = session.fetchone(
            "select count(distinct customer_id), count(distinct run_id) "
            "from intermediate.int_customers_assigned_to_segments"
        )
    assert assigned[0] > 0
    assert assigned[1] == 1


def test_a_failed_runs_rows_are_removed_and_the_runs_table_keeps_the_others(leg):
    """Spark writes as it goes: rows a failed run left behind are cleaned out, other runs' rows untouched."""
    with leg.warehouse.session() as session:
        before = {name: _rows_of(session, name, leg.run_id) for name in RESULT_TABLES}
        runs = ml_tables.ML_TABLES[RUNS_TABLE]
        session.append_table(
            "ml",
            RUNS_TABLE,
            pa.Table.from_pylist([{"run_id": "seg_failed", "status": "failed"}], schema=runs),
        )
        session.append_table(
            "ml",
            "segment_axes",
            pa.Table.from_pylist(
                [{"run_id": "seg_failed", "axis_name": "left_behind"}], schema=_schema("segment_axes")
            ),
        )
        removed = remove_unfinished_results(session)
        left = session.fetchone("select count(*) from ml.segment_axes where run_id = 'seg_failed'")[0]
        after = {name: _rows_of(session, name, leg.run_id) for name in RESULT_TABLES}
        statuses = dict(session.fetchall(f"select run_id, status from ml.{RUNS_TABLE}"))
    assert removed == ["seg_failed"]
    assert left == 0
    assert after == before
    assert statuses == {leg.run_id: "succeeded", "seg_failed": "failed"}


def _schema(name: str) -> pa.Schema:
    return ml_tables.ML_TABLES[name]


def _rows_of(session, table: str, run_id: str) -> int:
    return session.fetchone(f"select count(*) from ml.{table} where run_id = ?", [run_id])[0]


def test_a_table_dbt_rebuilt_is_read_afresh_by_the_jobs(spark_warehouse):
    """dbt and the jobs hold two sessions on one driver, each caching a table's files: after dbt's session
    rewrites a table, a jobs' session that read it before must not look for the deleted files."""
    from python_jobs.warehouse import spark

    with spark_warehouse.session() as session:
        session.ensure_schema("intermediate")
    dbt_session = spark._default_session
    dbt_session.sql("drop table if exists intermediate.rebuilt")
    dbt_session.sql("create table intermediate.rebuilt using parquet as select id from range(1000)")
    with spark_warehouse.session() as session:
        before = session.fetchone('select count(*) from "intermediate"."rebuilt"')
    dbt_session.sql("insert overwrite intermediate.rebuilt select id from range(600) distribute by id")
    with spark_warehouse.session() as session:
        after = session.fetchone('select count(*), sum(id) from "intermediate"."rebuilt"')
    assert before == (1000,)
    assert after == (600, 179700)


def test_the_other_jobs_run_rows_and_replaced_rows_are_written_on_spark(spark_warehouse):
    """CLV, product segmentation and deal packages change their runs rows and replace a run's rows through the
    session's update_rows / delete_rows, which Spark's file tables (no `update`, no `delete`) take too."""
    from python_jobs.clv.job import _mark_failed
    from python_jobs.deal_packages import tables as deal_tables
    from python_jobs.product_segmentation import tables as product_tables

    with spark_warehouse.session() as session:
        product_tables.ensure_tables(session)
        product_tables.insert_run(session, {"id": "RUN_a", "stage": "init", "category": "shoes"})
        product_tables.insert_run(session, {"id": "RUN_b", "stage": "init", "category": "bags"})
        product_tables.update_run(session, "RUN_a", stage="extraction", calls_done=3)
        taxonomy = {"run_id": "RUN_a", "segment_name": "s", "definition": "d"}
        product_tables.insert_taxonomies(
            session,
            [
                {**taxonomy, "id": "t1", "stage": "extraction"},
                {**taxonomy, "id": "t2", "stage": "consolidation_l0"},
                {**taxonomy, "id": "t3", "stage": "final"},
            ],
        )
        product_tables.replace_taxonomies(
            session,
            "RUN_a",
            ["final"],
            [{**taxonomy, "id": "t4", "stage": "final"}],
            stage_prefix="consolidation",
        )
        assignment = {"taxonomy_id_initial": "t1", "taxonomy_id_refined": None}
        product_tables.replace_assignments(
            session, "RUN_a", [{**assignment, "run_id": "RUN_a", "product_id": "1"}]
        )
        product_tables.replace_assignments(
            session, "RUN_a", [{**assignment, "run_id": "RUN_a", "product_id": "2"}]
        )
        runs = {row["id"]: (row["stage"], row["calls_done"]) for row in _all(session, product_tables.RUNS)}
        taxonomies = sorted(row["id"] for row in product_tables.fetch_taxonomies(session, "RUN_a"))
        assignments = [row["product_id"] for row in product_tables.fetch_assignments(session, "RUN_a")]

        deal_tables.ensure_tables(session)
        deal_tables.append(session, deal_tables.RUNS, [{"run_id": "deal_a", "status": "running"}])
        deal_tables.update_run(session, "deal_a", status="succeeded", deals_total=240)
        deal_runs = [(row["status"], row["deals_total"]) for row in _all(session, deal_tables.RUNS)]

        clv_runs = ml_tables.CLV_TABLES["clv_models"]
        session.replace_table(
            "ml",
            "clv_models",
            pa.Table.from_pylist([{"run_id": "clv_a", "status": "running"}], schema=clv_runs),
        )
    said: list[str] = []
    _mark_failed(spark_warehouse, "clv_a", ValueError("no orders"), echo=said.append)
    with spark_warehouse.session() as session:
        clv = [(row["status"], row["error_message"]) for row in _all(session, "clv_models")]

    assert runs == {"RUN_a": ("extraction", 3), "RUN_b": ("init", None)}
    assert taxonomies == ["t1", "t4"]
    assert assignments == ["2"]
    assert deal_runs == [("succeeded", 240)]
    assert clv == [("failed", "ValueError: no orders")]
    assert said == ["CLV run clv_a failed: ValueError: no orders"]


def _all(session, table: str) -> list[dict]:
    return session.fetch_arrow(f'select * from "ml"."{table}"').to_pylist()
