"""The deal packages job on a real warehouse: hand-made deals of three kinds become packages of one kind each;
results are run-tagged and consistent; a re-run embeds nothing and calls nothing. Through the fake Messages API:
a normal run, invalid output then valid, output that stays invalid, a timeout, and the cache."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from click.testing import CliRunner

from python_jobs.cli.packages import packages_group
from python_jobs.deal_packages.clustering import ClusterParams
from python_jobs.deal_packages.job import DealPackagesError, run_packages
from python_jobs.deal_packages.proposals import deals_in_prompt
from python_jobs.ingest.deals import write_deals
from python_jobs.llm.config import API_KEY_ENV, LLMConfig
from python_jobs.testing.fake_messages_api import FakeReply
from python_jobs.warehouse.ml_tables import ML_SCHEMA
from python_jobs.warehouse.raw_tables import RAW_TABLES

KINDS = {
    "sports": ("Sports", "Soccer", ["football", "stadium", "league"], ["sports fans"], "video", "medium", False),
    "food": ("Food & Drink", "Recipes", ["recipes", "baking", "kitchen"], ["home cooks"], "display", "low", True),
    "finance": ("Finance", "Investing", ["stocks", "savings", "pension"], ["investors"], "native", "low", True),
}  # fmt: skip
PER_KIND = 7


def deal(kind: str, number: int) -> dict:
    tier1, tier2, concepts, audiences, fmt, garm, family_safe = KINDS[kind]
    return {
        "deal_id": f"{kind}-{number}",
        "deal_name": f"{tier2} {fmt} deal {number}",
        "ssp": {"sports": "Magnite", "food": "PubMatic", "finance": "OpenX"}[kind],
        "format": fmt,
        "taxonomy_tier1": tier1,
        "taxonomy_tier2": tier2,
        "taxonomy_tier3": None,
        "concepts": json.dumps(concepts),
        "garm_risk_rating": garm,
        "family_safe": family_safe,
        "inferred_audiences": json.dumps(audiences),
        "demographic_hint": "adults 25-54",
        "quality_tier": "standard",
        "volume_tier": "high",
        "floor_price": 2.0 + number,
        "publishers": json.dumps([f"{kind}.example"]),
    }


DEALS = [deal(kind, n) for kind in KINDS for n in range(1, PER_KIND + 1)]
PARAMS = ClusterParams(method="kmeans", max_deals_per_cluster=10, min_cluster_size=3)


@pytest.fixture
def deals_loaded(warehouse):
    write_deals(warehouse, pa.Table.from_pylist(DEALS, schema=RAW_TABLES["deals"]))
    return warehouse


def rows(warehouse, sql: str, params=()) -> list[dict]:
    with warehouse.session() as session:
        return session.fetch_arrow(sql, list(params)).to_pylist()


def members_by_package(warehouse, run_id: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in rows(
        warehouse,
        f"select package_id, deal_id from {ML_SCHEMA}.deal_package_members where run_id = ? order by deal_id",
        [run_id],
    ):
        found.setdefault(row["package_id"], []).append(row["deal_id"])
    return found


def test_offline_run_packages_each_kind_apart_and_a_rerun_costs_nothing(deals_loaded, tmp_path):
    warehouse = deals_loaded
    config = LLMConfig(provider="offline")
    first = run_packages(
        warehouse, None, PARAMS, config, embedding_backend="tfidf", archive_root=tmp_path, echo=str
    )
    packages = members_by_package(warehouse, first.run_id)
    assert first.clusters == 3
    assert first.packages == 3  # one format and safety level per kind
    assert sorted(sorted(members) for members in packages.values()) == sorted(
        sorted(f"{kind}-{n}" for n in range(1, PER_KIND + 1)) for kind in KINDS
    )
    (run,) = rows(warehouse, f"select * from {ML_SCHEMA}.deal_package_runs where run_id = ?", [first.run_id])
    assert run["status"] == "succeeded"
    assert (run["embedding_backend"], run["embedding_dimensions"]) == ("tfidf", 20)
    assert (run["deals_total"], run["texts_embedded"], run["packages_total"]) == (21, 21, 3)
    assert (run["llm_provider"], run["llm_calls"], run["llm_cache_hits"]) == ("offline", 3, 0)
    names = rows(warehouse, f"select package_name, reasoning, is_offline from {ML_SCHEMA}.deal_packages")
    assert all(row["is_offline"] and row["reasoning"].startswith("[offline]") for row in names)
    assert any("Stocks" in row["package_name"] or "Investing" in row["package_name"] for row in names)
    assert (tmp_path / "deal_packages" / first.run_id / "prompts" / "deal_packages_prompt.txt").exists()

    again = run_packages(
        warehouse, None, PARAMS, config, embedding_backend="tfidf", archive_root=tmp_path, echo=str
    )
    (rerun,) = rows(
        warehouse, f"select * from {ML_SCHEMA}.deal_package_runs where run_id = ?", [again.run_id]
    )
    assert (rerun["texts_embedded"], rerun["llm_calls"], rerun["llm_cache_hits"]) == (0, 0, 3)
    assert sorted(members_by_package(warehouse, again.run_id).values()) == sorted(packages.values())


def test_with_minilm_each_distinct_aspect_line_is_embedded_once_and_kinds_still_package_apart(
    deals_loaded, tmp_path
):
    config = LLMConfig(provider="offline")
    first = run_packages(
        deals_loaded, None, PARAMS, config, embedding_backend="minilm", archive_root=tmp_path, echo=str
    )
    assert sorted(
        sorted(members) for members in members_by_package(deals_loaded, first.run_id).values()
    ) == sorted(sorted(f"{kind}-{n}" for n in range(1, PER_KIND + 1)) for kind in KINDS)
    (run,) = rows(
        deals_loaded, f"select * from {ML_SCHEMA}.deal_package_runs where run_id = ?", [first.run_id]
    )
    assert (run["embedding_backend"], run["embedding_dimensions"]) == ("minilm", 8 * 384)
    assert run["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2 x 8 aspects side by side"
    # Distinct lines, counted by hand: 21 names; per kind one SSP and format, taxonomy, concepts, audience and
    # publishers line (3 x 5 = 15); two safety lines (food and finance alike); one commercial line.
    assert run["texts_embedded"] == 21 + 15 + 2 + 1
    again = run_packages(
        deals_loaded, None, PARAMS, config, embedding_backend="minilm", archive_root=tmp_path, echo=str
    )
    (rerun,) = rows(
        deals_loaded, f"select * from {ML_SCHEMA}.deal_package_runs where run_id = ?", [again.run_id]
    )
    assert (rerun["texts_embedded"], rerun["llm_calls"]) == (0, 0)


def test_unknown_deal_ids_are_refused_before_anything_is_written(deals_loaded, tmp_path):
    with pytest.raises(DealPackagesError, match=r"1 deal id\(s\) not in raw.deals: nope-1"):
        run_packages(
            deals_loaded, ["sports-1", "nope-1"], PARAMS, LLMConfig(), archive_root=tmp_path, echo=str
        )
    with deals_loaded.session() as session:
        assert not session.table_exists(ML_SCHEMA, "deal_package_runs")


# ------------------------------------------------------------------------------------- the fake Messages API


def whole_cluster(request_json: dict) -> FakeReply:
    """A model that makes one package of the whole cluster."""
    deals = deals_in_prompt(request_json["messages"][0]["content"])
    kind = deals[0]["deal_id"].split("-")[0]
    package = {"package_name": f"{kind} bundle", "deal_ids": [d["deal_id"] for d in deals], "reasoning": kind}
    return FakeReply(text=json.dumps({"packages": [package]}))


def anthropic_config(api, **overrides) -> LLMConfig:
    return LLMConfig(
        provider="anthropic", model="claude-test", base_url=api.base_url, max_retries=0, **overrides
    )


@pytest.fixture
def api(fake_messages_api, monkeypatch):
    monkeypatch.setenv(API_KEY_ENV, "sk-ant-test-deal-packages-0123456789")
    fake_messages_api.responder = whole_cluster
    return fake_messages_api


@pytest.mark.parametrize("warehouse", ["local"], indirect=True)
def test_through_the_api_invalid_output_is_asked_again_and_the_cache_answers_a_rerun(
    deals_loaded, api, tmp_path
):
    invented_only = {"packages": [{"package_name": "Ghosts", "deal_ids": ["ghost-1"], "reasoning": "?"}]}
    api.enqueue(FakeReply(text=json.dumps(invented_only)))
    config = anthropic_config(api)
    result = run_packages(
        deals_loaded, None, PARAMS, config, embedding_backend="tfidf", archive_root=tmp_path, echo=str
    )
    assert api.request_count == 4  # three clusters, one asked twice
    assert (result.packages, result.llm_calls, result.skipped) == (3, 3, {})
    packages = rows(
        deals_loaded, f"select package_name, is_offline, llm_model from {ML_SCHEMA}.deal_packages"
    )
    assert sorted(p["package_name"] for p in packages) == ["finance bundle", "food bundle", "sports bundle"]
    assert {(p["is_offline"], p["llm_model"]) for p in packages} == {(False, "claude-test")}

    again = run_packages(
        deals_loaded, None, PARAMS, config, embedding_backend="tfidf", archive_root=tmp_path, echo=str
    )
    assert api.request_count == 4
    assert (again.llm_calls, again.cache_hits) == (0, 3)


@pytest.mark.parametrize("warehouse", ["local"], indirect=True)
def test_through_the_api_a_cluster_whose_output_stays_invalid_or_times_out_is_skipped(
    deals_loaded, api, tmp_path
):
    def troubled(request_json: dict) -> FakeReply:
        first_id = deals_in_prompt(request_json["messages"][0]["content"])[0]["deal_id"]
        if first_id.startswith("food"):
            return FakeReply(text='{"packages": []}')
        if first_id.startswith("finance"):
            return FakeReply(delay_seconds=3, text='{"packages": []}')
        return whole_cluster(request_json)

    api.responder = troubled
    config = anthropic_config(api, timeout_seconds=1)
    result = run_packages(
        deals_loaded, None, PARAMS, config, embedding_backend="tfidf", archive_root=tmp_path, echo=str
    )
    assert result.packages == 1
    reasons = sorted(result.skipped.values())
    assert reasons[0].startswith("invalid output after 3 attempts")
    assert reasons[1].startswith("timeout")
    clusters = rows(
        deals_loaded,
        f"select cluster_status, skip_reason from {ML_SCHEMA}.deal_package_clusters order by cluster_status",
    )
    assert [c["cluster_status"] for c in clusters] == ["packaged", "skipped", "skipped"]
    (run,) = rows(deals_loaded, f"select status, clusters_skipped from {ML_SCHEMA}.deal_package_runs")
    assert (run["status"], run["clusters_skipped"]) == ("succeeded", 2)


# --------------------------------------------------------------------------------------------------- the command


@pytest.mark.parametrize("warehouse", ["local"], indirect=True)
def test_the_command_lists_unclustered_deals_and_refuses_bad_options(deals_loaded, tmp_path):
    runner = CliRunner()
    common = [
        "--target",
        deals_loaded.target,
        "--archive-root",
        str(tmp_path),
        "--no-rebuild",
        "--provider",
        "offline",
    ]
    result = runner.invoke(
        packages_group,
        ["run", "--deal-ids", "sports-1,sports-2,sports-3,sports-4,food-1,food-2", "--embeddings", "tfidf",
         "--method", "kmeans", "--max-deals-per-cluster", "4", "--min-cluster-size", "3", *common],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Unclustered (2): food-1, food-2" in result.output
    neither = runner.invoke(packages_group, ["run", *common])
    assert neither.exit_code == 2
    assert "exactly one of --all, --deal-ids and --deal-ids-file" in neither.output
    soft_kmeans = runner.invoke(
        packages_group, ["run", "--all", "--method", "kmeans", "--soft-assignments", *common]
    )
    assert "soft assignments need the gmm method" in soft_kmeans.output


def test_the_commands_choices_are_the_definitions():
    from python_jobs.cli import packages
    from python_jobs.deal_packages.clustering import METHODS
    from python_jobs.embeddings import BACKENDS

    assert (packages.METHODS, packages.EMBEDDING_BACKENDS) == (METHODS, BACKENDS)
