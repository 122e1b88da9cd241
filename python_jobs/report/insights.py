"""The actionability section's rows, from `marts.segment_insights` (written by `segments run explain-segments`).

The mart is built by another capability (python_jobs.insights); its column names are listed once here, in
INSIGHT_COLUMNS, so a renamed column is a one-line change. Before the mart exists the report says so and tells
how to make it (NO_INSIGHTS).
"""

from __future__ import annotations

import json
from typing import Any

from python_jobs.report.values import plain
from python_jobs.warehouse.connection import Session

NO_INSIGHTS = "no insights yet: run `segments run explain-segments`"
SCORES = ("what_score", "when_score", "how_score", "who_score")
# The document's key -> the mart's column.
INSIGHT_COLUMNS = {
    "axis_name": "axis_name",
    "segment_name": "segment_name",
    "what_score": "what_score",
    "when_score": "when_score",
    "how_score": "how_score",
    "who_score": "who_score",
    "verdict": "verdict",
    "reason": "reason",
    "summary": "summary",
    "recommendations": "recommendations",
    "expected_roi": "expected_roi",
    "confidence": "confidence",
}
ACTIONABLE_VERDICT = "actionable"


def _recommendations(value: Any) -> list[Any]:
    """The recommendations column as a list, whether the warehouse hands back JSON text or a parsed value."""
    if value is None:
        return []
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, list) else [value]


def read(session: Session, schema: str) -> list[dict[str, Any]] | None:
    """One row per axis and segment, scores as integers; None when the mart does not exist."""
    if not session.table_exists(schema, "segment_insights"):
        return None
    selected = ", ".join(f"{column} as {key}" for key, column in INSIGHT_COLUMNS.items())
    rows = session.fetch_arrow(
        f"select {selected} from {schema}.segment_insights order by axis_name, segment_name"
    ).to_pylist()
    insights = []
    for row in rows:
        row = {key: plain(value) for key, value in row.items()}
        row["recommendations"] = _recommendations(row["recommendations"])
        for score in SCORES:
            row[score] = None if row[score] is None else int(row[score])
        row["is_actionable"] = str(row["verdict"]).lower() == ACTIONABLE_VERDICT
        insights.append(row)
    return insights
