"""The `fit_clv` job on real built warehouses (DuckDB and PostgreSQL): what reaches the marts, and that a failed
fit leaves the previous one in force."""

from __future__ import annotations

import numpy as np
import pytest

from python_jobs.clv import job as clv_job
from python_jobs.clv.models import (
    BetaGeoParameters,
    CLVFitError,
    GammaGammaParameters,
    expected_purchases,
    expected_spend_per_purchase,
    probability_alive,
)
from python_jobs.warehouse.build import DbtStep, JobStep, plan_build
from python_jobs.warehouse.dbt_runner import load_manifest, run_dbt
from python_jobs.warehouse.jobs import JobContext

CUSTOMER_COLUMNS = (
    "customer_id, rfm_frequency, rfm_recency_days, rfm_age_days, "
    "cast(rfm_monetary_value as double precision) as rfm_monetary_value, probability_alive, churn_risk, "
    "expected_purchases_365d, expected_spend_per_purchase, clv_365d, clv_run_id"
)


def _latest_fit(session) -> tuple[str, BetaGeoParameters, GammaGammaParameters]:
    row = session.fetch_arrow(
        "select * from ml.clv_models where status = 'succeeded' order by fitted_at desc limit 1"
    ).to_pylist()[0]
    bgnbd = BetaGeoParameters(row["r"], row["alpha"], row["a"], row["b"], 0.0, True, row["customers"])
    gamma_gamma = GammaGammaParameters(row["p"], row["q"], row["v"], 0.0, True, row["gamma_gamma_customers"])
    return row["run_id"], bgnbd, gamma_gamma


def _profiles(session, where: str = "rfm_frequency is not null") -> list[dict]:
    return session.fetch_arrow(
        f"select {CUSTOMER_COLUMNS} from marts.customer_profiles where {where} order by customer_id"
    ).to_pylist()


def test_the_mart_holds_the_python_functions_predictions(built):
    with built.warehouse.session(read_only=True) as session:
        run_id, bgnbd, gamma_gamma = _latest_fit(session)
        profiles = _profiles(session)
        no_purchase = session.fetchone(
            "select count(*), count(probability_alive) from marts.customer_profiles where rfm_frequency is null"
        )
    assert no_purchase[0] > 0
    assert no_purchase[1] == 0, "customers without a purchase get no prediction"
    # The first customers and the most frequent buyers: single-day, repeat and heavy customers alike.
    chosen = profiles[:20] + sorted(profiles, key=lambda row: -row["rfm_frequency"])[:5]
    assert {row["rfm_frequency"] == 0 for row in chosen} == {True, False}
    x = np.array([row["rfm_frequency"] for row in chosen], dtype=float)
    t_x = np.array([row["rfm_recency_days"] for row in chosen], dtype=float)
    t = np.array([row["rfm_age_days"] for row in chosen], dtype=float)
    m = np.array([row["rfm_monetary_value"] if row["rfm_frequency"] > 0 else np.nan for row in chosen])
    alive = probability_alive(bgnbd, x, t_x, t)
    purchases = expected_purchases(bgnbd, 365, x, t_x, t)
    spend = expected_spend_per_purchase(gamma_gamma, x, np.where(x > 0, np.maximum(m, 0), np.nan))
    for i, row in enumerate(chosen):
        assert row["clv_run_id"] == run_id
        assert row["probability_alive"] == pytest.approx(alive[i], rel=1e-9)
        assert row["churn_risk"] == pytest.approx(1 - alive[i], abs=1e-9)
        assert row["expected_purchases_365d"] == pytest.approx(purchases[i], rel=1e-9)
        assert row["expected_spend_per_purchase"] == pytest.approx(spend[i], rel=1e-9)
        assert row["clv_365d"] == pytest.approx(purchases[i] * spend[i], rel=1e-9)
    single_day = [row for row in chosen if row["rfm_frequency"] == 0]
    assert all(row["probability_alive"] == 1.0 for row in single_day)
    assert all(
        row["expected_spend_per_purchase"] == pytest.approx(gamma_gamma.population_mean_spend)
        for row in single_day
    )


