"""`segments report --import FILE`: new, vanished and resized segments against a document read back, and the
files it refuses."""

from __future__ import annotations

import json

import pytest

from python_jobs.report.comparison import ImportedDocumentError, compare, load_document
from python_jobs.report.render import render_html


def test_new_vanished_and_resized_segments_are_found_by_axis_and_name(kit):
    previous = kit.document(
        {
            "purchase_value": [kit.segment("mid_tier", 800, 0.80), kit.segment("high_value", 200, 0.20)],
            "price_sensitivity": [
                kit.segment("deal_hunter", 300, 0.30),
                kit.segment("full_price", 700, 0.70),
            ],
        }
    )
    current = kit.document(
        {
            # 0.80 -> 0.79 is exactly one point: resized; 0.20 -> 0.205 is half a point: not.
            "purchase_value": [kit.segment("mid_tier", 790, 0.79), kit.segment("high_value", 205, 0.205)],
            "price_sensitivity": [
                kit.segment("deal_hunter", 250, 0.25),
                kit.segment("coupon_only", 750, 0.75),
            ],
            # A segment of the same name on another axis is another segment.
            "return_behaviour": [kit.segment("full_price", 1000, 1.0)],
        }
    )

    changes = compare(previous, current)

    assert [(row["axis_name"], row["segment_name"]) for row in changes["new"]] == [
        ("price_sensitivity", "coupon_only"),
        ("return_behaviour", "full_price"),
    ]
    assert [(row["axis_name"], row["segment_name"]) for row in changes["vanished"]] == [
        ("price_sensitivity", "full_price")
    ]
    assert [
        (row["axis_name"], row["segment_name"], row["previous_customers"], row["customers"])
        for row in changes["resized"]
    ] == [("price_sensitivity", "deal_hunter", 300, 250), ("purchase_value", "mid_tier", 800, 790)]
    assert changes["resized"][0]["share_points_moved"] == -5.0


def test_the_changes_are_shown_in_the_page(kit):
    previous = kit.document({"axis_a": [kit.segment("old", 10, 0.5), kit.segment("kept", 10, 0.5)]})
    current = kit.document({"axis_a": [kit.segment("fresh", 5, 0.25), kit.segment("kept", 15, 0.75)]})

    page = kit.Page(render_html(current, compare(previous, current)))

    assert "changes" in page.ids
    assert page.rows["changes-new"][1][:2] == ["axis_a", "fresh"]
    assert page.rows["changes-vanished"][1][:2] == ["axis_a", "old"]
    assert page.rows["changes-resized"][1] == ["axis_a", "kept", "10", "15", "50.0%", "75.0%"]


def test_a_page_without_import_has_no_changes_section(kit):
    page = kit.Page(render_html(kit.document({"axis_a": [kit.segment("only", 10, 1.0)]})))
    assert "changes" not in page.ids


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ("[1, 2]", "no schema_version"),
        ('{"schema_version": 99, "axes": []}', "has schema_version 99; this version reads 1"),
        ('{"schema_version": 1}', "`axes` is missing or not a list"),
        (
            '{"schema_version": 1, "axes": [{"axis_name": "a"}]}',
            "axes[0] lacks axis_name or a list of segments",
        ),
        (
            '{"schema_version": 1, "axes": [{"axis_name": "a", "segments": [{"segment_name": "s"}]}]}',
            "axes[0].segments[0] lacks segment_name, customers or customer_share",
        ),
    ],
)
def test_a_file_that_is_not_a_document_is_refused_with_the_reason(tmp_path, content, message):
    path = tmp_path / "previous.json"
    path.write_text(content)
    with pytest.raises(ImportedDocumentError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_document(path)


def test_a_document_written_by_the_report_reads_back(tmp_path, kit):
    path = tmp_path / "previous.json"
    written = kit.document({"axis_a": [kit.segment("only", 10, 1.0)]})
    path.write_text(json.dumps(written))
    assert load_document(path) == written
