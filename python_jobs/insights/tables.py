"""The `ml` tables the segment insights job writes, defined once (dbt declares them as sources of `ml`).

A run writes its run row and all its insight rows in ONE transaction, so dbt (which reads the latest succeeded
run) never sees half a run; a failed run leaves only a `failed` run row.
"""

from __future__ import annotations

import pyarrow as pa

RUNS_TABLE = "segment_insight_runs"
INSIGHTS_TABLE = "segment_insights"

_TS = pa.timestamp("us", tz="UTC")

INSIGHT_TABLES: dict[str, pa.Schema] = {
    # One row per run: what it explained, with which model, and what it cost.
    RUNS_TABLE: pa.schema(
        [
            ("run_id", pa.string()),
            ("started_at", _TS),
            ("finished_at", _TS),
            ("status", pa.string()),  # succeeded | failed
            ("segmentation_run_id", pa.string()),
            ("llm_config", pa.string()),  # JSON: provider, model, concurrency... (never a key)
            ("segments", pa.int64()),
            ("provider_calls", pa.int64()),  # attempts sent to the provider, invalid ones included
            ("cache_hits", pa.int64()),
            ("input_tokens", pa.int64()),
            ("output_tokens", pa.int64()),
            ("tokens_estimated", pa.bool_()),
            ("error_message", pa.string()),
        ]
    ),
    # One row per run, axis and segment.
    INSIGHTS_TABLE: pa.schema(
        [
            ("run_id", pa.string()),
            ("segmentation_run_id", pa.string()),
            ("axis_name", pa.string()),
            ("segment_id", pa.int64()),
            ("segment_name", pa.string()),
            ("is_clustered", pa.bool_()),
            ("what_score", pa.int64()),
            ("when_score", pa.int64()),
            ("how_score", pa.int64()),
            ("who_score", pa.int64()),
            ("is_actionable", pa.bool_()),
            ("actionability_reason", pa.string()),
            ("executive_summary", pa.string()),
            ("recommendations", pa.string()),  # JSON array of {"channel", "timing", "offer"}
            ("expected_roi", pa.float64()),
            ("expected_roi_assumption", pa.string()),
            ("confidence", pa.string()),  # low | medium | high
            ("confidence_reason", pa.string()),
            ("is_offline", pa.bool_()),
            ("llm_model", pa.string()),
            ("cache_hit", pa.bool_()),
            ("archive_file", pa.string()),  # the archived answer, relative to the archive root
            ("explained_at", _TS),
        ]
    ),
}
