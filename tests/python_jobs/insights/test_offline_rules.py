"""The offline rules and the verdict rule on hand-made facts: what a marketer reads must follow from the numbers."""

from __future__ import annotations

import pytest

from python_jobs.insights.offline import explain
from python_jobs.insights.prompts import SegmentInsight, facts_in_prompt, is_actionable, prompt_for


def facts(**overrides):
    base = {
        "axis": "purchase_value",
        "segment": "high_value",
        "is_clustered": True,
        "defining_features": "average order value far above average (827.33 vs 287.51)",
        "customers": 800,
        "customer_share": 0.08,
        "average_clv_365d": 300.0,
        "population_average_clv_365d": 100.0,
        "expected_roi": 6.5,
        "campaign_assumption": {"uplift_rate": 0.05, "contact_cost_per_customer": 2.0},
        "overall_robustness": 0.9,
        "is_axis_silhouette_poor": False,
        "is_viable": True,
        "not_viable_because": None,
        "marketing_opt_in_share": 0.72,
        "discounted_item_share": 0.1,
        "average_churn_risk": 0.2,
        "top_categories": [{"category": "laptops", "share": 0.55}, {"category": "audio", "share": 0.2}],
        "preferred_weekdays": [{"day": "Saturday", "share": 0.31}],
        "preferred_hours": [
            {"hour": 20, "share": 0.12},
            {"hour": 21, "share": 0.1},
            {"hour": 19, "share": 0.08},
        ],
        "sales_channels": [{"channel": "app", "share": 0.7}],
    }
    return base | overrides


def test_a_clear_valuable_segment_scores_high_and_is_actionable():
    answer = explain(facts())

    # 55 % on one category -> 5; 31 % on Saturdays -> 5; 72 % opted in -> 5 (capped); CLV 3x average -> 5.
    assert (answer["what_score"], answer["when_score"], answer["how_score"], answer["who_score"]) == (
        5,
        5,
        5,
        5,
    )
    assert answer["actionability_reason"].startswith("Actionable: 4 of 4")
    assert answer["confidence"] == "high"
    assert "laptops (55% of their spend)" in answer["executive_summary"]
    assert "Saturdays" in answer["recommendations"][0]["timing"]
    assert answer["expected_roi"] == 6.5
    assert "by 5%" in answer["expected_roi_assumption"]
    assert "offline rules" in answer["executive_summary"]
    SegmentInsight.model_validate(answer)


def test_a_diffuse_low_value_segment_is_not_actionable():
    answer = explain(
        facts(
            top_categories=[{"category": "books", "share": 0.12}],
            preferred_weekdays=[{"day": "Monday", "share": 0.15}],
            preferred_hours=[{"hour": 9, "share": 0.05}],
            marketing_opt_in_share=0.1,
            sales_channels=[{"channel": "web", "share": 0.4}],
            average_clv_365d=20.0,
            customers=30,
        )
    )
    scores = (answer["what_score"], answer["when_score"], answer["how_score"], answer["who_score"])

    assert scores == (1, 1, 1, 1)
    assert not is_actionable(scores, is_clustered=True)
    assert answer["confidence"] == "low"
    assert "only 30 customers" in answer["confidence_reason"]
    # No weekday or hour stands out, so none is named to the marketer.
    assert "spread evenly over the week and the day" in answer["executive_summary"]
    assert answer["recommendations"][0]["timing"].startswith("any day")


def test_an_explicit_segment_is_not_actionable_by_clustering_whatever_its_scores():
    answer = explain(
        facts(segment="no_orders", is_clustered=False, top_categories=[], defining_features="no orders")
    )
    scores = (answer["what_score"], answer["when_score"], answer["how_score"], answer["who_score"])

    assert answer["actionability_reason"].startswith("Not actionable by clustering")
    assert not is_actionable(scores, is_clustered=False)
    assert is_actionable((5, 5, 5, 5), is_clustered=True)
    assert answer["confidence"] == "low"
    assert "first order" in answer["recommendations"][0]["offer"]


def test_a_segment_without_clv_predictions_gets_no_return_rather_than_minus_100_percent():
    """segment_summary leaves expected_roi null when no customer has a CLV prediction (no completed order)."""
    answer = explain(
        facts(
            segment="no_orders",
            is_clustered=False,
            top_categories=[],
            defining_features="not placed on this axis: lacks at least one completed order",
            average_clv_365d=0.0,
            expected_roi=None,
        )
    )

    assert answer["expected_roi"] is None
    assert answer["expected_roi_assumption"].startswith(
        "no return estimated: none of these customers has a CLV"
    )
    assert "No CLV prediction: none of them has a completed order yet." in answer["executive_summary"]
    assert "Mean predicted 12-month CLV" not in answer["executive_summary"]
    SegmentInsight.model_validate(answer)


@pytest.mark.parametrize(
    ("scores", "verdict"), [((3, 3, 3, 1), True), ((3, 2, 2, 5), False), ((5, 5, 1, 1), False)]
)
def test_the_verdict_needs_three_dimensions_at_three_or_more(scores, verdict):
    assert is_actionable(scores, is_clustered=True) is verdict


def test_the_prompt_carries_the_facts_and_nothing_else_of_the_segment():
    prompt = prompt_for(facts())

    assert facts_in_prompt(prompt) == facts()
