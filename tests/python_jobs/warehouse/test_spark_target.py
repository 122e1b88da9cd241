"""The `spark` target: the warehouse interface on a local Spark session, and the dbt project built on it.

Spark starts in 25-35 s on a small machine and its local catalog admits one process, so the whole module shares
one Spark session and one warehouse, built once: a generated warehouse of 300 customers, the `ml` tables created
empty (as a build does before the jobs have run), then `dbt seed` and `dbt run` in this process.

Runs only with SEGMENTS_TEST_SPARK=1 (and pyspark and Java installed), by hand: CI's Spark leg (dev.py's
SPARK_LEG) leaves it out to stay under 5 minutes.
"""

from __future__ import annotations

import datetime
import os
import shutil
from collections.abc import Iterator

import pyarrow as pa
import pytest
import yaml

from python_jobs import PROJECT_ROOT
from python_jobs.warehouse.connection import Warehouse

if os.environ.get("SEGMENTS_TEST_SPARK") != "1":
    pytest.skip("the Spark target is tested only with SEGMENTS_TEST_SPARK=1", allow_module_level=True)
pytest.importorskip("pyspark", reason='the spark target needs pyspark: pip install -e ".[spark]"')
if shutil.which("java") is None:
    pytest.skip("pyspark needs a Java runtime (Debian: openjdk-17-jre-headless)", allow_module_level=True)

from python_jobs.experiments.clustering import CLUSTERING_TABLES
from python_jobs.experiments.eligibility import ELIGIBILITY_TABLES
from python_jobs.experiments.tables import EXPERIMENT_ML_TABLES
from python_jobs.ingest.generate import generate_raw_tables, write_raw_tables
from python_jobs.ingest.generate.deals import DEALS_TABLE, deals_table
from python_jobs.ingest.generate.experiments import generate_experiment_tables
from python_jobs.insights.tables import INSIGHT_TABLES
from python_jobs.warehouse import ml_tables
from python_jobs.warehouse.dbt_runner import DbtRun, run_dbt

pytestmark = pytest.mark.xdist_group("spark")

CUSTOMERS = 300
ML_SOURCES_YML = PROJECT_ROOT / "models" / "staging" / "ml" / "_ml__sources.yml"
# Every table the jobs write to `ml`, as the jobs define them.
ML_TABLE_SCHEMAS: dict[str, pa.Schema] = {
    **ml_tables.ML_TABLES,
    **ml_tables.CLV_TABLES,
    **ml_tables.PRODUCT_SEGMENTATION_TABLES,
    **ml_tables.EXPERIMENT_TABLES,
    **ml_tables.EMBEDDING_TABLES,
    **ml_tables.DEAL_PACKAGE_TABLES,
    **ELIGIBILITY_TABLES,
    **EXPERIMENT_ML_TABLES,
    **CLUSTERING_TABLES,
    **INSIGHT_TABLES,
}


class SparkBuild:
    def __init__(self, warehouse: Warehouse, raw_rows: dict[str, int], seeded: DbtRun, ran: DbtRun) -> None:
        self.warehouse = warehouse
        self.raw_rows = raw_rows
        self.seeded = seeded
        self.ran = ran


@pytest.fixture(scope="module")
def spark_build(tmp_path_factory) -> Iterator[SparkBuild]:
    patch = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("spark")
    # Absolute, so dbt (which renders the profile itself) and the jobs name the same folder.
    patch.setenv("SEGMENTS_SPARK_WAREHOUSE", str(root / "warehouse"))
    patch.setenv("SEGMENTS_DBT_DIR", str(root / "dbt"))
    try:
        warehouse = Warehouse.from_profile("spark")
        tables = {
            **generate_raw_tables(CUSTOMERS, seed=11),
            **generate_experiment_tables(seed=11, scale=0.05),
            DEALS_TABLE: deals_table(seed=11),
        }
        raw_rows = write_raw_tables(warehouse, tables)
        with warehouse.session() as session:
            session.ensure_schema(ml_tables.ML_SCHEMA)
            for name, schema in ML_TABLE_SCHEMAS.items():
                session.create_table(ml_tables.ML_SCHEMA, name, schema)
        seeded = run_dbt(["seed"], target="spark")
        ran = run_dbt(["run"], target="spark")
        yield SparkBuild(warehouse, raw_rows, seeded, ran)
    finally:
        patch.undo()


