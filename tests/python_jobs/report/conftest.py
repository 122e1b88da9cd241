"""Small hand-made report documents and an HTML reader for the report's tests, through the `kit` fixture (test
modules are imported in importlib mode, so they cannot import this file)."""

from __future__ import annotations

from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

import pytest


def segment(name: str, customers: int, share: float, **overrides: Any) -> dict[str, Any]:
    row = {
        "segment_id": 1,
        "segment_name": name,
        "customers": customers,
        "customer_share": share,
        "average_lifetime_value": 100.0,
        "average_clv_365d": 50.0,
        "total_clv_365d": 50.0 * customers,
        "defining_features": f"{name} features",
        "overall_robustness": 0.8,
        "bootstrap_stability": "stable",
        "is_clustered": True,
        "is_viable": True,
        "not_viable_because": None,
    }
    return {**row, **overrides}


def document(axes: dict[str, list[dict[str, Any]]], **sections: Any) -> dict[str, Any]:
    """A version-1 document with these axes ({name: segments}) and, by default, no other sections."""
    segments = [row for rows in axes.values() for row in rows]
    return {
        "schema_version": 1,
        "generated_at": "2026-11-27T12:00:00+00:00",
        "segmentation_run_id": sections.pop("run_id", "seg_test"),
        "data_end_date": "2026-06-30",
        "overview": {
            "customers": 1000,
            "axes": len(axes),
            "segments": len(segments),
            "viable_segments": sum(1 for row in segments if row["is_viable"]),
            "actionable_segments": None,
        },
        "axes": [
            {"axis_name": name, "silhouette": 0.5, "is_silhouette_poor": False, "segments": rows}
            for name, rows in axes.items()
        ],
        "insights": None,
        "product_taxonomy": None,
        "experiments": None,
        **sections,
    }


class Page(HTMLParser):
    """What the tests look at in a report page: element ids, chart divs, scripts, tables' cells, visible text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.charts = 0
        self.script_sources: list[str] = []
        self.links: list[str] = []
        self.scripts: list[str] = []
        self.rows: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self._in_script = False
        self._table_classes: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"])
        classes = (attributes.get("class") or "").split()
        if tag == "div" and "chart" in classes:
            self.charts += 1
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
            if attributes.get("src"):
                self.script_sources.append(attributes["src"])
        if tag == "link" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "table":
            self._table_classes.append(attributes.get("class") or "")
        if tag == "tr":
            self._row = []
            self.rows.setdefault(self._table_classes[-1] if self._table_classes else "", []).append(self._row)
        if tag in ("td", "th"):
            self._cell = []
        if tag in ("br", "li") and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        if tag == "table" and self._table_classes:
            self._table_classes.pop()
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.fixture
def kit() -> SimpleNamespace:
    return SimpleNamespace(segment=segment, document=document, Page=Page)
