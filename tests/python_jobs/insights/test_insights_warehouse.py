"""Segment insights in the warehouse, on DuckDB and PostgreSQL: the build explains every segment into
marts.segment_insights; a run through the API writes its rows in `ml`; and no prompt carries row-level data."""

from __future__ import annotations

import json
import re

from python_jobs.insights.job import explain_segments
from python_jobs.insights.tables import INSIGHTS_TABLE, RUNS_TABLE
from python_jobs.llm import LLMConfig
from python_jobs.llm.config import API_KEY_ENV
from python_jobs.testing.insight_responders import insight_responder

# Every identifier and e-mail of the raw tables: none of them may reach a prompt.
RAW_IDENTIFIERS_QUERY = """
    select customer_id from raw.customers
    union select email from raw.customers
    union select order_id from raw.orders
    union select order_item_id from raw.order_items
    union select ticket_id from raw.support_tickets
    union select event_id from raw.web_events
    union select session_id from raw.web_events
"""
_TOKEN = re.compile(r"[A-Za-z0-9@._+-]+")


def leaked_identifiers(texts: list[str], identifiers: set[str]) -> set[str]:
    """The raw identifiers (ids, e-mails) that appear as a token of any text."""
    tokens = {token.strip(".").lower() for text in texts for token in _TOKEN.findall(text)}
    return tokens & identifiers


def test_the_build_explains_every_segment_of_the_summary(built):
    with built.warehouse.session(read_only=True) as session:
        summary = session.fetchall(
            "select axis_name, segment_name, is_clustered from marts.segment_summary order by 1, 2"
        )
        insights = session.fetchall(
            "select axis_name, segment_name, is_clustered, what_score, when_score, how_score, who_score, "
            "is_actionable, recommendations, is_offline, segmentation_run_id from marts.segment_insights "
            "order by 1, 2"
        )
        [summary_run] = session.fetchall("select distinct segmentation_run_id from marts.segment_summary")

    assert [row[:3] for row in insights] == summary
    for *_, clustered, what, when, how, who, actionable, recommendations, offline, run_id in insights:
        strong = sum(score >= 3 for score in (what, when, how, who))
        assert actionable == (clustered and strong >= 3)
        campaigns = json.loads(recommendations)
        assert 2 <= len(campaigns) <= 3
        assert all(set(campaign) == {"channel", "timing", "offer"} for campaign in campaigns)
        assert offline
        assert run_id == summary_run[0]
    assert any(row[7] for row in insights), "the test data should give at least one actionable segment"
    assert any(not row[2] for row in insights), "the explicit segments (no_orders, ...) must be explained too"


def test_a_run_through_the_api_writes_one_run_and_leaks_no_row_level_data(
    built_copy, fake_messages_api, tmp_path, monkeypatch
):
    monkeypatch.setenv(API_KEY_ENV, "sk-ant-test-insights-leak-0000")
    fake_messages_api.responder = insight_responder
    config = LLMConfig(provider="anthropic", base_url=fake_messages_api.base_url, max_retries=0)

    run_id = explain_segments(built_copy.warehouse, config, tmp_path / "llm", echo=lambda line: None)

    warehouse = built_copy.warehouse
    with warehouse.session(read_only=True) as session:
        segments = session.fetchone("select count(*) from marts.segment_summary")[0]
        run = session.fetchone(
            f"select status, segments, provider_calls, cache_hits from ml.{RUNS_TABLE} where run_id = ?",
            [run_id],
        )
        written = session.fetchone(
            f"select count(*), min(cast(is_offline as integer)) from ml.{INSIGHTS_TABLE} where run_id = ?",
            [run_id],
        )
        identifiers = {str(row[0]).lower() for row in session.fetchall(RAW_IDENTIFIERS_QUERY) if row[0]}
    assert run == ("succeeded", segments, segments, 0)
    assert tuple(written) == (segments, 0)
    assert fake_messages_api.request_count == segments

    texts = [
        json.dumps(request.json["system"]) + json.dumps(request.json["messages"])
        for request in fake_messages_api.requests
    ]
    assert len(identifiers) > 1000
    assert leaked_identifiers(texts, identifiers) == set()
    assert not any("@" in text for text in texts)
    # The check itself can see a leak: a prompt holding one customer's id and e-mail is caught.
    planted = sorted(identifier for identifier in identifiers if "@" in identifier)[0]
    assert leaked_identifiers([texts[0] + f" customer {planted}."], identifiers) == {planted}


def test_explaining_again_after_the_build_costs_no_call(built_copy, monkeypatch):
    from click.testing import CliRunner

    from python_jobs.cli import main

    # The archive the build's run wrote, and so its cache.
    monkeypatch.setenv("SEGMENTS_LLM_ARCHIVE", built_copy.environment["SEGMENTS_LLM_ARCHIVE"])
    result = CliRunner().invoke(
        main, ["run", "explain-segments", "--no-rebuild", "--target", built_copy.warehouse.target]
    )

    assert result.exit_code == 0, result.output
    with built_copy.warehouse.session(read_only=True) as session:
        segments = session.fetchone("select count(*) from marts.segment_summary")[0]
        latest = session.fetchone(
            f"select provider_calls, cache_hits from ml.{RUNS_TABLE} order by started_at desc limit 1"
        )
    assert tuple(latest) == (0, segments)
    assert f"0 LLM calls, {segments} answered from the cache" in result.output


def test_before_any_build_there_is_nothing_to_explain_and_nothing_is_written(warehouse, tmp_path):
    with warehouse.session() as session:
        session.ensure_schema("marts")
    said = []

    run_id = explain_segments(warehouse, LLMConfig(), tmp_path / "llm", echo=said.append)

    assert run_id is None
    assert "run `segments build`" in said[0]
    with warehouse.session(read_only=True) as session:
        assert not session.table_exists("ml", RUNS_TABLE)
