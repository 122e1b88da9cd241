"""The report in a real browser: Debian's chromium, headless, with its network switched off, opens the page
written from the built DuckDB warehouse and every chart draws.

Without chromium this test is skipped with the reason, unless SEGMENTS_REQUIRE_BROWSER=1 (as on CI), where it
fails instead. `python3 dev.py test` and `.ci/run` install chromium when they can.
"""

from __future__ import annotations

import os

import pytest

from python_jobs.report.document import collect
from python_jobs.report.render import render_html
from python_jobs.testing.browser import (
    browser_missing,
    console_errors,
    fetched_resources,
    headless_chromium,
    inspect_charts,
)

# Sections the built warehouse has no data for (no insights job on this branch, no product run), made by hand
# so that every kind of chart the report draws is drawn here.
INSIGHTS = [
    {
        "axis_name": "purchase_value",
        "segment_name": name,
        "is_clustered": True,
        "what_score": what,
        "when_score": 3,
        "how_score": 4,
        "who_score": 2,
        "is_actionable": what >= 3,
        "actionability_reason": "hand-made",
        "executive_summary": "hand-made",
        "recommendations": [],
        "expected_roi": 0.2,
        "expected_roi_assumption": "hand-made",
        "confidence": "low",
        "confidence_reason": "hand-made",
        "is_offline": True,
    }
    for name, what in (("high_value", 4), ("mid_tier", 1))
]
TAXONOMY = [
    {
        "category": "Smart Bulbs",
        "run_id": "RUN_hand_made",
        "run_finished_at": "2026-11-27T10:00:00",
        "products": 10,
        "segments": [
            {
                "segment_name": name,
                "segment_definition": name,
                "product_count": count,
                "product_share": count / 10,
                "is_out_of_scope": False,
                "is_unassigned": False,
            }
            for name, count in (("colour_bulbs", 6), ("white_bulbs", 4))
        ],
    }
]


@pytest.fixture
def browser():
    missing = browser_missing()
    if missing:
        message = f"the report's browser test needs chromium: {missing}"
        if os.environ.get("SEGMENTS_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with headless_chromium() as driver:
        yield driver


def test_every_chart_renders_offline_without_console_errors(built_duckdb, browser, tmp_path):
    document = collect(built_duckdb.warehouse)
    document["insights"] = INSIGHTS
    document["product_taxonomy"] = TAXONOMY
    page = tmp_path / "report.html"
    page.write_text(render_html(document), encoding="utf-8")
    experiments = {row["experiment_id"] for row in document["experiments"]["performance"]}
    expected_charts = len(document["axes"]) + 2 + 1 + len(TAXONOMY) + len(experiments)

    browser.get(page.as_uri())
    charts = inspect_charts(browser)
    browser.save_screenshot(str(tmp_path / "report.png"))

    assert len(charts) == expected_charts
    assert [chart.chart_id for chart in charts if not chart.rendered] == []
    assert {"robustness-heatmap", "silhouette-per-axis", "actionability-heatmap", "taxonomy-0"} <= {
        chart.chart_id for chart in charts
    }
    assert console_errors(browser) == []
    assert fetched_resources(browser) == []
    assert (tmp_path / "report.png").stat().st_size > 10_000
