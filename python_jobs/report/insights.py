"""The actionability section's rows, from `marts.segment_insights` (written by `segments run explain-segments`).

The mart is built by another capability (the insights job); the columns the report reads are listed once here,
in INSIGHT_COLUMNS, and the document uses the mart's own names. Before the mart exists the report says so and
tells how to make it (NO_INSIGHTS).
"""

from __future__ import annotations

import json
from typing import Any

from python_jobs.report.values import plain
from python_jobs.warehouse.connection import Session

NO_INSIGHTS = "no insights yet: run `segments run explain-segments`"
SCORES = ("what_score", "when_score", "how_score", "who_score")
INSIGHT_COLUMNS = (
    "axis_name",
    "segment_name",
    "is_clustered",
    *SCORES,
    "is_actionable",
    "actionability_reason",
    "executive_summary",
    "recommendations",
    "expected_roi",
    "expected_roi_assumption",
    "confidence",
    "confidence_reason",
    "is_offline",
)


def _recommendations(value: Any) -> list[Any]:
    """The recommendations column (a JSON array) as a list, whether the warehouse hands back text or a value."""
    if value is None:
        return []
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, list) else [value]


def read(session: Session, schema: str) -> list[dict[str, Any]] | None:
    """One row per axis and segment, in the mart's column names; None when the mart does not exist."""
    if not session.table_exists(schema, "segment_insights"):
        return None
    rows = session.fetch_arrow(
        f"select {', '.join(INSIGHT_COLUMNS)} from {schema}.segment_insights order by axis_name, segment_name"
    ).to_pylist()
    insights = []
    for row in rows:
        row = {key: plain(value) for key, value in row.items()}
        row["recommendations"] = _recommendations(row["recommendations"])
        for score in SCORES:
            row[score] = None if row[score] is None else int(row[score])
        insights.append(row)
    return insights
