"""`segments dbt -- docs generate` on both targets, against the shared built warehouses: the docs site's files
are written, every model and every mart column is described, and the dashboards are declared as exposures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[3]
DASHBOARDS = {
    "segment_overview_dashboard": {
        "segment_summary",
        "customer_segments",
        "customer_profiles",
        "segment_insights",
    },
    "experiment_performance_dashboard": {
        "experiment_segment_performance",
        "segmentation_recommendations",
        "experiment_alerts",
        "experiment_traffic_stats",
    },
    "product_taxonomy_dashboard": {"product_segment_summary", "product_segments"},
}


def test_docs_generate_describes_every_model_and_declares_the_dashboards(built, tmp_path):
    target = "local" if built.warehouse.kind == "duckdb" else "postgres"
    # The project's own CLI (`python -m python_jobs` is the `segments` command), with dbt's files in tmp_path.
    result = subprocess.run(
        [sys.executable, "-m", "python_jobs", "dbt", "--target", target, "--", "docs", "generate"],
        cwd=PROJECT,
        env={**os.environ, **built.environment, "SEGMENTS_DBT_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    docs = tmp_path / "target" / target
    assert (docs / "index.html").exists()
    manifest = json.loads((docs / "manifest.json").read_text())
    catalog = json.loads((docs / "catalog.json").read_text())

    models = {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    assert [name for name, node in models.items() if not node["description"].strip()] == []
    undocumented_mart_columns = [
        f"{name}.{column}"
        for name, node in models.items()
        if node["fqn"][1] == "marts"
        for column, spec in node["columns"].items()
        if not spec["description"].strip()
    ]
    assert undocumented_mart_columns == []
    # The catalog read the built relations: the marts' columns are there as the warehouse has them.
    summary = next(
        node for node in catalog["nodes"].values() if node["metadata"]["name"] == "segment_summary"
    )
    assert {"axis_name", "segment_name", "customers", "overall_robustness"} <= set(summary["columns"])

    exposures = {exposure["name"]: exposure for exposure in manifest["exposures"].values()}
    for name, parents in DASHBOARDS.items():
        exposure = exposures[name]
        assert exposure["type"] == "dashboard"
        assert exposure["owner"]["name"]
        assert exposure["owner"]["email"]
        assert exposure["description"].strip()
        assert {node.split(".")[-1] for node in exposure["depends_on"]["nodes"]} == parents
