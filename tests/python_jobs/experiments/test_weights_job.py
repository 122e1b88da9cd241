"""The update_experiment_weights job on the demo experiments (generated small), built for real by dbt around the
jobs, on DuckDB and PostgreSQL: the counts it learns from against counts made here from the raw tables, one run
per experiment, the same weights from the same data and seed, nothing written on failure.

The demo warehouse (conftest) is built once per target for the package; the tests that write leave it as they
found it or only add runs that later tests do not count."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
import yaml

from python_jobs.experiments import tables
from python_jobs.experiments.tables import EXPERIMENT_ML_TABLES
from python_jobs.experiments.weights_job import WeightUpdateError, update_weights
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.jobs import JOBS
from python_jobs.warehouse.raw_tables import RAW_SCHEMA

pytestmark = pytest.mark.xdist_group("experiment_models")

MODELS = Path(__file__).resolve().parents[3] / "models"
SEGMENTED = "exp_hero_banner"  # segmented by source and device in the demo warehouse (conftest)


def rows(warehouse: Warehouse, sql: str) -> list[tuple]:
    with warehouse.session(read_only=True) as session:
        return session.fetchall(sql)


def raw_counts(warehouse: Warehouse) -> tuple[Counter, Counter]:
    """(experiment, variant) -> assigned visitors, and -> visitors converted at or after their assignment,
    counted here from the raw tables."""
    with warehouse.session(read_only=True) as session:
        assignments = session.fetch_arrow(f"select * from {RAW_SCHEMA}.experiment_assignments").to_pylist()
        conversions = session.fetch_arrow(f"select * from {RAW_SCHEMA}.experiment_conversions").to_pylist()
    assigned = {(a["experiment_id"], a["visitor_id"]): a for a in assignments}
    converted = {
        (c["experiment_id"], c["visitor_id"])
        for c in conversions
        if (c["experiment_id"], c["visitor_id"]) in assigned
        and c["converted_at"] >= assigned[(c["experiment_id"], c["visitor_id"])]["assigned_at"]
    }
    counts = Counter((a["experiment_id"], a["variant_id"]) for a in assignments)
    conversion_counts = Counter((e, assigned[(e, v)]["variant_id"]) for e, v in converted)
    return counts, conversion_counts


LATEST_RUNS = """
select run_id, experiment_id from (
    select run_id, experiment_id,
        row_number() over (partition by experiment_id order by computed_at desc, run_id desc) as recency
    from ml.experiment_weight_runs
) as runs where recency = 1
"""


def test_the_job_is_registered_under_the_name_dbt_gives_it():
    exposures = yaml.safe_load((MODELS / "intermediate/experiments/_experiments__exposures.yml").read_text())[
        "exposures"
    ]
    [exposure] = [e for e in exposures if e["name"] == "update_experiment_weights"]
    assert exposure["config"]["meta"]["segments_job"] in JOBS
    assert exposure["depends_on"] == ["ref('int_experiment_segment_counts')"]


def test_ml_sources_have_the_columns_the_job_writes():
    [source] = [
        s
        for s in yaml.safe_load((MODELS / "staging/ml/_ml__sources.yml").read_text())["sources"]
        if s["name"] == "ml"
    ]
    declared = {table["name"]: table for table in source["tables"]}
    for name, schema in EXPERIMENT_ML_TABLES.items():
        assert [column["name"] for column in declared[name]["columns"]] == schema.names, name
        assert declared[name]["config"]["meta"] == {"segments_job": "update_experiment_weights"}


def test_experiment_wide_counts_are_the_raw_counts(demo_warehouse):
    assigned, converted = raw_counts(demo_warehouse)
    found = rows(
        demo_warehouse,
        f"select posteriors.experiment_id, variant_id, assignments, conversions from ml.experiment_posteriors "
        f"as posteriors inner join ({LATEST_RUNS}) as latest on posteriors.run_id = latest.run_id "
        "where segment_key = 'all'",
    )
    assert {(e, v): a for e, v, a, _c in found} == dict(assigned)
    assert {(e, v): c for e, v, _a, c in found if c} == dict(converted)
    assert sum(converted.values()) > 0


def test_one_run_per_experiment_segments_as_configured(demo_warehouse):
    latest = {e: r for r, e in rows(demo_warehouse, LATEST_RUNS)}
    experiments = {e for (e,) in rows(demo_warehouse, f"select experiment_id from {RAW_SCHEMA}.experiments")}
    assert set(latest) == experiments
    segments = rows(
        demo_warehouse,
        "select experiment_id, segment_key, count(*), sum(weight) from ml.experiment_weights "
        f"where run_id in ({', '.join(repr(r) for r in latest.values())}) group by experiment_id, segment_key",
    )
    # Unsegmented experiments have the experiment-wide weights only.
    assert {e for e, key, _n, _total in segments if key != "all"} == {SEGMENTED}
    hero_keys = [key for e, key, _n, _total in segments if e == SEGMENTED and key != "all"]
    assert len(hero_keys) > 3
    assert all(key.startswith("source:") and "|device:" in key for key in hero_keys)
    assert all(abs(total - 1) < 1e-9 for _e, _key, _n, total in segments)


def test_same_data_and_seed_give_the_same_weights(demo_warehouse):
    first = update_weights(demo_warehouse, experiment_ids=[SEGMENTED], seed=5, echo=lambda _line: None)
    second = update_weights(demo_warehouse, experiment_ids=[SEGMENTED], seed=5, echo=lambda _line: None)
    [first_run], [second_run] = first, second
    assert first_run.run_id != second_run.run_id

    def weights(run_id: str) -> list[tuple]:
        return rows(
            demo_warehouse,
            "select segment_key, variant_id, weight from ml.experiment_weights "
            f"where run_id = '{run_id}' order by segment_key, variant_id",
        )

    assert weights(first_run.run_id) == weights(second_run.run_id)
    assert len(weights(first_run.run_id)) > 0
    # A different seed moves some weight (Monte Carlo noise), so the test above is not trivially true.
    [other] = update_weights(demo_warehouse, experiment_ids=[SEGMENTED], seed=6, echo=lambda _line: None)
    assert weights(other.run_id) != weights(first_run.run_id)


def test_a_failed_write_leaves_the_runs_as_they_were(demo_warehouse, monkeypatch):
    before = rows(demo_warehouse, "select count(*) from ml.experiment_weights")
    original = tables._append

    def failing_at_the_runs(session, table, data):
        if table == tables.RUNS_TABLE:
            raise RuntimeError("disk full")
        original(session, table, data)

    monkeypatch.setattr(tables, "_append", failing_at_the_runs)
    with pytest.raises(RuntimeError, match="disk full"):
        update_weights(demo_warehouse, echo=lambda _line: None)
    assert rows(demo_warehouse, "select count(*) from ml.experiment_weights") == before


def test_an_unknown_experiment_is_named(demo_warehouse):
    with pytest.raises(WeightUpdateError, match="no assignments for experiment 'nope'"):
        update_weights(demo_warehouse, experiment_ids=["nope"], echo=lambda _line: None)


def test_computed_at_is_recorded(demo_warehouse):
    at = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    [run] = update_weights(demo_warehouse, experiment_ids=[SEGMENTED], now=at, echo=lambda _line: None)
    [(computed_at,)] = rows(
        demo_warehouse, f"select computed_at from ml.experiment_weight_runs where run_id = '{run.run_id}'"
    )
    assert computed_at.astimezone(dt.UTC) == at


def test_every_update_checks_every_day_of_its_experiment(demo_warehouse):
    assigned, _converted = raw_counts(demo_warehouse)
    found = rows(
        demo_warehouse,
        "select checks.experiment_id, sum(checks.assignments), count(*), sum(case when checks.is_testable "
        "then 1 else 0 end) from ml.experiment_sample_ratio_checks as checks "
        f"inner join ({LATEST_RUNS}) as latest on checks.run_id = latest.run_id "
        "where checks.segment_key = 'all' group by checks.experiment_id",
    )
    per_experiment = Counter()
    for (experiment_id, _variant), count in assigned.items():
        per_experiment[experiment_id] += count
    assert {e: int(total) for e, total, _days, _testable in found} == dict(per_experiment)
    assert all(14 <= days <= 15 for _e, _total, days, _testable in found)  # 14 UTC days, in local time
    assert sum(int(testable) for *_rest, testable in found) > 0
