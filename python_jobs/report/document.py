"""The report's data: the whole latest segmentation as one JSON document, read from the marts' aggregates.

Every query here reads a mart of aggregates (segment_summary, product_segment_summary, the experiment marts,
segment_insights) or asks the warehouse for one aggregate (the population and the data's end date), so the
report costs the same for a thousand customers or a million: it never reads customer rows into Python.

The document (`segments report --json`), schema version 1; numbers are JSON numbers, dates ISO 8601 strings,
and a section whose mart does not exist yet is `null`:

    {
      "schema_version": 1,
      "generated_at": "2026-11-27T21:00:00+00:00",
      "segmentation_run_id": "seg_...",              # the run marts.segment_summary shows
      "data_end_date": "2026-06-30",                  # marts.customer_profiles' observation_end
      "overview": {"customers", "axes", "segments", "viable_segments",
                   "actionable_segments"},            # actionable_segments is null without insights
      "axes": [{"axis_name", "silhouette", "is_silhouette_poor",
                "segments": [{"segment_id", "segment_name", "customers", "customer_share",
                              "average_lifetime_value", "average_clv_365d", "total_clv_365d",
                              "defining_features", "overall_robustness", "bootstrap_stability",
                              "is_clustered", "is_viable", "not_viable_because"}]}],
      "insights": null | [{"axis_name", "segment_name", "is_clustered", "what_score", "when_score",
                           "how_score", "who_score",                    # 1 to 5
                           "is_actionable", "actionability_reason", "executive_summary",
                           "recommendations",                           # [{"channel", "timing", "offer"}]
                           "expected_roi", "expected_roi_assumption",  # a ratio: 0.5 is 50 %
                           "confidence", "confidence_reason", "is_offline"}],  # marts.segment_insights
      "product_taxonomy": null | [{"category", "run_id", "run_finished_at", "products",
                                   "segments": [{"segment_name", "segment_definition", "product_count",
                                                 "product_share", "is_out_of_scope", "is_unassigned"}]}],
      "experiments": null | {"performance": [{"experiment_id", "segment_key", "variant_id", "assignments",
                                              "conversions", "conversion_rate", "lift_vs_experiment",
                                              "probability_best", "current_weight"}],
                             "open_recommendations": [{"experiment_id", "recommended_mode", "segment_by",
                                                       "expected_lift", "reason", "recommended_at"}],
                             "alerts": [{"experiment_id", "alert_type", "segment_key", "alert_on",
                                         "message"}]}
    }

Unclustered explicit segments (`no_orders`, ...) appear with is_clustered false and null robustness.
`segments report --import FILE` reads such a document back (see python_jobs.report.comparison).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from python_jobs.report import insights
from python_jobs.report.values import plain
from python_jobs.warehouse.connection import Session, Warehouse

SCHEMA_VERSION = 1
MARTS = "marts"

SEGMENT_COLUMNS = (
    "segment_id",
    "segment_name",
    "customers",
    "customer_share",
    "average_lifetime_value",
    "average_clv_365d",
    "total_clv_365d",
    "defining_features",
    "overall_robustness",
    "bootstrap_stability",
    "is_clustered",
    "is_viable",
    "not_viable_because",
)
PERFORMANCE_COLUMNS = (
    "experiment_id",
    "segment_key",
    "variant_id",
    "assignments",
    "conversions",
    "conversion_rate",
    "lift_vs_experiment",
    "probability_best",
    "current_weight",
)
RECOMMENDATION_COLUMNS = (
    "experiment_id",
    "recommended_mode",
    "segment_by",
    "expected_lift",
    "reason",
    "recommended_at",
)
ALERT_COLUMNS = ("experiment_id", "alert_type", "segment_key", "alert_on", "message")


class NoSegmentationError(LookupError):
    """The warehouse has no segmentation to report on (no built marts.segment_summary, or an empty one)."""


def _rows(session: Session, sql: str) -> list[dict[str, Any]]:
    return [
        {name: plain(value) for name, value in row.items()} for row in session.fetch_arrow(sql).to_pylist()
    ]


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(names)


def read_axes(session: Session) -> tuple[str, list[dict[str, Any]]]:
    """The latest run's id and its axes, each with its segments (clustered first, by id, then explicit ones)."""
    rows = _rows(
        session,
        f"select axis_name, axis_silhouette, is_axis_silhouette_poor, segmentation_run_id, "
        f"{_columns(SEGMENT_COLUMNS)} from {MARTS}.segment_summary "
        f"order by axis_name, is_clustered desc, segment_id, segment_name",
    )
    if not rows:
        raise NoSegmentationError("marts.segment_summary is empty: run `segments build` first")
    axes: dict[str, dict[str, Any]] = {}
    for row in rows:
        axis = axes.setdefault(
            row["axis_name"],
            {"axis_name": row["axis_name"], "silhouette": None, "is_silhouette_poor": None, "segments": []},
        )
        if row["is_clustered"]:
            axis["silhouette"] = row["axis_silhouette"]
            axis["is_silhouette_poor"] = row["is_axis_silhouette_poor"]
        axis["segments"].append({name: row[name] for name in SEGMENT_COLUMNS})
    run_ids = {row["segmentation_run_id"] for row in rows if row["segmentation_run_id"]}
    return (sorted(run_ids)[-1] if run_ids else None), list(axes.values())