def test_segment_summary_judges_segments_on_their_predicted_clv(built):
    with built.warehouse.session(read_only=True) as session:
        rows = session.fetch_arrow(
            "select summary.axis_name, summary.segment_id, summary.total_clv_365d, summary.average_clv_365d, "
            "summary.customers, summary.not_viable_because, "
            "sum(coalesce(profiles.clv_365d, 0)) as expected_total "
            "from marts.segment_summary as summary "
            "inner join marts.customer_segments as segments on true "
            "inner join marts.customer_profiles as profiles on segments.customer_id = profiles.customer_id "
            "where summary.axis_name = 'purchase_value' "
            "and segments.purchase_value = summary.segment_name "
            "group by 1, 2, 3, 4, 5, 6"
        ).to_pylist()
    assert rows
    for row in rows:
        assert row["total_clv_365d"] == pytest.approx(row["expected_total"], rel=1e-9)
        if row["segment_id"] is None:  # an explicit segment (no orders): counted, but given no verdict
            assert row["not_viable_because"] is None
            continue
        # Customers without a prediction count as 0 in the mean.
        assert row["average_clv_365d"] == pytest.approx(row["expected_total"] / row["customers"], rel=1e-9)
        under = row["total_clv_365d"] < 1000
        assert ("total predicted CLV" in (row["not_viable_because"] or "")) == under


def test_expected_roi_is_left_out_where_no_customer_has_a_prediction(built):
    """The CLV model needs a completed order: a segment without one has nothing for a campaign to lift, and a
    return of -100% (the contact cost lost) would read as "never contact them". Expected values by hand from the
    documented formula (uplift 5%, contact cost 2.0, the project's vars)."""
    with built.warehouse.session(read_only=True) as session:
        rows = session.fetch_arrow(
            "select summary.axis_name, summary.segment_name, summary.expected_roi, summary.average_clv_365d, "
            "count(profiles.clv_365d) as predicted "
            "from marts.segment_summary as summary "
            "inner join marts.customer_segments as segments on true "
            "inner join marts.customer_profiles as profiles on segments.customer_id = profiles.customer_id "
            "where summary.axis_name = 'purchase_value' and segments.purchase_value = summary.segment_name "
            "group by 1, 2, 3, 4"
        ).to_pylist()
    by_name = {row["segment_name"]: row for row in rows}
    assert by_name["no_orders"]["predicted"] == 0
    assert by_name["no_orders"]["expected_roi"] is None
    clustered = [row for name, row in by_name.items() if name != "no_orders"]
    assert clustered
    for row in clustered:
        assert row["predicted"] > 0
        assert row["expected_roi"] == pytest.approx((0.05 * row["average_clv_365d"] - 2.0) / 2.0, rel=1e-9)


