"""The SQL assignment (int_customers_assigned_to_segments) equals the Python nearest-centroid reference.

Runs the real dbt models on DuckDB and on PostgreSQL (and on Spark in the Spark leg) over a features table and a
segment model written straight into the warehouse: every axis gets a different k (2 to 6, so unused centroid
slots are exercised), one customer sits exactly between two centroids (the tie must go to the lowest segment id),
and an older succeeded run and a newer failed run are present to show that only the latest succeeded run counts.
A quarter of the customers lack some data (their flags false, the features that need it NULL), and one axis of
the latest run was not clustered: those customers get explicit segments by the same rule in SQL and in
`segments assign`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from python_jobs.definitions import (
    AXES,
    AXIS_CLUSTERED,
    AXIS_NO_VARIATION,
    FEATURES,
    MAX_SEGMENTS_PER_AXIS,
    REQUIREMENTS,
    feature_names,
)
from python_jobs.segmentation.clustering import nearest_centroids
from python_jobs.segmentation.lookup import lookup_memberships, unclustered_segment
from python_jobs.warehouse.dbt_runner import run_dbt
from python_jobs.warehouse.ml_tables import ML_TABLES

CUSTOMERS = 300
TIE_CUSTOMER = "tie"
# The latest run did not cluster this axis: everyone it can place is `no_variation`.
UNCLUSTERED_AXIS = "value_sophistication"


def segment_model(
    rng: np.random.Generator,
    run_id: str,
    finished_at: dt.datetime,
    status: str,
    unclustered: str | None = None,
):
    """A random segment model: per axis k centroids, means and scales; returns rows per ml table."""
    rows: dict[str, list[dict]] = {name: [] for name in ML_TABLES}
    rows["segmentation_runs"].append(
        {
            "run_id": run_id,
            "started_at": finished_at - dt.timedelta(minutes=1),
            "finished_at": finished_at,
            "status": status,
            "parameters": "{}",
            "population_size": CUSTOMERS,
            "sample_size": CUSTOMERS,
            "error_message": None,
        }
    )
    model = {}
    for index, axis in enumerate(AXES):
        k = 2 + index % (MAX_SEGMENTS_PER_AXIS - 1)
        means = rng.normal(1.0, 0.5, len(axis.features))
        scales = rng.uniform(0.5, 2.0, len(axis.features))
        centroids = rng.normal(0.0, 1.0, (k, len(axis.features)))
        if index == 0:
            # Two centroids mirrored around the mean: a customer at the mean is exactly between them.
            centroids = np.array([[0.7] * len(axis.features), [-0.7] * len(axis.features)])
            k = 2
        model[axis.name] = (means, scales, centroids)
        names = axis.segment_names(
            [dict(zip(axis.feature_names, means + scales * c, strict=True)) for c in centroids],
            [(position + 0.5) / k for position in range(k)],  # any placement: names only label the rows here
        )
        rows["segment_axes"].append(
            {
                "run_id": run_id,
                "axis_name": axis.name,
                "segment_count": k,
                "silhouette": 0.5,
                "is_silhouette_poor": False,
                "silhouette_by_k": "{}",
                "feature_drop_agreement": 0.9,
                "time_window_agreement": 0.9,
                "axis_status": AXIS_NO_VARIATION if axis.name == unclustered else AXIS_CLUSTERED,
                "placeable_sample_customers": CUSTOMERS,
            }
        )
        if axis.name == unclustered:
            continue
        for feature, mean, scale in zip(axis.feature_names, means, scales, strict=True):
            rows["segment_feature_scaling"].append(
                {
                    "run_id": run_id,
                    "axis_name": axis.name,
                    "feature_name": feature,
                    "feature_mean": float(mean),
                    "feature_scale": float(scale),
                }
            )
        for segment in range(k):
            rows["segment_definitions"].append(
                {
                    "run_id": run_id,
                    "axis_name": axis.name,
                    "segment_id": segment + 1,
                    "segment_name": names[segment],
                    "defining_features": "",
                    "sample_customers": 1,
                    "sample_share": 1 / k,
                }
            )
            rows["segment_robustness"].append(
                {
                    "run_id": run_id,
                    "axis_name": axis.name,
                    "segment_id": segment + 1,
                    "bootstrap_jaccard": 0.9,
                    "bootstrap_stability": "highly_stable",
                    "feature_drop_agreement": 0.9,
                    "time_window_agreement": 0.9,
                    "overall_robustness": 0.9,
                }
            )
            for feature, value in zip(axis.feature_names, centroids[segment], strict=True):
                rows["segment_centroids"].append(
                    {
                        "run_id": run_id,
                        "axis_name": axis.name,
                        "segment_id": segment + 1,
                        "feature_name": feature,
                        "centroid_value": float(value),
                    }
                )
    return rows, model


@pytest.fixture
def warehouse_with_segment_models(warehouse_or_spark):
    warehouse = warehouse_or_spark
    rng = np.random.default_rng(11)
    features = {name: rng.normal(1.0, 1.5, CUSTOMERS) for name in feature_names()}
    customer_ids = [f"C{i:05d}" for i in range(CUSTOMERS)]
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    older, _ = segment_model(rng, "run_old", now - dt.timedelta(days=2), "succeeded")
    latest, model = segment_model(
        rng, "run_latest", now - dt.timedelta(days=1), "succeeded", UNCLUSTERED_AXIS
    )
    failed, _ = segment_model(rng, "run_failed", now, "failed")
    # The tie customer sits at the mean of the first axis, every other feature random.
    first_axis = AXES[0]
    means = model[first_axis.name][0]
    customer_ids.append(TIE_CUSTOMER)
    for name in feature_names():
        value = means[first_axis.feature_names.index(name)] if name in first_axis.feature_names else 1.0
        features[name] = np.append(features[name], value)
    # A quarter of the customers (not the tie customer) lack one kind of data or two; what needs it is NULL.
    flags = {requirement.flag: np.ones(len(customer_ids), dtype=bool) for requirement in REQUIREMENTS}
    for row in rng.choice(CUSTOMERS, size=CUSTOMERS // 4, replace=False):
        for requirement in rng.choice(len(REQUIREMENTS), size=rng.integers(1, 3), replace=False):
            flags[REQUIREMENTS[requirement].flag][row] = False
    columns = {}
    for feature in FEATURES:
        exists = np.logical_and.reduce(
            [flags[r.flag] for r in feature.requires] + [np.ones(len(customer_ids), bool)]
        )
        columns[feature.name] = pa.array(features[feature.name], pa.float64(), mask=~exists)
    table = pa.table({"customer_id": customer_ids, **columns, **{f: pa.array(v) for f, v in flags.items()}})
    with warehouse.session() as session:
        session.replace_table("marts", "customer_features", table)
        for name, schema in ML_TABLES.items():
            session.replace_table(
                "ml",
                name,
                pa.Table.from_pylist(older[name] + latest[name] + failed[name], schema=schema),
            )
    # The models between the clustering job's tables and the assignment (the features are written above).
    between = [f"source:ml.{name}+,+int_customers_assigned_to_segments" for name in ML_TABLES]
    outcome = run_dbt(["run", "--select", *between], target=warehouse.target)
    assert outcome.ok, "dbt run of the assignment models failed"
    return warehouse, table, model


def test_sql_assignment_equals_python_nearest_centroid(warehouse_with_segment_models):
    warehouse, features, model = warehouse_with_segment_models
    with warehouse.session() as session:
        assigned = session.fetch_arrow(
            "select customer_id, axis_name, segment_id, segment_name, is_clustered, run_id, nearest_distance, "
            "second_nearest_distance, membership_strength from intermediate.int_customers_assigned_to_segments"
        ).to_pylist()
    by_key = {(row["customer_id"], row["axis_name"]): row for row in assigned}
    assert len(by_key) == len(assigned) == features.num_rows * len(AXES)
    assert {row["run_id"] for row in assigned} == {"run_latest"}

    customer_ids = features.column("customer_id").to_pylist()
    rows = features.to_pylist()
    placed = 0
    for axis in AXES:
        status = AXIS_NO_VARIATION if axis.name == UNCLUSTERED_AXIS else AXIS_CLUSTERED
        if axis.name == UNCLUSTERED_AXIS:
            index = nearest = second = None
        else:
            means, scales, centroids = model[axis.name]
            values = np.column_stack(
                [features.column(name).to_numpy(zero_copy_only=False) for name in axis.feature_names]
            )
            index, nearest, second = nearest_centroids(values, means, scales, centroids)
        for row_number, customer_id in enumerate(customer_ids):
            row = by_key[(customer_id, axis.name)]
            explicit = unclustered_segment(axis, rows[row_number], status)
            if explicit is not None:
                assert row["segment_name"] == explicit, (customer_id, axis.name)
                assert row["segment_id"] is None
                assert row["membership_strength"] is None
                assert row["is_clustered"] is False
                continue
            placed += 1
            assert row["is_clustered"] is True
            assert row["segment_id"] == int(index[row_number]) + 1, (customer_id, axis.name)
            assert row["nearest_distance"] == pytest.approx(nearest[row_number], rel=1e-9, abs=1e-12)
            assert row["second_nearest_distance"] == pytest.approx(second[row_number], rel=1e-9, abs=1e-12)
            expected_strength = 1 - nearest[row_number] / second[row_number] if second[row_number] > 0 else 0
            assert row["membership_strength"] == pytest.approx(expected_strength, rel=1e-9, abs=1e-12)
            assert 0 <= row["membership_strength"] <= 1
    assert placed > 0.6 * len(customer_ids) * len(AXES)

    tie = by_key[(TIE_CUSTOMER, AXES[0].name)]
    assert tie["nearest_distance"] == tie["second_nearest_distance"]
    assert tie["segment_id"] == 1
    assert tie["membership_strength"] == 0


def test_customers_without_the_data_an_axis_needs_get_its_explicit_segment(warehouse_with_segment_models):
    warehouse, features, _ = warehouse_with_segment_models
    flags = features.select([r.flag for r in REQUIREMENTS]).to_pylist()
    ids = features.column("customer_id").to_pylist()
    # Hand-picked rules, written out rather than taken from the code under test.
    no_orders = next(i for i, f in enumerate(flags) if not f["has_orders"])
    one_day = next(i for i, f in enumerate(flags) if f["has_orders"] and not f["has_repeat_purchase"])
    no_tickets = next(i for i, f in enumerate(flags) if not f["has_tickets"])
    everything = next(i for i, f in enumerate(flags) if all(f.values()) and ids[i] != TIE_CUSTOMER)
    with warehouse.session() as session:
        segment = {
            tuple(key): name
            for *key, name in session.fetchall(
                "select customer_id, axis_name, segment_name from intermediate.int_customers_assigned_to_segments"
            )
        }

    assert segment[(ids[no_orders], "purchase_frequency")] == "no_orders"
    assert segment[(ids[no_orders], "purchase_cadence")] == "no_orders"  # the first requirement missed
    assert segment[(ids[one_day], "purchase_cadence")] == "one_time_buyer"
    assert segment[(ids[no_tickets], "communication_preference")] == "no_tickets"
    assert segment[(ids[everything], UNCLUSTERED_AXIS)] == "no_variation"
    assert segment[(ids[everything], "communication_preference")] not in {"no_tickets", "no_variation"}


def test_segments_assign_places_customers_by_the_same_rule_as_the_sql(warehouse_with_segment_models):
    warehouse, features, _ = warehouse_with_segment_models
    with warehouse.session() as session:
        expected = {
            (customer, axis): (name, strength)
            for customer, axis, name, strength in session.fetchall(
                "select customer_id, axis_name, segment_name, membership_strength "
                "from intermediate.int_customers_assigned_to_segments"
            )
        }

    for customer_id in features.column("customer_id").to_pylist()[:60]:
        found = lookup_memberships(warehouse, customer_id)
        assert found["segmentation_run_id"] == "run_latest"
        for axis in AXES:
            name, strength = expected[(customer_id, axis.name)]
            membership = found["memberships"][axis.name]
            assert membership["segment"] == name, (customer_id, axis.name)
            if strength is None:
                assert membership["strength"] is None
            else:
                assert membership["strength"] == pytest.approx(strength, abs=1e-4)
