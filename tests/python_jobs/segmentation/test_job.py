"""The clustering job end to end on real warehouses: what a run writes, and that it is all or nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import numpy as np
import pyarrow as pa
import pytest

from python_jobs.definitions import AXES, FEATURES, Ladder, feature_names, requirement_flags
from python_jobs.segmentation import job
from python_jobs.segmentation.clustering import ClusteringParameters
from python_jobs.segmentation.job import RESULT_TABLES, cluster_customers
from python_jobs.warehouse.jobs import JobContext
from python_jobs.warehouse.ml_tables import BOOTSTRAP_STABILITY_LEVELS, ML_SCHEMA, ML_TABLES

CUSTOMERS = 600
# Small sub-samples and resamples keep a whole 13-axis run around a second on one core.
FAST = ClusteringParameters(
    sample_size=500,
    k_max=4,
    n_init=2,
    silhouette_sample=300,
    robustness_sample=300,
    bootstrap_resamples=3,
    workers=1,
)


def load_population(
    warehouse, customers: int = CUSTOMERS, seed: int = 0, lacking: dict[str, int] | None = None
) -> None:
    """marts.customer_profiles and marts.customer_features with three behaviour groups in every feature.

    `lacking`: requirement flag -> how many customers (the first ones) lack that data; what needs it is NULL.
    """
    rng = np.random.default_rng(seed)
    ids = [f"C{number:05d}" for number in range(customers)]
    group = rng.integers(0, 3, customers)
    start = dt.datetime(2021, 1, 1)
    profiles = pa.table(
        {
            "customer_id": ids,
            "lifetime_value": pa.array(rng.gamma(2.0, 150.0, customers).round(2)).cast(pa.decimal128(18, 2)),
            "first_seen_at": pa.array(
                [start + dt.timedelta(hours=int(h)) for h in rng.integers(0, 20_000, customers)],
                pa.timestamp("us"),
            ),
        }
    )
    columns = {"customer_id": ids}
    flags = {flag: np.arange(customers) >= (lacking or {}).get(flag, 0) for flag in requirement_flags()}
    for feature in FEATURES:
        group_means = rng.permutation([0.0, 1.0, 2.0]) * rng.uniform(1, 10)
        exists = np.logical_and.reduce([flags[r.flag] for r in feature.requires] + [np.ones(customers, bool)])
        columns[feature.name] = pa.array(group_means[group] + rng.normal(0, 0.3, customers), mask=~exists)
    columns |= flags
    with warehouse.session() as session:
        session.replace_table("marts", "customer_profiles", profiles)
        session.replace_table("marts", "customer_features", pa.table(columns))


def rows(warehouse, table: str, run_id: str | None = None) -> list[dict]:
    """A table's rows (of one run, without its run_id), in a stable order."""
    with warehouse.session() as session:
        where, params = ("where run_id = ?", [run_id]) if run_id else ("", None)
        data = session.fetch_arrow(f"select * from {ML_SCHEMA}.{table} {where}", params)
    found = data.drop_columns(["run_id"]).to_pylist() if run_id else data.to_pylist()
    return sorted(found, key=lambda row: json.dumps(row, sort_keys=True, default=str))


def arrow_schema(warehouse, table: str) -> pa.Schema:
    with warehouse.session() as session:
        return session.fetch_arrow(f"select * from {ML_SCHEMA}.{table} limit 0").schema