def read_population(session: Session) -> tuple[int, str | None]:
    """How many customers the profiles hold and the date they are computed as of: two aggregates."""
    customers, end = session.fetchone(
        f"select count(*), max(observation_end) from {MARTS}.customer_profiles"
    ) or (0, None)
    return int(customers), plain(end)


def read_product_taxonomy(session: Session) -> list[dict[str, Any]] | None:
    """The latest done run's taxonomy of each category, with product counts; None before the mart is built."""
    if not session.table_exists(MARTS, "product_segment_summary"):
        return None
    rows = _rows(
        session,
        f"select category, run_id, run_finished_at, run_total_products, segment_name, segment_definition, "
        f"product_count, product_share, is_out_of_scope, is_unassigned from {MARTS}.product_segment_summary "
        f"order by category, is_out_of_scope, is_unassigned, product_count desc, segment_name",
    )
    categories: dict[str, dict[str, Any]] = {}
    for row in rows:
        category = categories.setdefault(
            row["category"],
            {
                "category": row["category"],
                "run_id": row["run_id"],
                "run_finished_at": row["run_finished_at"],
                "products": row["run_total_products"],
                "segments": [],
            },
        )
        category["segments"].append(
            {
                name: row[name]
                for name in (
                    "segment_name",
                    "segment_definition",
                    "product_count",
                    "product_share",
                    "is_out_of_scope",
                    "is_unassigned",
                )
            }
        )
    return list(categories.values())


def read_experiments(session: Session) -> dict[str, Any] | None:
    """Per-segment performance and weights, open recommendations and alerts; None when there are no
    experiments (or their marts are not built)."""
    needed = ("experiment_segment_performance", "segmentation_recommendations", "experiment_alerts")
    if not all(session.table_exists(MARTS, table) for table in needed):
        return None
    performance = _rows(
        session,
        f"select {_columns(PERFORMANCE_COLUMNS)} from {MARTS}.experiment_segment_performance "
        f"order by experiment_id, segment_key, variant_id",
    )
    if not performance:
        return None
    return {
        "performance": performance,
        "open_recommendations": _rows(
            session,
            f"select {_columns(RECOMMENDATION_COLUMNS)} from {MARTS}.segmentation_recommendations "
            f"where is_latest and status = 'pending' order by experiment_id",
        ),
        "alerts": _rows(
            session,
            f"select {_columns(ALERT_COLUMNS)} from {MARTS}.experiment_alerts "
            f"order by alert_on desc, experiment_id, alert_type, segment_key",
        ),
    }


def collect(warehouse: Warehouse, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The whole document, read in one read-only session."""
    if not _summary_exists(warehouse):
        raise NoSegmentationError(
            f"no segmentation in {warehouse.describe()}: marts.segment_summary is not built; run "
            f"`segments build` first"
        )
    with warehouse.session(read_only=True) as session:
        run_id, axes = read_axes(session)
        customers, data_end = read_population(session)
        segment_insights = insights.read(session, MARTS)
        taxonomy = read_product_taxonomy(session)
        experiments = read_experiments(session)
    segments = [segment for axis in axes for segment in axis["segments"]]
    actionable = (
        None if segment_insights is None else sum(1 for row in segment_insights if row["is_actionable"])
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "segmentation_run_id": run_id,
        "data_end_date": data_end,
        "overview": {
            "customers": customers,
            "axes": len(axes),
            "segments": len(segments),
            "viable_segments": sum(1 for segment in segments if segment["is_viable"]),
            "actionable_segments": actionable,
        },
        "axes": axes,
        "insights": segment_insights,
        "product_taxonomy": taxonomy,
        "experiments": experiments,
    }


def _summary_exists(warehouse: Warehouse) -> bool:
    if warehouse.kind == "duckdb" and not warehouse.duckdb_path.exists():
        return False
    with warehouse.session(read_only=True) as session:
        return session.table_exists(MARTS, "segment_summary")


def to_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
