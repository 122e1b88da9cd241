"""Auto clustering of an experiment, on DuckDB and PostgreSQL: refused under 1,000 assignments with the count,
trained on a small hand-made experiment of three obvious groups, its visitors assigned to clusters in SQL exactly
as Python's nearest-centroid assigns them from the stored rows, described in words, the `cluster_experiments`
job idempotent, and the weights of an experiment in auto mode learnt per cluster."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from python_jobs.experiments.clustering import (
    ClusteringError,
    Feature,
    cluster_auto_experiments,
    cluster_experiment,
    encode,
    nearest_centroid,
)
from python_jobs.experiments.config import change_config
from python_jobs.experiments.visitor_allocation import allocate_visitor
from python_jobs.experiments.weights_job import update_weights
from python_jobs.warehouse.dbt_runner import run_dbt
from python_jobs.warehouse.ml_tables import ML_SCHEMA

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile "
    "Safari/537.36"
)
# Instagram on iPhones in the evening, Google on Windows in the morning, newsletter readers on Android at night.
GROUPS = [("instagram", IPHONE, 20), ("google", WINDOWS, 9), ("newsletter", ANDROID, 2)]
COUNTRIES = ("fr", "de", "us", "es")
DAY = dt.datetime(2026, 6, 3, tzinfo=dt.UTC)


def raw_rows() -> dict[str, list[dict]]:
    rng = np.random.default_rng(3)
    experiments = [
        {"experiment_id": e, "experiment_name": e, "experiment_status": "running"} for e in ("big", "small")
    ]
    assignments = []
    for experiment_id, visitors in (("big", 1_200), ("small", 999)):
        for i in range(visitors):
            source, agent, hour = GROUPS[i % 3]
            context = {"utm_source": source, "user_agent": agent, "country_code": str(rng.choice(COUNTRIES))}
            assignments.append(
                {
                    "experiment_id": experiment_id,
                    "variant_id": "AB"[i % 2],
                    "visitor_id": f"{experiment_id}{i:05d}",
                    "assigned_at": DAY + dt.timedelta(days=int(rng.integers(0, 7)), hours=hour),
                    "channel": "web",
                    "context": json.dumps(context),
                }
            )
    variants = [
        {"experiment_id": e, "variant_id": v, "variant_name": v} for e in ("big", "small") for v in "AB"
    ]
    return {
        "experiments": experiments,
        "experiment_variants": variants,
        "experiment_assignments": assignments,
    }


def fetch(warehouse, sql: str, params=None) -> list[tuple]:
    with warehouse.session(read_only=True) as session:
        return session.fetchall(sql, params)


def test_clusters_assigned_in_sql_as_in_python_and_learnt_per_cluster(
    warehouse, write_experiment_tables, build_experiment_models
):
    write_experiment_tables(warehouse, **raw_rows())
    build_experiment_models(warehouse)

    with pytest.raises(ClusteringError, match="'small' has 999 assignments; clustering needs at least 1,000"):
        cluster_experiment(warehouse, "small", echo=lambda _line: None)

    # The job trains the experiments in auto mode whose assignments changed since their latest model: once.
    change_config(warehouse, "big", changed_by="cli", mode="auto")
    [version] = cluster_auto_experiments(warehouse, echo=lambda _line: None)
    assert cluster_auto_experiments(warehouse, echo=lambda _line: None) == []
    clusters = ["source:ml.experiment_cluster_models+", "source:ml.experiment_clusters+"]
    # The config in force too: `big` is in auto mode since the build.
    run = run_dbt(
        ["build", "--select", *clusters, "int_experiment_segmentation_config_current+"],
        target=warehouse.target,
    )
    assert run.ok, run.problem_summary()

    in_sql = dict(
        fetch(warehouse, "select visitor_id, cluster_id from intermediate.int_experiment_cluster_assignments")
    )
    # Python, from the rows the model was stored as: the encoding, the centroids, the contexts.
    features = [
        Feature(field, encoding, value, center, scale)
        for field, encoding, value, center, scale in fetch(
            warehouse,
            f"select field, encoding, field_value, center, scale from {ML_SCHEMA}.experiment_cluster_features "
            "where model_version = ? order by feature_index",
            [version],
        )
    ]
    centroid_rows = fetch(
        warehouse,
        f"select cluster_id, feature_index, centroid_value from {ML_SCHEMA}.experiment_cluster_centroids "
        "where model_version = ?",
        [version],
    )
    centroids = np.zeros((max(row[0] for row in centroid_rows) + 1, len(features)))
    for cluster_id, feature_index, value in centroid_rows:
        centroids[cluster_id, feature_index] = value
    with warehouse.session(read_only=True) as session:
        columns = session.fetch_arrow(
            "select * from intermediate.int_experiment_assignment_outcomes where experiment_id = 'big' "
            "order by visitor_id"
        ).to_pydict()
    in_python = dict(
        zip(columns["visitor_id"], nearest_centroid(encode(columns, features), centroids), strict=True)
    )
    assert len(in_sql) == 1_200
    assert in_sql == {visitor: int(cluster) for visitor, cluster in in_python.items()}

    # Three groups, three clusters, each told by what sets it apart.
    described = dict(
        fetch(
            warehouse,
            "select visitor_id, cluster_description from intermediate.int_experiment_cluster_assignments "
            "where visitor_id in ('big00000', 'big00001', 'big00002')",
        )
    )
    assert len(centroids) == 3
    assert "instagram" in described["big00000"]
    assert "google" in described["big00001"]
    assert "newsletter" in described["big00002"]

    # The weights of `big` (auto) are learnt per cluster: one segment per cluster, with the cluster's own counts;
    # `small` (disabled) stays one pooled segment.
    [big_run, small_run] = update_weights(warehouse, echo=lambda _line: None)
    assert (big_run.experiment_id, small_run.experiment_id) == ("big", "small")
    assert small_run.segment_keys == ("all",)
    expected = {}
    for visitor, cluster in in_python.items():
        key = (f"cluster:{int(cluster)}", "AB"[int(visitor[3:]) % 2])
        expected[key] = expected.get(key, 0) + 1
    posteriors = fetch(
        warehouse,
        f"select segment_key, variant_id, assignments, learns_from_experiment from {ML_SCHEMA}.experiment_posteriors "
        "where run_id = ? and segment_key != 'all'",
        [big_run.run_id],
    )
    assert {(segment, variant): assigned for segment, variant, assigned, _pooled in posteriors} == expected
    assert not any(pooled for *_rest, pooled in posteriors)  # 400 visitors a cluster: each learns on its own

    # A new visitor is allocated under the key the weights were learnt under: the cluster their context falls in.
    for twin in ("big00000", "big00001", "big00002"):
        [(context, assigned_at)] = fetch(
            warehouse,
            "select context, assigned_at from raw.experiment_assignments where visitor_id = ?",
            [twin],
        )
        if assigned_at.tzinfo is None:
            assigned_at = assigned_at.replace(tzinfo=dt.UTC)
        allocation = allocate_visitor(warehouse, "big", f"new-{twin}", "web", context, now=assigned_at)
        assert allocation.segment_key == f"cluster:{in_sql[twin]}"
        assert allocation.weights_from == f"weight run {big_run.run_id}"
