"""marts.experiment_segment_performance and marts.experiment_alerts on the demo experiments, on DuckDB and
PostgreSQL: figures against the job's `ml` tables and against scipy's Wilson interval, alerts against what the
rules select when applied here by hand."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from scipy.stats import binomtest

from python_jobs.experiments.definitions import EXPERIMENT_ALERT_TYPES
from python_jobs.warehouse.connection import Warehouse

pytestmark = pytest.mark.xdist_group("experiment_models")

MARTS_YML = (
    Path(__file__).resolve().parents[3] / "models" / "marts" / "experiments" / "_experiments__models.yml"
)
MIN_SAMPLES = 30  # the hero banner's min_samples_per_segment in the demo warehouse (conftest)
LATEST_RUNS = """
select run_id, experiment_id from (
    select run_id, experiment_id,
        row_number() over (partition by experiment_id order by computed_at desc, run_id desc) as recency
    from ml.experiment_weight_runs
) as runs where recency = 1
"""


def fetch(warehouse: Warehouse, sql: str) -> list[dict]:
    with warehouse.session(read_only=True) as session:
        return session.fetch_arrow(sql).to_pylist()


def test_alert_types_are_the_definitions():
    [mart] = [m for m in yaml.safe_load(MARTS_YML.read_text())["models"] if m["name"] == "experiment_alerts"]
    [column] = [c for c in mart["columns"] if c["name"] == "alert_type"]
    assert tuple(column["data_tests"][0]["accepted_values"]["arguments"]["values"]) == EXPERIMENT_ALERT_TYPES


def test_segment_performance_figures(demo_warehouse):
    found = fetch(demo_warehouse, "select * from marts.experiment_segment_performance")
    latest = fetch(
        demo_warehouse,
        "select weights.experiment_id, weights.segment_key, weights.variant_id, weights.weight, "
        "posteriors.probability_best from ml.experiment_weights as weights "
        f"inner join ({LATEST_RUNS}) as latest on weights.run_id = latest.run_id "
        "inner join ml.experiment_posteriors as posteriors on weights.run_id = posteriors.run_id "
        "and weights.segment_key = posteriors.segment_key and weights.variant_id = posteriors.variant_id",
    )
    in_force = {(r["experiment_id"], r["segment_key"], r["variant_id"]): r for r in latest}
    totals = defaultdict(lambda: [0, 0])
    for row in found:
        totals[row["experiment_id"]][0] += row["assignments"]
        totals[row["experiment_id"]][1] += row["conversions"]
    assert len(found) > 40
    for row in found:
        where = (row["experiment_id"], row["segment_key"], row["variant_id"])
        weights = in_force.get(where) or in_force[(row["experiment_id"], "all", row["variant_id"])]
        assert row["current_weight"] == pytest.approx(weights["weight"], abs=1e-12), where
        assert row["probability_best"] == pytest.approx(weights["probability_best"], abs=1e-12), where
        assert row["uses_experiment_weights"] == (where not in in_force)
        experiment_rate = totals[row["experiment_id"]][1] / totals[row["experiment_id"]][0]
        assert row["experiment_conversion_rate"] == pytest.approx(experiment_rate)
        if row["assignments"] == 0:
            assert row["conversion_rate"] is None
            continue
        rate = row["conversions"] / row["assignments"]
        interval = binomtest(row["conversions"], row["assignments"]).proportion_ci(0.95, method="wilson")
        assert row["conversion_rate"] == pytest.approx(rate)
        # scipy uses the exact normal quantile 1.95996…, the mart 1.96.
        assert row["conversion_rate_lower_95"] == pytest.approx(interval.low, abs=2e-4), where
        assert row["conversion_rate_upper_95"] == pytest.approx(interval.high, abs=2e-4), where
        assert row["lift_vs_experiment"] == pytest.approx(rate / experiment_rate - 1)


def test_alerts_are_what_the_rules_select(demo_warehouse):
    alerts = fetch(demo_warehouse, "select * from marts.experiment_alerts")
    performance = fetch(demo_warehouse, "select * from marts.experiment_segment_performance")
    segments = defaultdict(lambda: [0, 0, 0.0])
    for row in performance:
        counts = segments[(row["experiment_id"], row["segment_key"])]
        counts[0] += row["assignments"]
        counts[1] += row["conversions"]
        counts[2] = row["experiment_conversion_rate"]
    low = {
        key
        for key, (assigned, converted, experiment_rate) in segments.items()
        if key[1] != "all" and assigned >= MIN_SAMPLES and converted / assigned < experiment_rate / 2
    }
    assert low, "the demo has segments converting under half the hero banner's rate (bots never convert)"
    assert {
        (a["experiment_id"], a["segment_key"]) for a in alerts if a["alert_type"] == "low_converting_segment"
    } == low
    mismatches = fetch(
        demo_warehouse,
        "select checks.experiment_id, checks.segment_key, checks.assigned_on from "
        f"ml.experiment_sample_ratio_checks as checks inner join ({LATEST_RUNS}) as latest "
        "on checks.run_id = latest.run_id where checks.p_value < 0.001 and checks.is_testable",
    )
    assert {
        (a["experiment_id"], a["segment_key"], a["alert_on"])
        for a in alerts
        if a["alert_type"] == "sample_ratio_mismatch"
    } == {(m["experiment_id"], m["segment_key"], m["assigned_on"]) for m in mismatches}
    assert all(a["message"] for a in alerts)
