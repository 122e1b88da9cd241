"""The tables the customer clustering job writes to schema `ml`, defined once.

Every row carries the `run_id` of the run that wrote it; a run's rows are written in one transaction together with
its `segmentation_runs` row marked `succeeded`, so dbt (which reads the latest succeeded run) never sees half a
run. dbt declares these tables as the source `ml` (models/staging/ml/_ml__sources.yml); a test keeps the two in
step.
"""

from __future__ import annotations

import pyarrow as pa

ML_SCHEMA = "ml"

_TS = pa.timestamp("us", tz="UTC")

ML_TABLES: dict[str, pa.Schema] = {
    # One row per run, written at the start ("running") and updated at the end ("succeeded" or "failed").
    "segmentation_runs": pa.schema(
        [
            ("run_id", pa.string()),
            ("started_at", _TS),
            ("finished_at", _TS),
            ("status", pa.string()),
            ("parameters", pa.string()),  # JSON: sample size, k range, seed, resamples...
            ("population_size", pa.int64()),
            ("sample_size", pa.int64()),
            ("error_message", pa.string()),
        ]
    ),
    # One row per run and axis: the chosen k and how well the axis separates.
    "segment_axes": pa.schema(
        [
            ("run_id", pa.string()),
            ("axis_name", pa.string()),
            ("segment_count", pa.int64()),
            ("silhouette", pa.float64()),
            ("is_silhouette_poor", pa.bool_()),
            ("silhouette_by_k", pa.string()),  # JSON: {"2": 0.41, "3": 0.38, ...}
            ("feature_drop_agreement", pa.float64()),
            ("time_window_agreement", pa.float64()),
        ]
    ),
    # One row per run, axis and feature: the standardisation the centroids live in.
    "segment_feature_scaling": pa.schema(
        [
            ("run_id", pa.string()),
            ("axis_name", pa.string()),
            ("feature_name", pa.string()),
            ("feature_mean", pa.float64()),
            ("feature_scale", pa.float64()),
        ]
    ),
    # One row per run, axis and segment.
    "segment_definitions": pa.schema(
        [
            ("run_id", pa.string()),
            ("axis_name", pa.string()),
            ("segment_id", pa.int64()),
            ("segment_name", pa.string()),
            ("defining_features", pa.string()),  # plain words, e.g. "average_order_value far above average"
            ("sample_customers", pa.int64()),
            ("sample_share", pa.float64()),
        ]
    ),
    # One row per run, axis, segment and feature: the centroid in the standardised space.
    "segment_centroids": pa.schema(
        [
            ("run_id", pa.string()),
            ("axis_name", pa.string()),
            ("segment_id", pa.int64()),
            ("feature_name", pa.string()),
            ("centroid_value", pa.float64()),
        ]
    ),
    # One row per run, axis and segment: how well the segment survives resampling and perturbation.
    "segment_robustness": pa.schema(
        [
            ("run_id", pa.string()),
            ("axis_name", pa.string()),
            ("segment_id", pa.int64()),
            ("bootstrap_jaccard", pa.float64()),
            ("bootstrap_stability", pa.string()),  # unstable | doubtful | stable | highly_stable
            ("feature_drop_agreement", pa.float64()),
            ("time_window_agreement", pa.float64()),
            ("overall_robustness", pa.float64()),
        ]
    ),
}

RUN_STATUSES = ("running", "succeeded", "failed")
BOOTSTRAP_STABILITY_LEVELS = ("unstable", "doubtful", "stable", "highly_stable")
