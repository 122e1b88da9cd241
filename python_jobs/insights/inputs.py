"""What the model is told about each segment: aggregates read from three dbt models, never a customer row.

`read_segment_facts` reads marts.segment_summary (size, share, value, predicted CLV, ROI, robustness,
viability, what defines the centroid) and the two insight models that aggregate customer_profiles and
customer_features per segment (opt-in and order habits; the mixes of categories, weekdays, hours and channels).
Numbers are rounded to what a marketer reads: that also keeps the last digits of a float sum, which depend on
the order a database adds in, out of the prompt, so unchanged aggregates give the same prompt and a cache hit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from python_jobs.warehouse.connection import Warehouse

SUMMARY_QUERY = (
    "select axis_name, segment_id, segment_name, is_clustered, customers, customer_share, "
    "average_lifetime_value, average_clv_365d, total_clv_365d, expected_roi, defining_features, "
    "is_axis_silhouette_poor, bootstrap_stability, overall_robustness, is_viable, not_viable_because, "
    "segmentation_run_id from marts.segment_summary order by axis_name, segment_name"
)
PROFILES_QUERY = (
    "select axis_name, segment_name, marketing_opt_in_share, average_orders, average_order_value, "
    "average_days_since_last_purchase, average_churn_risk, discounted_item_share, weekend_order_share, "
    "email_ticket_share, chat_ticket_share, phone_ticket_share "
    "from intermediate.int_segment_insight_profiles"
)
MIXES_QUERY = (
    "select axis_name, segment_name, mix_kind, mix_value, mix_share from intermediate.int_segment_insight_mixes "
    "where mix_rank <= ? order by axis_name, segment_name, mix_kind, mix_rank"
)
# How many values of each mix the model sees.
TOP_VALUES = {
    "product_category": 3,
    "order_weekday": 2,
    "order_hour": 3,
    "sales_channel": 3,
    "acquisition_channel": 3,
}
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
PROJECT_FILE = Path(__file__).resolve().parents[2] / "dbt_project.yml"
CAMPAIGN_VARS = {
    "uplift_rate": "segment_campaign_uplift_rate",
    "contact_cost_per_customer": "segment_contact_cost_per_customer",
}


@dataclass(frozen=True)
class SegmentKey:
    """Which row of the mart an insight belongs to (kept out of the facts: the model needs no ids)."""

    axis_name: str
    segment_id: int | None
    segment_name: str
    is_clustered: bool


@dataclass(frozen=True)
class SegmentFacts:
    key: SegmentKey
    facts: dict[str, Any]


@dataclass(frozen=True)
class InsightInputs:
    segmentation_run_id: str | None
    segments: list[SegmentFacts]


def campaign_assumption(dbt_vars: dict[str, Any] | None = None) -> dict[str, float]:
    """The campaign vars segment_summary's expected_roi was computed with: the project's, as the build passed them."""
    project_vars = yaml.safe_load(PROJECT_FILE.read_text()).get("vars", {})
    merged = {**project_vars, **(dbt_vars or {})}
    return {name: float(merged[var]) for name, var in CAMPAIGN_VARS.items()}


def read_segment_facts(warehouse: Warehouse, dbt_vars: dict[str, Any] | None = None) -> InsightInputs:
    """Every segment of the latest clustering run with the facts its prompt carries."""
    with warehouse.session(read_only=True) as session:
        if not session.table_exists("marts", "segment_summary"):
            return InsightInputs(None, [])
        summary = session.fetch_arrow(SUMMARY_QUERY).to_pylist()
        profiles = session.fetch_arrow(PROFILES_QUERY).to_pylist()
        mixes = session.fetch_arrow(MIXES_QUERY, [max(TOP_VALUES.values())]).to_pylist()
    if not summary:
        return InsightInputs(None, [])
    profile_of = {(row["axis_name"], row["segment_name"]): row for row in profiles}
    mixes_of: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in mixes:
        mixes_of[(row["axis_name"], row["segment_name"], row["mix_kind"])].append(row)
    population_clv = _population_average_clv(summary)
    assumption = campaign_assumption(dbt_vars)
    segments = []
    for row in summary:
        key = SegmentKey(row["axis_name"], row["segment_id"], row["segment_name"], bool(row["is_clustered"]))
        facts = _facts(row, profile_of.get((key.axis_name, key.segment_name), {}), assumption)
        facts["population_average_clv_365d"] = _round(population_clv.get(key.axis_name), 2)
        for kind, limit in TOP_VALUES.items():
            facts.update(_mix(kind, mixes_of[(key.axis_name, key.segment_name, kind)][:limit]))
        segments.append(SegmentFacts(key, facts))
    return InsightInputs(summary[0]["segmentation_run_id"], segments)


def _facts(summary: dict[str, Any], profile: dict[str, Any], assumption: dict[str, float]) -> dict[str, Any]:
    clustered = bool(summary["is_clustered"])
    facts: dict[str, Any] = {
        "axis": summary["axis_name"],
        "segment": summary["segment_name"],
        "is_clustered": clustered,
        "defining_features": summary["defining_features"],
        "customers": int(summary["customers"]),
        "customer_share": _round(summary["customer_share"], 4),
        "average_lifetime_value": _round(summary["average_lifetime_value"], 2),
        "average_clv_365d": _round(summary["average_clv_365d"], 2),
        "total_clv_365d": _round(summary["total_clv_365d"], 0),
        "expected_roi": _round(summary["expected_roi"], 3),
        "campaign_assumption": assumption,
    }
    if clustered:
        facts.update(
            {
                "overall_robustness": _round(summary["overall_robustness"], 2),
                "bootstrap_stability": summary["bootstrap_stability"],
                "is_axis_silhouette_poor": bool(summary["is_axis_silhouette_poor"]),
                "is_viable": bool(summary["is_viable"]),
                "not_viable_because": summary["not_viable_because"],
            }
        )
    for name in (
        "marketing_opt_in_share",
        "average_churn_risk",
        "discounted_item_share",
        "weekend_order_share",
        "email_ticket_share",
        "chat_ticket_share",
        "phone_ticket_share",
    ):
        facts[name] = _round(profile.get(name), 3)
    facts["average_orders"] = _round(profile.get("average_orders"), 2)
    facts["average_order_value"] = _round(profile.get("average_order_value"), 2)
    facts["average_days_since_last_purchase"] = _round(profile.get("average_days_since_last_purchase"), 0)
    return facts


def _mix(kind: str, rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    if kind == "product_category":
        return {
            "top_categories": [{"category": r["mix_value"], "share": _round(r["mix_share"], 3)} for r in rows]
        }
    if kind == "order_weekday":
        return {
            "preferred_weekdays": [
                {"day": WEEKDAYS[int(r["mix_value"])], "share": _round(r["mix_share"], 3)} for r in rows
            ]
        }
    if kind == "order_hour":
        return {
            "preferred_hours": [
                {"hour": int(r["mix_value"]), "share": _round(r["mix_share"], 3)} for r in rows
            ]
        }
    name = "sales_channels" if kind == "sales_channel" else "acquisition_channels"
    return {name: [{"channel": r["mix_value"], "share": _round(r["mix_share"], 3)} for r in rows]}


def _population_average_clv(summary: list[dict[str, Any]]) -> dict[str, float]:
    """Per axis (each axis splits all customers): the average customer's predicted CLV."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in summary:
        totals[row["axis_name"]][0] += float(row["total_clv_365d"] or 0)
        totals[row["axis_name"]][1] += float(row["customers"] or 0)
    return {axis: clv / customers for axis, (clv, customers) in totals.items() if customers}


def _round(value: Any, digits: int) -> float | None:
    if value is None:
        return None
    rounded = round(float(value), digits)
    return int(rounded) if digits == 0 else rounded