def test_every_ml_source_has_a_table_definition():
    """The fixture creates the `ml` tables from the jobs' definitions; a source without one would fail dbt."""
    [source] = [s for s in yaml.safe_load(ML_SOURCES_YML.read_text())["sources"] if s["name"] == "ml"]
    assert {table["name"] for table in source["tables"]} <= set(ML_TABLE_SCHEMAS)


def test_the_session_reads_back_what_it_wrote_with_its_types(spark_build):
    instant = datetime.datetime(2024, 3, 1, 12, 30, tzinfo=datetime.UTC)
    data = pa.table(
        {
            "customer_id": ["c1", "c2", None],
            "orders": pa.array([3, 0, 7], pa.int64()),
            "share": [0.25, None, 1.0],
            "is_active": [True, False, None],
            "seen_at": pa.array([instant, None, instant], pa.timestamp("us", tz="UTC")),
            "first_day": pa.array([datetime.date(2024, 1, 2), None, None], pa.date32()),
        }
    )
    with spark_build.warehouse.session() as session:
        session.replace_table("ml", "spark_round_trip", data)
        session.append_table("ml", "spark_round_trip", pa.table({"orders": pa.array([9], pa.int64())}))
        back = session.fetch_arrow(
            'select * from "ml"."spark_round_trip" where orders >= ? order by orders', [0]
        )
        columns = session.column_names("ml", "spark_round_trip")
        exists = session.table_exists("ml", "spark_round_trip")
        missing = session.table_exists("ml", "no_such_table")
        # Replacing with the same columns overwrites the rows, never adds to them.
        session.replace_table("ml", "spark_round_trip", data.slice(0, 1))
        after_replace = session.fetchall('select customer_id from "ml"."spark_round_trip"')

    assert columns == data.schema.names
    assert (exists, missing) == (True, False)
    assert back.schema.field("seen_at").type == pa.timestamp("us", tz="UTC")
    assert back.schema.field("first_day").type == pa.date32()
    assert back.column("orders").to_pylist() == [0, 3, 7, 9]
    assert back.column("customer_id").to_pylist() == ["c2", "c1", None, None]
    assert back.column("seen_at").to_pylist()[1] == instant
    assert back.column("is_active").to_pylist() == [False, True, None, None]
    assert after_replace == [("c1",)]


def test_the_generated_raw_tables_are_in_spark(spark_build):
    with spark_build.warehouse.session() as session:
        counts = {
            name: session.fetchone(f'select count(*) from "raw"."{name}"')[0] for name in spark_build.raw_rows
        }
    assert counts == spark_build.raw_rows
    assert spark_build.raw_rows["customers"] >= CUSTOMERS


def test_dbt_seeds_and_builds_every_model_on_spark(spark_build):
    assert spark_build.seeded.ok, spark_build.seeded.problem_summary()
    assert spark_build.ran.ok, spark_build.ran.problem_summary()
    statuses = {result["unique_id"]: result["status"] for result in spark_build.ran.results}
    assert statuses, "dbt run reported no models"
    assert set(statuses.values()) == {"success"}


def test_the_marts_hold_the_unified_customers(spark_build):
    """The staging, intermediate and mart SQL ran for real: one profile per customer, and fewer profiles than raw
    customer rows, since merged duplicate accounts collapse into the account they were merged into."""
    with spark_build.warehouse.session() as session:
        profiles, distinct_ids = session.fetchone(
            'select count(*), count(distinct customer_id) from "marts"."customer_profiles"'
        )
    assert profiles == distinct_ids
    assert spark_build.raw_rows["customer_id_merges"] > 0
    assert 0 < profiles < spark_build.raw_rows["customers"]


def test_the_json_of_the_experiment_contexts_is_read(spark_build):
    """Spark gives null for a JSON path it cannot read, silently: the user agents parsed out of the assignments'
    context JSON (`json_text`) show that the paths work."""
    with spark_build.warehouse.session() as session:
        user_agents = session.fetchone(
            'select count(*) from "intermediate"."int_experiment_user_agents" where user_agent is not null'
        )[0]
    assert user_agents > 0
