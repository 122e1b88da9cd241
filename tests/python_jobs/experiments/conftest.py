"""Helpers for the experiment tests: small hand-made raw experiment tables in a real warehouse."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa
import pytest

from python_jobs.experiments.config import change_config
from python_jobs.ingest.generate.experiments import generate_experiment_tables
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import EXPERIMENT_RAW_TABLES, RAW_SCHEMA, RAW_TABLES


def _write_experiment_tables(warehouse: Warehouse, **rows: list[dict]) -> None:
    tables = {
        name: pa.Table.from_pylist(rows.get(name, []), schema=RAW_TABLES[name])
        for name in EXPERIMENT_RAW_TABLES
    }
    with warehouse.session() as session:
        session.replace_tables(RAW_SCHEMA, tables)


@pytest.fixture
def write_experiment_tables() -> Callable[..., None]:
    """`write_experiment_tables(warehouse, experiments=[...], ...)` replaces the four raw experiment tables: the
    given rows, the tables not named empty."""
    return _write_experiment_tables


def _build_experiment_models(warehouse: Warehouse) -> None:
    """What `segments build` does for the experiment models, and only that: the models the parse_user_agents job
    reads, the job, everything downstream of its table (and of the empty clustering and eligibility tables) up to
    the update_experiment_weights job, the job, then everything downstream of the weights (with their tests)."""
    from python_jobs.experiments.clustering import CLUSTERING_TABLES
    from python_jobs.experiments.clustering import ensure_tables as ensure_cluster_tables
    from python_jobs.experiments.eligibility import ELIGIBILITY_TABLES
    from python_jobs.experiments.eligibility import ensure_tables as ensure_eligibility_tables
    from python_jobs.experiments.tables import EXPERIMENT_ML_TABLES
    from python_jobs.experiments.user_agent_job import parse_new_user_agents
    from python_jobs.experiments.weights_job import update_weights
    from python_jobs.warehouse.dbt_runner import dbt_session, run_dbt
    from python_jobs.warehouse.ml_tables import EXPERIMENT_TABLES, ML_SCHEMA

    with warehouse.session() as session:
        session.ensure_schema(ML_SCHEMA)
        if not session.table_exists(ML_SCHEMA, "experiment_segmentation_config"):
            schema = EXPERIMENT_TABLES["experiment_segmentation_config"]
            session.create_table(ML_SCHEMA, "experiment_segmentation_config", schema)
        # The clustering model and eligibility tables, empty unless a test wrote them: models read them.
        ensure_cluster_tables(session)
        ensure_eligibility_tables(session)
    # One dbt process for the three commands, as `segments build` does (dbt imported and parsed once).
    with dbt_session(warehouse.target):
        upstream = [
            "+int_experiment_user_agents",
            "stg_raw__experiment_variants",
            "stg_raw__experiment_conversions",
            "stg_raw__experiments",
        ]
        run = run_dbt(["build", "--select", *upstream], target=warehouse.target)
        assert run.ok, run.problem_summary()
        parse_new_user_agents(warehouse, echo=lambda _line: None)
        weight_sources = [f"source:ml.{name}+" for name in EXPERIMENT_ML_TABLES]
        downstream = ["source:ml.user_agent_lookup+", "source:ml.experiment_segmentation_config+"]
        downstream += [f"source:ml.{name}+" for name in (*CLUSTERING_TABLES, *ELIGIBILITY_TABLES)]
        run = run_dbt(["build", "--select", *downstream, "--exclude", *weight_sources], target=warehouse.target)
        assert run.ok, run.problem_summary()
        update_weights(warehouse, echo=lambda _line: None)
        run = run_dbt(["build", "--select", *weight_sources], target=warehouse.target)
        assert run.ok, run.problem_summary()


@pytest.fixture(scope="session")
def build_experiment_models() -> Callable[[Warehouse], None]:
    """`build_experiment_models(warehouse)`: dbt, the parse_user_agents job, dbt, as `segments build` orders
    them, for the experiment models only; fails the test on any dbt error or failed test."""
    return _build_experiment_models


# ------------------------------------------------------------------------------ the demo experiments, built small
DEMO_SCALE = 0.02
DEMO_SEGMENTED = "exp_hero_banner"
DEMO_SEGMENT_BY = ("source", "device")
# Small, so that at 2% of the traffic some segments learn on their own and can be judged by the alerts.
DEMO_MIN_SAMPLES_PER_SEGMENT = 30


def _write_and_build(warehouse: Warehouse, build_experiment_models) -> None:
    with warehouse.session() as session:
        session.replace_tables(RAW_SCHEMA, generate_experiment_tables(seed=11, scale=DEMO_SCALE))
    change_config(
        warehouse,
        DEMO_SEGMENTED,
        changed_by="cli",
        mode="manual",
        segment_by=DEMO_SEGMENT_BY,
        min_samples_per_segment=DEMO_MIN_SAMPLES_PER_SEGMENT,
    )
    build_experiment_models(warehouse)


@pytest.fixture(scope="package", params=["local", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_warehouse(request, scratch_warehouses, build_experiment_models) -> Iterator[Warehouse]:
    """The demo experiments at 2% of their traffic, `exp_hero_banner` segmented by source and device
    (30 assignments make a segment that learns on its own), built once
    per target for every test module that takes it (dbt, both jobs, dbt)."""
    with pytest.MonkeyPatch.context() as patch, scratch_warehouses(request.param, "demo", patch) as warehouse:
        _write_and_build(warehouse, build_experiment_models)
        yield warehouse
