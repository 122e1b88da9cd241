"""The report page from hand-made documents, parsed: self-contained, one chart per thing charted, every section
saying what it has or why it has nothing, the actionability section when there are insights."""

from __future__ import annotations

from python_jobs.report.insights import NO_INSIGHTS
from python_jobs.report.render import render_html

INSIGHT = {
    "axis_name": "purchase_value",
    "segment_name": "high_value",
    "is_clustered": True,
    "what_score": 4,
    "when_score": 2,
    "how_score": 5,
    "who_score": 3,
    "is_actionable": True,
    "actionability_reason": "three of four dimensions at 3 or more",
    "executive_summary": "Big spenders who answer e-mail <b>fast</b>.",
    "recommendations": [{"channel": "email", "timing": "Friday evening", "offer": "early access"}],
    "expected_roi": 2.5,
    "expected_roi_assumption": "one in ten converts",
    "confidence": "high",
    "confidence_reason": "2,000 customers, robustness 0.9",
    "is_offline": True,
}
TAXONOMY = [
    {
        "category": "Smart Bulbs",
        "run_id": "RUN_1",
        "run_finished_at": "2026-11-27T10:00:00",
        "products": 12,
        "segments": [
            {
                "segment_name": "colour_bulbs",
                "segment_definition": "RGB bulbs",
                "product_count": 9,
                "product_share": 0.75,
                "is_out_of_scope": False,
                "is_unassigned": False,
            },
            {
                "segment_name": "__OUT_OF_SCOPE__",
                "segment_definition": None,
                "product_count": 3,
                "product_share": 0.25,
                "is_out_of_scope": True,
                "is_unassigned": False,
            },
        ],
    }
]


def two_axes(kit):
    return {
        "purchase_value": [
            kit.segment(
                "mid_tier", 800, 0.8, is_viable=False, not_viable_because="more than 50.0% of customers"
            ),
            kit.segment("high_value", 150, 0.15, segment_id=2),
            kit.segment(
                "no_orders",
                50,
                0.05,
                segment_id=None,
                is_clustered=False,
                is_viable=None,
                overall_robustness=None,
                defining_features="no completed orders",
            ),
        ],
        "price_sensitivity": [kit.segment("deal_hunter", 1000, 1.0)],
    }


def test_the_page_needs_no_network(kit):
    page = kit.Page(render_html(kit.document(two_axes(kit))))

    assert page.script_sources == []
    assert page.links == []
    # Plotly's bundle is inlined: its largest script is megabytes long, and the charts call it.
    assert max(len(script) for script in page.scripts) > 1_000_000
    assert any("Plotly.newPlot" in script for script in page.scripts)


def test_one_chart_per_axis_plus_robustness_and_silhouette_and_the_rows_of_every_segment(kit):
    page = kit.Page(render_html(kit.document(two_axes(kit))))

    assert page.charts == 2 + 2
    assert {"overview", "axes", "robustness", "actionability", "products"} <= set(page.ids)
    assert "experiments" not in page.ids
    segment_rows = [row for row in page.rows[""] if row and row[0] != "segment" and len(row) == 8]
    assert [row[0] for row in segment_rows] == [
        "mid_tier",
        "high_value",
        "no_orders (not clustered)",
        "deal_hunter",
    ]
    assert segment_rows[0][6] == "no: more than 50.0% of customers"
    assert segment_rows[2][6] == "\N{EN DASH}"  # no viability verdict for an explicit segment
    assert segment_rows[2][7] == "no completed orders"


def test_without_insights_the_page_says_how_to_get_them(kit):
    page = kit.Page(render_html(kit.document(two_axes(kit))))
    assert NO_INSIGHTS in page.visible_text
    assert NO_INSIGHTS == "no insights yet: run `segments run explain-segments`"


def test_with_insights_the_page_shows_the_scores_verdict_summary_and_recommendations(kit):
    document = kit.document(two_axes(kit), insights=[INSIGHT])
    html = render_html(document)
    page = kit.Page(html)

    assert NO_INSIGHTS not in page.visible_text
    assert page.charts == 2 + 2 + 1
    row = next(row for row in page.rows[""] if row[:2] == ["purchase_value", "high_value"])
    assert row[2:6] == ["4", "2", "5", "3"]
    assert row[6] == "actionable three of four dimensions at 3 or more (offline rules, no LLM)"
    assert "Big spenders who answer e-mail <b>fast</b>." in row[7]
    assert "channel: email; timing: Friday evening; offer: early access" in row[7]
    assert row[8:] == ["250.0% one in ten converts", "high 2,000 customers, robustness 0.9"]
    assert "&lt;b&gt;fast&lt;/b&gt;" in html  # text from the warehouse is escaped, never markup


def test_the_taxonomy_and_poor_silhouettes(kit):
    document = kit.document(two_axes(kit), product_taxonomy=TAXONOMY)
    document["axes"][1]["is_silhouette_poor"] = True
    document["axes"][1]["silhouette"] = 0.12
    page = kit.Page(render_html(document))

    assert page.charts == 2 + 2 + 1
    assert ["colour_bulbs", "9", "75.0%", "RGB bulbs"] in page.rows[""]
    assert "price_sensitivity (poor silhouette 0.12)" in page.visible_text
    assert "Poor silhouette: price_sensitivity." in page.visible_text


def test_without_a_product_run_the_page_says_so(kit):
    page = kit.Page(render_html(kit.document(two_axes(kit), product_taxonomy=[])))
    assert "No product segmentation yet" in page.visible_text
