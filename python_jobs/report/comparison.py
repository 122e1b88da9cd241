"""`segments report --import FILE`: a document of an earlier run read back, and what changed since.

Segments are matched by axis and name (ids are per run; names are what a marketer knows a segment by). A
segment is *new* when the earlier document has no segment of that name on that axis, *vanished* when the current
one has none, and *resized* when its share of customers moved by at least RESIZED_SHARE_POINTS percentage points.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from python_jobs.report.document import SCHEMA_VERSION

# A move of a segment's share of customers, in percentage points, that counts as a resize.
RESIZED_SHARE_POINTS = 1.0


class ImportedDocumentError(ValueError):
    """The file is not a report document this version can read; the message says why."""


def load_document(path: Path) -> dict[str, Any]:
    """A `segments report --json` document from PATH, checked for the parts the comparison reads."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ImportedDocumentError(f"cannot read {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ImportedDocumentError(f"{path} is not JSON: {error}") from None
    if not isinstance(document, dict) or "schema_version" not in document:
        raise ImportedDocumentError(f"{path} is not a `segments report --json` document (no schema_version)")
    if document["schema_version"] != SCHEMA_VERSION:
        raise ImportedDocumentError(
            f"{path} has schema_version {document['schema_version']!r}; this version reads {SCHEMA_VERSION}"
        )
    axes = document.get("axes")
    if not isinstance(axes, list):
        raise ImportedDocumentError(f"{path}: `axes` is missing or not a list")
    for position, axis in enumerate(axes):
        segments = axis.get("segments") if isinstance(axis, dict) else None
        if not isinstance(axis, dict) or "axis_name" not in axis or not isinstance(segments, list):
            raise ImportedDocumentError(f"{path}: axes[{position}] lacks axis_name or a list of segments")
        for index, segment in enumerate(segments):
            if not isinstance(segment, dict) or not {"segment_name", "customers", "customer_share"} <= set(
                segment
            ):
                raise ImportedDocumentError(
                    f"{path}: axes[{position}].segments[{index}] lacks segment_name, customers or customer_share"
                )
    return document


def _segments_by_key(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (axis["axis_name"], segment["segment_name"]): segment
        for axis in document["axes"]
        for segment in axis["segments"]
    }


def compare(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """New, vanished and resized segments of CURRENT against PREVIOUS, each list ordered by axis and name."""
    before = _segments_by_key(previous)
    after = _segments_by_key(current)

    def entry(key: tuple[str, str], segment: dict[str, Any]) -> dict[str, Any]:
        return {
            "axis_name": key[0],
            "segment_name": key[1],
            "customers": segment["customers"],
            "customer_share": segment["customer_share"],
        }

    resized = []
    for key in sorted(before.keys() & after.keys()):
        old, new = before[key], after[key]
        # Rounded so that a move of exactly one point is one point, whatever the floats' last bits say.
        moved = round((new["customer_share"] - old["customer_share"]) * 100, 6)
        if abs(moved) >= RESIZED_SHARE_POINTS:
            resized.append(
                {
                    "axis_name": key[0],
                    "segment_name": key[1],
                    "previous_customers": old["customers"],
                    "customers": new["customers"],
                    "previous_share": old["customer_share"],
                    "customer_share": new["customer_share"],
                    "share_points_moved": round(moved, 2),
                }
            )
    return {
        "previous_run_id": previous.get("segmentation_run_id"),
        "previous_generated_at": previous.get("generated_at"),
        "previous_data_end_date": previous.get("data_end_date"),
        "new": [entry(key, after[key]) for key in sorted(after.keys() - before.keys())],
        "vanished": [entry(key, before[key]) for key in sorted(before.keys() - after.keys())],
        "resized": resized,
    }
