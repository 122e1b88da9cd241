"""Segment insights through the real Anthropic SDK against the fake Messages API: the answer schema sent,
invalid output retried, unchanged segments answered from the cache, changed ones explained again."""

from __future__ import annotations

import json

from python_jobs.insights.inputs import SegmentFacts, SegmentKey
from python_jobs.insights.job import ARCHIVE_FOLDER, run_explanations
from python_jobs.insights.offline import explain
from python_jobs.llm import AnthropicProvider, LLMConfig
from python_jobs.testing.fake_messages_api import FakeReply
from python_jobs.testing.insight_responders import insight_responder, prompt_facts

KEY = "sk-ant-test-insights-0000"


def segment(name: str, customers: int = 500, is_clustered: bool = True) -> SegmentFacts:
    facts = {
        "axis": "purchase_value",
        "segment": name,
        "is_clustered": is_clustered,
        "defining_features": "average order value far above average (827.33 vs 287.51)",
        "customers": customers,
        "customer_share": 0.1,
        "average_clv_365d": 250.0,
        "population_average_clv_365d": 100.0,
        "expected_roi": 5.25,
        "campaign_assumption": {"uplift_rate": 0.05, "contact_cost_per_customer": 2.0},
        "overall_robustness": 0.8,
        "is_viable": True,
        "marketing_opt_in_share": 0.6,
        "top_categories": [{"category": "laptops", "share": 0.4}],
        "preferred_weekdays": [{"day": "Friday", "share": 0.2}],
        "preferred_hours": [{"hour": 19, "share": 0.1}],
        "sales_channels": [{"channel": "web", "share": 0.5}],
    }
    return SegmentFacts(SegmentKey("purchase_value", 1, name, is_clustered), facts)


def explain_with(api, segments, archive_root, run_id="insights_RUN_1", max_attempts=3):
    config = LLMConfig(provider="anthropic", base_url=api.base_url, max_retries=0, max_attempts=max_attempts)
    return run_explanations(config, segments, run_id, archive_root, AnthropicProvider(config, api_key=KEY))


def test_each_segment_is_one_call_with_its_answer_schema(fake_messages_api, tmp_path):
    fake_messages_api.responder = insight_responder
    segments = [segment("high_value"), segment("no_orders", is_clustered=False)]

    explained = explain_with(fake_messages_api, segments, tmp_path)

    requests = fake_messages_api.requests
    assert len(requests) == 2
    assert {request.output_schema["title"] for request in requests} == {"SegmentInsight"}
    assert sorted(prompt_facts(request.json)["segment"] for request in requests) == [
        "high_value",
        "no_orders",
    ]
    for item in explained:
        assert item.call.parsed.model_dump(mode="json") == explain(item.segment.facts)
        assert item.call.file_path.startswith(f"{ARCHIVE_FOLDER}/insights_RUN_1/explain/")
        assert (tmp_path / item.call.file_path).exists()


def test_invalid_output_is_asked_again_until_it_validates(fake_messages_api, tmp_path):
    out_of_range = explain(segment("high_value").facts) | {"what_score": 9}
    fake_messages_api.enqueue(FakeReply(text="Here are my thoughts."), FakeReply.json(out_of_range))
    fake_messages_api.responder = insight_responder

    [item] = explain_with(fake_messages_api, [segment("high_value")], tmp_path)

    assert fake_messages_api.request_count == 3
    assert item.call.attempt == 3
    assert 1 <= item.call.parsed.what_score <= 5
    archived = sorted((tmp_path / ARCHIVE_FOLDER / "insights_RUN_1" / "explain").glob("*.json"))
    validity = sorted(json.loads(path.read_text())["metadata"]["valid"] for path in archived)
    assert validity == [False, False, True]


def test_an_unchanged_segment_costs_nothing_and_a_changed_one_is_explained_again(fake_messages_api, tmp_path):
    fake_messages_api.responder = insight_responder
    explain_with(fake_messages_api, [segment("high_value"), segment("mid_tier")], tmp_path)
    fake_messages_api.reset()

    grown = segment("mid_tier", customers=501)
    second = explain_with(
        fake_messages_api, [segment("high_value"), grown], tmp_path, run_id="insights_RUN_2"
    )

    [request] = fake_messages_api.requests
    assert prompt_facts(request.json) == grown.facts
    hits = {item.segment.key.segment_name: item.call.cache_hit for item in second}
    assert hits == {"high_value": True, "mid_tier": False}


def test_the_benchmark_makes_one_call_per_segment_then_none():
    from python_jobs.bench.insights import bench

    report = bench(axes=2, segments_per_axis=4, latency=0.05, concurrency=3)

    assert (report.segments, report.calls, report.rerun_calls) == (8, 8, 0)
    assert report.max_in_flight <= 3
    assert "second run: 0 calls" in report.describe()
