"""A `segments build` that fails part-way leaves every relation dbt builds as the previous build left it, so the
marts never disagree with each other; on a real warehouse of each kind, with the real dbt project.

Small data (300 customers) keeps it quick; the failures are a job that raises, and a job whose run breaks the
dbt step after it. Between the builds the observation end moves, so a build that got halfway has really changed
the tables it reached before failing (the failing job looks, to make sure).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import pytest

from python_jobs.cli.data import generate_data
from python_jobs.segmentation.clustering import ClusteringParameters
from python_jobs.segmentation.job import cluster_customers
from python_jobs.warehouse.build import BuildReport, DbtStep, JobStep, plan_build, run_build
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.dbt_runner import load_manifest
from python_jobs.warehouse.jobs import JOBS, JobContext
from python_jobs.warehouse.previous_build import Relation, built_relations

CUSTOMERS = 300
# A few hundred experiment visitors a day rather than the demo's thousands: the experiment steps still run.
EXPERIMENT_SCALE = 0.05
# The real clustering job, with less of the robustness work that makes the default run take seconds.
QUICK = ClusteringParameters(bootstrap_resamples=2, n_init=1, workers=1)


class JobError(RuntimeError):
    pass


def _quick_clustering(context: JobContext) -> str:
    return cluster_customers(context.warehouse, QUICK, echo=context.echo)


def _build(target: str, observation_end: str | None = None, **jobs: Any) -> BuildReport:
    registry = {**JOBS, "cluster_customers": _quick_clustering, **jobs}
    return run_build(target, observation_end=observation_end, echo=lambda _: None, jobs=registry)


@cache
def _manifest(target: str) -> dict[str, Any]:
    """The project's manifest, parsed once per target in this test process: a `dbt parse` costs seconds of CPU
    each time, and the project does not change while the tests run."""
    return load_manifest(target)


def _plan(target: str) -> tuple[int, dict[str, int]]:
    """How many steps the build has, and the step number of each job."""
    steps = plan_build(_manifest(target))
    return len(steps), {step.job: n for n, step in enumerate(steps, start=1) if isinstance(step, JobStep)}


def _dbt_step_reading(target: str, selector: str) -> int:
    """The number of the dbt step that builds what is downstream of `selector` (a source)."""
    steps = plan_build(_manifest(target))
    return next(
        n for n, step in enumerate(steps, start=1) if isinstance(step, DbtStep) and selector in step.select
    )


def _tables(warehouse: Warehouse) -> list[Relation]:
    """Every table dbt builds (the views are rebuilt from them and from the raw and ml tables)."""
    relations = built_relations(_manifest(warehouse.target))
    with warehouse.session(read_only=True) as session:
        kinds = {
            (schema, name): kind
            for schema, name, kind in session.fetchall(
                "select table_schema, table_name, table_type from information_schema.tables"
            )
        }
    return [r for r in relations if kinds.get((r.schema, r.name)) == "BASE TABLE"]


def _rows(warehouse: Warehouse, relations: list[Relation]) -> dict[str, list]:
    """Every row of every relation, in a fixed order (compared value for value)."""
    with warehouse.session(read_only=True) as session:
        return {
            str(r): sorted(session.fetchall(f"select * from {r.schema}.{r.name}"), key=repr)
            for r in relations
        }


def _existing(warehouse: Warehouse, relations: list[Relation]) -> list[Relation]:
    with warehouse.session(read_only=True) as session:
        return [r for r in relations if session.table_exists(r.schema, r.name)]


def _last_order_day(warehouse: Warehouse) -> dt.date:
    with warehouse.session(read_only=True) as session:
        value = session.fetchone("select max(ordered_at) from raw.orders")[0]
    return value.date() if isinstance(value, dt.datetime) else value


def test_a_first_build_that_fails_leaves_no_half_built_relations(warehouse):
    generate_data(CUSTOMERS, 5, warehouse.target, experiment_scale=EXPERIMENT_SCALE)
    relations = built_relations(_manifest(warehouse.target))

    def failing_fit(context: JobContext) -> None:
        assert _existing(context.warehouse, relations), "the first step built something"
        raise JobError("the CLV fit ran out of memory")

    report = _build(warehouse.target, fit_clv=failing_fit)

    assert not report.ok
    assert _existing(warehouse, relations) == []
    total, step_of = _plan(warehouse.target)
    assert report.ending().startswith(
        f"Build FAILED at step {step_of['fit_clv']} of {total}; nothing had been built before it, so the "
    )
    with warehouse.session(read_only=True) as session:
        assert session.fetchone("select count(*) from raw.customers")[0] >= CUSTOMERS
        schemas = {row[0] for row in session.fetchall("select schema_name from information_schema.schemata")}
    assert not schemas & {"staging", "intermediate", "marts"}
    assert not any(schema.endswith("previous_build") for schema in schemas)

    # Ctrl-C in the middle of a job: the same, and the interruption goes on to stop the command.
    def interrupted_fit(context: JobContext) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _build(warehouse.target, fit_clv=interrupted_fit)
    assert _existing(warehouse, relations) == []


@pytest.mark.long
def test_a_failed_build_leaves_every_dbt_table_as_the_previous_build_left_it(duckdb_warehouse):
    """Four builds in a row, so on DuckDB only: how a restore puts back each kind of relation is the same code
    for both targets' builds, and tests/python_jobs/warehouse/test_previous_build.py runs it on both."""
    warehouse = duckdb_warehouse
    target = warehouse.target
    generate_data(CUSTOMERS, 5, target, experiment_scale=EXPERIMENT_SCALE)
    first = _build(target)
    assert first.ok, first.ending()
    tables = _tables(warehouse)
    assert {"marts.customer_profiles", "marts.customer_segments", "marts.segment_summary"} <= set(
        map(str, tables)
    )
    before = _rows(warehouse, tables)
    earlier = (_last_order_day(warehouse) - dt.timedelta(days=90)).isoformat()

    # 1. The clustering job fails after the profiles and features were rebuilt as of the earlier date.
    seen_by_the_job: dict[str, list] = {}

    def failing_clustering(context: JobContext) -> None:
        seen_by_the_job.update(_rows(context.warehouse, tables))
        raise JobError("too few customers to cluster")

    report = _build(target, cluster_customers=failing_clustering, observation_end=earlier)

    total, step_of = _plan(target)
    clustering = step_of["cluster_customers"]
    assert [outcome.ok for outcome in report.outcomes] == [True] * (clustering - 1) + [False]
    assert seen_by_the_job["marts.customer_profiles"] != before["marts.customer_profiles"]
    assert seen_by_the_job["marts.customer_features"] != before["marts.customer_features"]
    assert _rows(warehouse, tables) == before
    assert report.ending().startswith(
        f"Build FAILED at step {clustering} of {total}; the marts were restored to the previous build"
    )

    # 2. The clustering run is written, but is broken in a way the dbt step after it refuses.
    def clustering_the_marts_refuse(context: JobContext) -> None:
        _quick_clustering(context)
        with context.warehouse.session() as session:
            latest = session.fetchone(
                "select run_id from ml.segmentation_runs where status = 'succeeded' "
                "order by finished_at desc limit 1"
            )[0]
            session.execute(
                "delete from ml.segment_definitions where run_id = ? and axis_name = 'purchase_value' "
                "and segment_id = 1",
                [latest],
            )

    report = _build(target, cluster_customers=clustering_the_marts_refuse, observation_end=earlier)

    refused = _dbt_step_reading(target, "source:ml.segmentation_runs+")
    assert [outcome.ok for outcome in report.outcomes] == [True] * (refused - 1) + [False]
    assert _rows(warehouse, tables) == before
    assert report.ending().startswith(
        f"Build FAILED at step {refused} of {total}; the marts were restored to the previous build"
    )

    # 3. A build that succeeds afterwards moves every mart to the new date and the new run together.
    report = _build(target, observation_end=earlier)

    assert report.ok, report.ending()
    after = _rows(warehouse, tables)
    assert after["marts.customer_profiles"] != before["marts.customer_profiles"]
    with warehouse.session(read_only=True) as session:
        latest = session.fetchone(
            "select run_id from ml.segmentation_runs where status = 'succeeded' order by finished_at desc limit 1"
        )[0]
        runs = session.fetchall(
            "select distinct segmentation_run_id from marts.customer_segments "
            "union select distinct segmentation_run_id from marts.segment_summary"
        )
        schemas = {row[0] for row in session.fetchall("select schema_name from information_schema.schemata")}
    assert runs == [(latest,)]
    assert not any(schema.endswith("previous_build") for schema in schemas)
