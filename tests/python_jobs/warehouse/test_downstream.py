"""The rebuild after a job run on its own, planned from hand-made manifests."""

from __future__ import annotations

from python_jobs.warehouse.downstream import job_output_sources, plan_rebuild, table_sources

P = "segment_warehouse"


def _manifest() -> dict:
    out = f"source.{P}.ml.runs"
    other = f"source.{P}.ml.other"
    mart, staged, parent = (f"model.{P}.{name}" for name in ("mart", "stg_ml__runs", "features"))
    return {
        "sources": {
            out: {"source_name": "ml", "name": "runs", "schema": "ml", "meta": {"segments_job": "fit"}},
            other: {"source_name": "ml", "name": "other", "schema": "ml", "meta": {}},
        },
        "nodes": {
            mart: {"name": "mart", "schema": "marts", "resource_type": "model", "config": {}},
            staged: {"name": "stg_ml__runs", "schema": "staging", "resource_type": "model", "config": {}},
            parent: {"name": "features", "schema": "marts", "resource_type": "model", "config": {}},
        },
        "child_map": {out: [staged], staged: [mart], parent: [mart]},
        "parent_map": {staged: [out], mart: [staged, parent]},
    }


def test_the_rebuild_selects_what_is_downstream_of_the_jobs_tables():
    manifest = _manifest()
    sources = job_output_sources(manifest, "fit")
    assert sources == [f"source.{P}.ml.runs"]
    assert table_sources(manifest, "ml", ["other", "absent"]) == [f"source.{P}.ml.other"]
    step = plan_rebuild(manifest, sources, lambda schema, name: True)
    assert step.command() == ["build", "--select", "source:ml.runs+"]


def test_a_parent_never_built_is_built_with_its_ancestors():
    step = plan_rebuild(_manifest(), [f"source.{P}.ml.runs"], lambda schema, name: name != "features")
    assert step.select == ("source:ml.runs+", "+features")


def test_no_tables_is_no_rebuild():
    assert plan_rebuild(_manifest(), [], lambda schema, name: True) is None