def same_type(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Equal types; DuckDB spells the UTC time zone of a timestamptz as Etc/UTC."""
    if pa.types.is_timestamp(actual) and pa.types.is_timestamp(expected):
        return actual.unit == expected.unit and actual.tz in ("UTC", "Etc/UTC") and expected.tz == "UTC"
    return actual == expected


def segment_results(warehouse, run_id: str) -> dict[str, list[dict]]:
    return {table: rows(warehouse, table, run_id) for table in RESULT_TABLES}


def test_a_run_writes_every_ml_table(warehouse):
    load_population(warehouse)
    printed: list[str] = []

    run_id = cluster_customers(warehouse, FAST, echo=printed.append)

    for table, schema in ML_TABLES.items():
        actual = arrow_schema(warehouse, table)
        assert actual.names == schema.names, table
        assert all(same_type(a.type, e.type) for a, e in zip(actual, schema, strict=True)), (table, actual)
    [run] = rows(warehouse, "segmentation_runs")
    assert run["run_id"] == run_id
    assert run["status"] == "succeeded"
    assert (run["population_size"], run["sample_size"], run["error_message"]) == (CUSTOMERS, 500, None)
    assert run["started_at"] <= run["finished_at"]
    assert run["finished_at"].utcoffset() == dt.timedelta(0)
    assert json.loads(run["parameters"]) == dataclasses.asdict(FAST)

    results = segment_results(warehouse, run_id)
    axes = {row["axis_name"]: row for row in results["segment_axes"]}
    assert list(axes) == sorted(axis.name for axis in AXES)
    segments = sum(row["segment_count"] for row in axes.values())
    assert len(results["segment_definitions"]) == len(results["segment_robustness"]) == segments
    assert len(results["segment_feature_scaling"]) == len(feature_names())
    assert len(results["segment_centroids"]) == sum(
        axes[axis.name]["segment_count"] * len(axis.features) for axis in AXES
    )
    for axis in AXES:
        definitions = sorted(
            (row for row in results["segment_definitions"] if row["axis_name"] == axis.name),
            key=lambda row: row["segment_id"],
        )
        assert [row["segment_id"] for row in definitions] == list(
            range(1, axes[axis.name]["segment_count"] + 1)
        )
        assert sum(row["sample_customers"] for row in definitions) == 500
        assert sum(row["sample_share"] for row in definitions) == pytest.approx(1.0)
        assert set(json.loads(axes[axis.name]["silhouette_by_k"])) <= {"2", "3", "4"}
    assert {row["bootstrap_stability"] for row in results["segment_robustness"]} <= set(
        BOOTSTRAP_STABILITY_LEVELS
    )
    assert any("sample drawn: 500 of 600 customers" in line for line in printed)
    assert sum(f"[{len(AXES)}/{len(AXES)}]" in line for line in printed) == 1
    assert run_id in printed[-1]


def test_a_rerun_gives_the_same_segments_under_a_new_run_id(warehouse):
    load_population(warehouse)

    first = cluster_customers(warehouse, FAST, echo=lambda line: None)
    second = cluster_customers(warehouse, FAST, echo=lambda line: None)

    assert first != second
    assert re.fullmatch(r"seg_\d{8}T\d{6}_[0-9a-f]{8}", first)
    assert segment_results(warehouse, first) == segment_results(warehouse, second)


def test_a_run_failing_mid_write_leaves_the_previous_run_intact(warehouse, monkeypatch):
    load_population(warehouse)
    good = cluster_customers(warehouse, FAST, echo=lambda line: None)
    before = {table: rows(warehouse, table) for table in RESULT_TABLES}
    write_for_real = job._append_rows

    def fail_after_the_first_table(session, table_name, table):
        if table_name == "segment_feature_scaling":
            raise OSError("disk full\nsecond line of detail")
        write_for_real(session, table_name, table)

    monkeypatch.setattr(job, "_append_rows", fail_after_the_first_table)
    with pytest.raises(OSError, match="disk full"):
        cluster_customers(warehouse, FAST, echo=lambda line: None)

    runs = {row["run_id"]: row for row in rows(warehouse, "segmentation_runs")}
    [failed] = [run for run_id, run in runs.items() if run_id != good]
    assert runs[good]["status"] == "succeeded"
    assert failed["status"] == "failed"
    assert failed["error_message"] == "OSError: disk full"
    assert failed["finished_at"] is not None
    assert failed["sample_size"] is None
    assert {table: rows(warehouse, table) for table in RESULT_TABLES} == before


def test_a_run_that_cannot_read_its_input_is_marked_failed(warehouse):
    with pytest.raises(Exception, match="customer_profiles"):
        cluster_customers(warehouse, FAST, echo=lambda line: None)

    [run] = rows(warehouse, "segmentation_runs")
    assert run["status"] == "failed"
    assert "customer_profiles" in run["error_message"]
    with warehouse.session() as session:
        assert not any(session.table_exists(ML_SCHEMA, table) for table in RESULT_TABLES)


def test_a_run_without_customers_fails_with_a_plain_reason(duckdb_warehouse):
    load_population(duckdb_warehouse, customers=1)

    with pytest.raises(ValueError, match="too few to segment"):
        cluster_customers(duckdb_warehouse, FAST, echo=lambda line: None)

    [run] = rows(duckdb_warehouse, "segmentation_runs")
    assert (run["status"], run["population_size"]) == ("failed", None)
    assert run["error_message"] == (
        "ValueError: 1 customer(s) with features: too few to segment (the segmentation needs at least 50)"
    )


def test_a_population_under_the_minimum_is_refused_with_its_size(duckdb_warehouse):
    # Before: 3 customers "succeeded" with k = 2, and a one-segment axis reported robustness 1.00.
    load_population(duckdb_warehouse, customers=49)

    with pytest.raises(
        ValueError, match=r"^49 customer\(s\) with features: too few to segment \(.*at least 50\)$"
    ):
        cluster_customers(duckdb_warehouse, FAST, echo=lambda line: None)
    [run] = rows(duckdb_warehouse, "segmentation_runs")
    assert run["status"] == "failed"

    load_population(duckdb_warehouse, customers=50)
    run_id = cluster_customers(duckdb_warehouse, FAST, echo=lambda line: None)
    assert rows(duckdb_warehouse, "segmentation_runs", run_id)[0]["status"] == "succeeded"


def test_an_axis_whose_customers_all_look_alike_is_reported_not_clustered(duckdb_warehouse):
    load_population(duckdb_warehouse)
    with duckdb_warehouse.session() as session:
        session.execute("update marts.customer_features set tenure_days = 5, days_since_first_order = 3")
    printed: list[str] = []

    run_id = cluster_customers(duckdb_warehouse, FAST, echo=printed.append)

    [axis] = [
        row
        for row in rows(duckdb_warehouse, "segment_axes", run_id)
        if row["axis_name"] == "customer_maturity"
    ]
    assert (axis["axis_status"], axis["segment_count"], axis["silhouette"]) == ("no_variation", 0, None)
    assert axis["placeable_sample_customers"] == 500
    for table in (
        "segment_definitions",
        "segment_centroids",
        "segment_robustness",
        "segment_feature_scaling",
    ):
        assert not [
            row for row in rows(duckdb_warehouse, table, run_id) if row["axis_name"] == "customer_maturity"
        ]
    assert any("customer_maturity: not clustered" in line and "no_variation" in line for line in printed)


def test_customers_without_the_data_an_axis_needs_take_no_part_in_its_fit(duckdb_warehouse):
    # 500 of 600 customers opened no ticket; 580 never visited the web site (20 left: too few to segment).
    load_population(duckdb_warehouse, lacking={"has_tickets": 500, "has_web_visits": 580})

    run_id = cluster_customers(
        duckdb_warehouse, dataclasses.replace(FAST, sample_size=600), echo=lambda _: None
    )

    axes = {row["axis_name"]: row for row in rows(duckdb_warehouse, "segment_axes", run_id)}
    definitions = rows(duckdb_warehouse, "segment_definitions", run_id)
    placed = {
        name: sum(row["sample_customers"] for row in definitions if row["axis_name"] == name)
        for name in ("communication_preference", "problem_complexity", "purchase_value")
    }
    assert placed == {"communication_preference": 100, "problem_complexity": 100, "purchase_value": 600}
    assert axes["communication_preference"]["placeable_sample_customers"] == 100
    assert (axes["product_knowledge"]["axis_status"], axes["product_knowledge"]["segment_count"]) == (
        "too_few_customers",
        0,
    )
    assert axes["purchase_value"]["axis_status"] == "clustered"


def test_worker_processes_give_the_same_result_as_one_process(duckdb_warehouse):
    load_population(duckdb_warehouse)

    in_process = cluster_customers(duckdb_warehouse, FAST, echo=lambda line: None)
    pooled = cluster_customers(duckdb_warehouse, dataclasses.replace(FAST, workers=2), echo=lambda line: None)

    assert segment_results(duckdb_warehouse, in_process) == segment_results(duckdb_warehouse, pooled)


def test_run_job_runs_the_default_parameters_on_the_context_warehouse(duckdb_warehouse, monkeypatch):
    monkeypatch.delenv("SEGMENTS_BOOTSTRAP_RESAMPLES", raising=False)
    seen = {}

    def record_the_call(warehouse, params, echo):
        seen.update(warehouse=warehouse, params=params, echo=echo)
        return "seg_x"

    monkeypatch.setattr(job, "cluster_customers", record_the_call)
    context = JobContext(warehouse=duckdb_warehouse, dbt_vars={}, echo=print)

    assert job.run_job(context) == "seg_x"
    assert seen == {"warehouse": duckdb_warehouse, "params": ClusteringParameters(), "echo": print}
    assert job.JOB_NAME == "cluster_customers"


def test_a_build_run_takes_its_bootstrap_resamples_from_the_environment(monkeypatch):
    monkeypatch.setenv("SEGMENTS_BOOTSTRAP_RESAMPLES", " 3 ")
    assert job.build_parameters() == ClusteringParameters(bootstrap_resamples=3)
    monkeypatch.setenv("SEGMENTS_BOOTSTRAP_RESAMPLES", "")
    assert job.build_parameters() == ClusteringParameters()
    for bad, said in (("three", "is not a whole number"), ("0", "bootstrap_resamples must be at least 1")):
        monkeypatch.setenv("SEGMENTS_BOOTSTRAP_RESAMPLES", bad)
        with pytest.raises(ValueError, match=said):
            job.build_parameters()


def test_a_run_whose_process_died_is_marked_abandoned_by_the_next_run(warehouse):
    """A 'running' row whose process is gone (a real process, SIGKILLed) is abandoned, with the reason; a
    running row of a live process (this one) is left alone; the heartbeat moved while the axes were fitted."""
    import os
    import signal
    import subprocess
    import sys

    from python_jobs.warehouse.run_owner import ProcessOwner, process_started_at

    load_population(warehouse)
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    victim_started = process_started_at(victim.pid)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    old = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    dead = ProcessOwner(ProcessOwner.current().host, victim.pid, victim_started)
    live = ProcessOwner.current()
    with warehouse.session() as session:
        for run_id, owner in (("seg_dead", dead), ("seg_live", live)):
            row = {
                "run_id": run_id, "started_at": old, "finished_at": None, "status": "running",
                "parameters": "{}", "population_size": None, "sample_size": None, "error_message": None,
                **owner.columns(old),
            }  # fmt: skip
            session.append_table(
                ML_SCHEMA, "segmentation_runs", pa.Table.from_pylist([row], ML_TABLES["segmentation_runs"])
            )

    printed: list[str] = []
    run_id = cluster_customers(warehouse, FAST, echo=printed.append)

    runs = {row["run_id"]: row for row in rows(warehouse, "segmentation_runs")}
    assert runs["seg_dead"]["status"] == "abandoned"
    assert f"pid {victim.pid}" in runs["seg_dead"]["error_message"]
    assert any("seg_dead marked abandoned" in line for line in printed)
    assert runs["seg_live"]["status"] == "running"
    assert runs[run_id]["status"] == "succeeded"
    assert runs[run_id]["owner_pid"] == os.getpid()
    assert runs[run_id]["heartbeat_at"] > runs[run_id]["started_at"]


def test_the_built_warehouse_names_no_majority_segment_as_an_extreme(built):
    """The generated shop built by `segments build`: a segment holding most customers is central, so it takes
    no first or last rung (the demo's 82% `minimal_value` on purchase value was the rank naming's k = 2 rule)."""
    with built.warehouse.session() as session:
        summary = session.fetch_arrow(
            "select axis_name, segment_name, customer_share from marts.segment_summary"
        ).to_pylist()
    extremes = {
        axis.name: {axis.naming.names[0], axis.naming.names[-1]}
        for axis in AXES
        if isinstance(axis.naming, Ladder)
    }
    majorities = [row for row in summary if row["customer_share"] > 0.5 and row["axis_name"] in extremes]

    assert any(row["axis_name"] == "purchase_value" for row in majorities)
    for row in majorities:
        base = row["segment_name"]
        assert not any(base == name or base.startswith(f"{name}_") for name in extremes[row["axis_name"]]), (
            row
        )


def test_the_built_summary_shows_explicit_segments_and_judges_feature_stability(built):
    with built.warehouse.session(read_only=True) as session:
        summary = session.fetch_arrow(
            "select axis_name, segment_name, customers, is_clustered, is_viable, not_viable_because, "
            "feature_drop_agreement from marts.segment_summary"
        ).to_pylist()
        one_purchase_day = session.fetchone(
            "select count(*) from marts.customer_features where has_orders and not has_repeat_purchase"
        )[0]

    cadence = {row["segment_name"]: row for row in summary if row["axis_name"] == "purchase_cadence"}
    assert cadence["one_time_buyer"]["customers"] == one_purchase_day > 0
    assert cadence["one_time_buyer"]["is_clustered"] is False
    for row in summary:
        if not row["is_clustered"]:
            assert (row["is_viable"], row["not_viable_because"]) == (None, None), row
            continue
        unstable = row["feature_drop_agreement"] is not None and row["feature_drop_agreement"] < 0.3
        assert ("feature stability under 0.3" in (row["not_viable_because"] or "")) == unstable, row
