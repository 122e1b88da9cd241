"""The report on the shared built warehouses (DuckDB and PostgreSQL): the document against the marts, the
command's HTML, JSON and --import, and the insights read from a segment_insights mart made by hand."""

from __future__ import annotations

import json

import pyarrow as pa
from click.testing import CliRunner

from python_jobs.cli import main
from python_jobs.report import insights
from python_jobs.report.document import collect


def scalar(warehouse, sql):
    with warehouse.session(read_only=True) as session:
        return session.fetchone(sql)[0]


def invoke(monkeypatch, built, *args):
    for name, value in built.environment.items():
        monkeypatch.setenv(name, value)
    target = "local" if built.warehouse.kind == "duckdb" else "postgres"
    result = CliRunner().invoke(main, ["report", "--target", target, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_document_holds_every_segment_of_the_marts(built):
    document = collect(built.warehouse)
    warehouse = built.warehouse

    assert document["overview"]["customers"] == scalar(
        warehouse, "select count(*) from marts.customer_segments"
    )
    assert document["overview"]["axes"] == 13
    assert document["overview"]["segments"] == scalar(warehouse, "select count(*) from marts.segment_summary")
    assert document["overview"]["viable_segments"] == scalar(
        warehouse, "select count(*) from marts.segment_summary where is_viable"
    )
    # `segments build` ran the insights job (offline rules: no key in the tests), so every segment has one.
    assert document["overview"]["actionable_segments"] == scalar(
        warehouse, "select count(*) from marts.segment_insights where is_actionable"
    )
    assert len(document["insights"]) == document["overview"]["segments"]
    assert document["data_end_date"] == str(
        scalar(warehouse, "select max(observation_end) from marts.customer_profiles")
    )
    for axis in document["axes"]:
        # Every customer is in exactly one segment of each axis, explicit segments included.
        assert sum(segment["customers"] for segment in axis["segments"]) == document["overview"]["customers"]
    unclustered = [s for axis in document["axes"] for s in axis["segments"] if not s["is_clustered"]]
    assert "no_orders" in {segment["segment_name"] for segment in unclustered}
    assert all(segment["overall_robustness"] is None for segment in unclustered)
    experiments = document["experiments"]
    assert len(experiments["performance"]) == scalar(
        warehouse, "select count(*) from marts.experiment_segment_performance"
    )
    assert len(experiments["open_recommendations"]) == scalar(
        warehouse,
        "select count(*) from marts.segmentation_recommendations where is_latest and status = 'pending'",
    )
    assert document["product_taxonomy"] == []
    json.dumps(document)  # plain JSON values only


def test_the_command_writes_the_page_the_json_and_the_changes_since_an_imported_run(
    built, tmp_path, monkeypatch, kit
):
    page_file, json_file = tmp_path / "report.html", tmp_path / "segments.json"

    output = invoke(monkeypatch, built, "--output", str(page_file))
    assert "no insights yet" not in output  # the build explained the segments
    invoke(monkeypatch, built, "--json", "--output", str(json_file))
    document = json.loads(json_file.read_text())
    assert document["schema_version"] == 1

    page = kit.Page(page_file.read_text())
    # One chart per axis, the robustness heatmap and the silhouettes, the actionability heatmap (the build
    # explained the segments), one chart per experiment.
    assert page.charts == document["overview"]["axes"] + 3 + len(
        {row["experiment_id"] for row in document["experiments"]["performance"]}
    )
    assert "changes" not in page.ids

    # The earlier run had no `no_orders` on purchase_value, and a high_value share 3 points smaller.
    axis = next(axis for axis in document["axes"] if axis["axis_name"] == "purchase_value")
    axis["segments"] = [s for s in axis["segments"] if s["segment_name"] != "no_orders"]
    high = next(s for s in axis["segments"] if s["segment_name"] == "high_value")
    high["customer_share"] -= 0.03
    json_file.write_text(json.dumps(document))

    invoke(monkeypatch, built, "--import", str(json_file), "--output", str(page_file))
    page = kit.Page(page_file.read_text())
    assert [row[:2] for row in page.rows["changes-new"][1:]] == [["purchase_value", "no_orders"]]
    assert [row[:2] for row in page.rows["changes-resized"][1:]] == [["purchase_value", "high_value"]]
    assert "changes-vanished" not in page.rows


def test_a_warehouse_without_segments_is_a_clear_error(duckdb_warehouse):
    result = CliRunner().invoke(main, ["report"])
    assert result.exit_code == 1
    assert "marts.segment_summary is not built; run `segments build` first" in result.output


def test_the_insights_are_read_from_the_mart(warehouse):
    recommendations = [{"channel": "email", "timing": "Friday", "offer": "10% off"}]
    rows = pa.table(
        {
            "axis_name": ["purchase_value", "purchase_value"],
            "segment_id": pa.array([2, 1], pa.int64()),
            "segment_name": ["high_value", "mid_tier"],
            "is_clustered": [True, True],
            "what_score": pa.array([4, 1], pa.int32()),
            "when_score": pa.array([3, 2], pa.int32()),
            "how_score": pa.array([5, 1], pa.int32()),
            "who_score": pa.array([2, 2], pa.int32()),
            "is_actionable": [True, False],
            "actionability_reason": ["three dimensions at 3 or more", "one dimension at 3 or more"],
            "executive_summary": ["Big spenders.", "Everyone else."],
            "recommendations": [json.dumps(recommendations), "[]"],
            "expected_roi": [0.5, 0.1],
            "expected_roi_assumption": ["one in ten converts", "one in fifty converts"],
            "confidence": ["high", "low"],
            "confidence_reason": ["big and robust", "not viable"],
            "is_offline": [True, True],
            "llm_model": ["offline-rules", "offline-rules"],
            "insight_run_id": ["ins_1", "ins_1"],
            "segmentation_run_id": ["seg_1", "seg_1"],
        }
    )
    with warehouse.session() as session:
        session.ensure_schema("marts")
        assert insights.read(session, "marts") is None
        session.replace_table("marts", "segment_insights", rows)
        read = insights.read(session, "marts")

    assert [(row["segment_name"], row["is_actionable"]) for row in read] == [
        ("high_value", True),
        ("mid_tier", False),
    ]
    assert read[0]["recommendations"] == recommendations
    assert [read[0][score] for score in insights.SCORES] == [4, 3, 5, 2]
    assert (read[0]["expected_roi"], read[1]["executive_summary"]) == (0.5, "Everyone else.")
