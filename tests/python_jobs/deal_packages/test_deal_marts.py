"""`marts.deal_packages` on DuckDB and PostgreSQL: built from a real run of the job, it shows the latest
succeeded run's packages with their deals' summaries; a member deal missing from raw.deals, or a deal twice in a
package, fails the build. The `ml` source declares exactly the job's tables."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from python_jobs.deal_packages.clustering import ClusterParams
from python_jobs.deal_packages.job import run_packages
from python_jobs.ingest.deals import write_deals
from python_jobs.llm.config import LLMConfig
from python_jobs.warehouse.dbt_runner import run_dbt
from python_jobs.warehouse.ml_tables import DEAL_PACKAGE_TABLES, ML_SCHEMA
from python_jobs.warehouse.raw_tables import RAW_TABLES

ML_SOURCES_YML = Path(__file__).resolve().parents[3] / "models" / "staging" / "ml" / "_ml__sources.yml"
DEAL_MODELS = ["+deal_packages", "stg_ml__deal_package_clusters"]


def deal(deal_id: str, fmt: str, floor: float, family_safe: bool, topic: str) -> dict:
    return {
        **dict.fromkeys(RAW_TABLES["deals"].names),
        "deal_id": deal_id,
        "deal_name": f"{topic} {fmt}",
        "ssp": "Magnite" if floor < 5 else "OpenX",
        "format": fmt,
        "taxonomy_tier1": topic,
        "concepts": json.dumps([topic.lower(), f"{topic.lower()} news"]),
        "garm_risk_rating": "low" if family_safe else "medium",
        "family_safe": family_safe,
        "demographic_hint": "adults 25-54",
        "floor_price": floor,
    }


# Two topics of four deals; each topic has two formats, so the offline rule makes two packages of it.
DEALS = [
    deal("S1", "video", 8.0, True, "Sports"),
    deal("S2", "video", 9.5, True, "Sports"),
    deal("S3", "display", 1.5, True, "Sports"),
    deal("S4", "display", 2.0, True, "Sports"),
    deal("F1", "native", 3.0, False, "Finance"),
    deal("F2", "native", 4.0, False, "Finance"),
    deal("F3", "ctv", 20.0, False, "Finance"),
    deal("F4", "ctv", 22.5, False, "Finance"),
]
PARAMS = ClusterParams(method="kmeans", max_deals_per_cluster=5, min_cluster_size=2)


def fetch(warehouse, sql: str) -> list[tuple]:
    with warehouse.session() as session:
        return session.fetchall(sql)


def failed(run) -> set[str]:
    return {r["unique_id"].split(".")[2] for r in run.results if r["status"] in {"fail", "error"}}


@pytest.fixture
def packaged(warehouse, tmp_path):
    write_deals(warehouse, pa.Table.from_pylist(DEALS, schema=RAW_TABLES["deals"]))
    result = run_packages(
        warehouse, None, PARAMS, LLMConfig(), embedding_backend="tfidf", archive_root=tmp_path, echo=str
    )
    return warehouse, result


def test_the_mart_shows_the_latest_runs_packages_with_their_deals(packaged):
    warehouse, result = packaged
    run = run_dbt(["build", "--select", *DEAL_MODELS], target=warehouse.target)
    assert run.ok, run.problem_summary()
    rows = fetch(
        warehouse,
        "select deal_ids, deal_count, floor_price_min, floor_price_max, formats, ssps, garm_risk_ratings, "
        "family_safe_deal_count, is_offline, run_id from marts.deal_packages order by deal_ids",
    )
    assert [row[:9] for row in rows] == [
        ("F1, F2", 2, 3.0, 4.0, "native", "Magnite", "medium", 0, True),
        ("F3, F4", 2, 20.0, 22.5, "ctv", "OpenX", "medium", 0, True),
        ("S1, S2", 2, 8.0, 9.5, "video", "OpenX", "low", 2, True),
        ("S3, S4", 2, 1.5, 2.0, "display", "Magnite", "low", 2, True),
    ]
    assert {row[9] for row in rows} == {result.run_id}


def test_a_member_deal_missing_or_twice_in_a_package_fails_the_build(packaged):
    warehouse, result = packaged
    with warehouse.session() as session:
        (package_id,) = session.fetchone(f"select min(package_id) from {ML_SCHEMA}.deal_package_members")
        session.execute(
            f"insert into {ML_SCHEMA}.deal_package_members values (?, ?, 'NOT-A-DEAL', false), (?, ?, 'S1', false)",
            [result.run_id, package_id, result.run_id, package_id],
        )
        session.execute(
            f"insert into {ML_SCHEMA}.deal_package_members values (?, ?, 'S1', false)",
            [result.run_id, package_id],
        )
    run = run_dbt(["build", "--select", *DEAL_MODELS], target=warehouse.target)
    assert {
        "relationships_stg_ml__deal_package_members_deal_id__deal_id__ref_stg_raw__deals_",
        "unique_combination_of_columns_stg_ml__deal_package_members_package_id__deal_id",
    } <= failed(run)


@pytest.mark.parametrize("table", list(DEAL_PACKAGE_TABLES))
def test_the_ml_source_declares_the_job_tables_columns(table):
    [source] = [s for s in yaml.safe_load(ML_SOURCES_YML.read_text())["sources"] if s["name"] == "ml"]
    [declared] = [t for t in source["tables"] if t["name"] == table]
    assert [c["name"] for c in declared["columns"]] == DEAL_PACKAGE_TABLES[table].names
    assert all(c.get("description") for c in declared["columns"])
    # On demand, like product segmentation: `segments build` never plans it.
    assert "segments_job" not in (declared.get("config", {}).get("meta") or {})