def test_a_failed_fit_leaves_the_previous_one_in_force(built_copy):
    warehouse = built_copy.warehouse
    target = "local" if warehouse.kind == "duckdb" else "postgres"
    with warehouse.session(read_only=True) as session:
        before_run, _, _ = _latest_fit(session)
        before = {row["customer_id"]: row for row in _profiles(session)}
    # Data with no repeat purchase at all cannot support a BG/NBD fit.
    with warehouse.session() as session:
        session.execute(
            "update intermediate.int_customers_rfm_aggregated "
            "set rfm_frequency = 0, rfm_recency_days = 0, rfm_monetary_value = 0"
        )
    messages: list[str] = []
    with pytest.raises(CLVFitError, match="repeat purchase"):
        clv_job.fit_clv(warehouse, echo=messages.append)
    assert any("failed: CLVFitError" in message for message in messages)
    with warehouse.session(read_only=True) as session:
        failed = session.fetch_arrow(
            "select run_id, status, error_message, r from ml.clv_models where run_id <> ?", [before_run]
        ).to_pylist()
        failed_predictions = session.fetchone(
            "select count(*) from ml.customer_clv_predictions where run_id = ?", [failed[0]["run_id"]]
        )[0]
    assert [(row["status"], row["r"]) for row in failed] == [("failed", None)]
    assert "at least one customer with a repeat purchase" in failed[0]["error_message"]
    assert failed_predictions == 0

    # In `segments build` the same data is a warning, not a stop: the profiles and segments are still built.
    warnings: list[str] = []
    assert clv_job.run_job(JobContext(warehouse=warehouse, dbt_vars={}, echo=warnings.append)) is None
    assert any("WARN the CLV models were not fitted" in line for line in warnings)

    dbt_run = run_dbt(
        ["build", "--select", "source:ml.clv_models+", "--exclude", "source:ml.segmentation_runs+"],
        target=target,
    )
    assert dbt_run.ok
    with warehouse.session(read_only=True) as session:
        after = {row["customer_id"]: row for row in _profiles(session)}
    assert {row["clv_run_id"] for row in after.values()} == {before_run}
    for customer_id, row in after.items():
        assert row["expected_purchases_365d"] == before[customer_id]["expected_purchases_365d"]
        assert row["clv_365d"] == before[customer_id]["clv_365d"]


def test_a_write_that_fails_writes_no_prediction(built_copy, monkeypatch):
    warehouse = built_copy.warehouse

    def failing_append(session, predictions):
        session.append_table("ml", clv_job.PREDICTIONS_TABLE, predictions)
        raise RuntimeError("disk full")

    monkeypatch.setattr(clv_job, "_append_predictions", failing_append)
    with pytest.raises(RuntimeError, match="disk full"):
        clv_job.fit_clv(warehouse, echo=lambda _: None)
    with warehouse.session(read_only=True) as session:
        run = session.fetch_arrow(
            "select run_id, status from ml.clv_models order by started_at desc limit 1"
        ).to_pylist()[0]
        written = session.fetchone(
            "select count(*) from ml.customer_clv_predictions where run_id = ?", [run["run_id"]]
        )[0]
    assert run["status"] == "failed"
    assert written == 0


def test_the_build_runs_fit_clv_after_the_rfm_model_and_before_the_clustering(duckdb_warehouse):
    steps = plan_build(load_manifest("local"))
    jobs = [step for step in steps if isinstance(step, JobStep)]
    names = [job.job for job in jobs]
    assert names[0] == "fit_clv"
    assert names.index("fit_clv") < names.index("cluster_customers")
    assert "model.segment_warehouse.int_customers_rfm_aggregated" in jobs[0].reads
    assert set(jobs[0].writes) == {
        "source.segment_warehouse.ml.clv_models",
        "source.segment_warehouse.ml.customer_clv_predictions",
    }
    first = steps[0]
    after_fit = next(s for s in steps if isinstance(s, DbtStep) and "source:ml.clv_models+" in s.select)
    assert "source:ml.clv_models+" in first.exclude
    assert "source:ml.clv_models+" in after_fit.select
    assert "source:ml.segmentation_runs+" in after_fit.exclude


def test_the_ml_source_declares_the_columns_the_job_writes():
    import yaml

    from python_jobs.warehouse.dbt_runner import PROJECT_ROOT
    from python_jobs.warehouse.ml_tables import CLV_TABLES

    sources = yaml.safe_load((PROJECT_ROOT / "models" / "staging" / "ml" / "_ml__sources.yml").read_text())
    tables = {table["name"]: table for table in sources["sources"][0]["tables"]}
    for name, schema in CLV_TABLES.items():
        assert [column["name"] for column in tables[name]["columns"]] == schema.names, name
        assert tables[name]["config"]["meta"] == {"segments_job": clv_job.JOB_NAME}
