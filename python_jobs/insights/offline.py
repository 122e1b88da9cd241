"""The offline insights: the same answer as a model's, written by plain rules from the same facts.

Used when no ANTHROPIC_API_KEY is set (and by the fake Messages API in tests), so a build without a key still
explains every segment, deterministically. Every rule is a threshold table a reader can check against the facts;
the summary says it was written by rules, not by a language model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from python_jobs.insights.prompts import TASK, SegmentInsight, is_actionable

# Answers are cached under this name: bump it whenever a rule below changes, or old answers keep being served.
OFFLINE_MODEL = "offline-insight-rules-v2"
OFFLINE_LABEL = "Written by the offline rules, not by a language model."

# (at least this much, score): the first threshold reached gives the score; below all of them, 1.
# WHAT: share of the segment's spend on its top category (five categories evenly would be 0.2 each).
TOP_CATEGORY_SHARE_SCORES = ((0.5, 5), (0.35, 4), (0.25, 3), (0.15, 2))
# WHEN: share of orders on the favourite weekday (1/7 = 0.14 when spread evenly)...
TOP_WEEKDAY_SHARE_SCORES = ((0.3, 5), (0.24, 4), (0.19, 3), (0.16, 2))
# ... or on the three favourite hours (3/24 = 0.125 when spread evenly); the better of the two counts.
TOP_HOURS_SHARE_SCORES = ((0.5, 5), (0.4, 4), (0.3, 3), (0.2, 2))
# HOW: share of customers opted in to marketing; one more point when one sales channel has 60 % of the orders.
OPT_IN_SHARE_SCORES = ((0.7, 5), (0.5, 4), (0.35, 3), (0.2, 2))
DOMINANT_CHANNEL_SHARE = 0.6
# WHO: the segment's mean predicted CLV over the average customer's.
CLV_RATIO_SCORES = ((2.0, 5), (1.3, 4), (0.8, 3), (0.4, 2))
# Confidence: high needs all of these; low follows from any one of the low marks.
HIGH_CONFIDENCE_CUSTOMERS = 500
HIGH_CONFIDENCE_ROBUSTNESS = 0.7
LOW_CONFIDENCE_CUSTOMERS = 50
LOW_CONFIDENCE_ROBUSTNESS = 0.4
# Recommendations: a discount-led offer when this share of their items was bought discounted.
DISCOUNT_LED_SHARE = 0.3
HIGH_CHURN_RISK = 0.5


def score(value: float | None, thresholds: Sequence[tuple[float, int]]) -> int:
    """The score of the first threshold `value` reaches; 1 below all of them or without a value."""
    if value is None:
        return 1
    return next((points for minimum, points in thresholds if value >= minimum), 1)


def explain(facts: dict[str, Any]) -> dict[str, Any]:
    """The offline answer for one segment's facts, as the JSON a model would give (a `SegmentInsight`)."""
    top_category = _first(facts.get("top_categories"))
    top_weekday = _first(facts.get("preferred_weekdays"))
    top_channel = _first(facts.get("sales_channels"))
    hours = facts.get("preferred_hours") or []
    hours_share = sum(hour["share"] for hour in hours[:3]) if hours else None

    what = score(top_category and top_category["share"], TOP_CATEGORY_SHARE_SCORES)
    when = max(
        score(top_weekday and top_weekday["share"], TOP_WEEKDAY_SHARE_SCORES),
        score(hours_share, TOP_HOURS_SHARE_SCORES),
    )
    how = score(facts.get("marketing_opt_in_share"), OPT_IN_SHARE_SCORES)
    if top_channel and top_channel["share"] >= DOMINANT_CHANNEL_SHARE:
        how = min(5, how + 1)
    who = score(_clv_ratio(facts), CLV_RATIO_SCORES)
    scores = (what, when, how, who)

    answer = {
        "what_score": what,
        "when_score": when,
        "how_score": how,
        "who_score": who,
        "actionability_reason": _reason(facts, scores),
        "executive_summary": _summary(facts, top_category, top_weekday, hours, top_channel),
        "recommendations": _recommendations(facts, top_category, top_weekday, hours, top_channel),
        "expected_roi": None if not _has_clv_prediction(facts) else round(float(facts["expected_roi"]), 4),
        "expected_roi_assumption": roi_assumption(facts),
        **_confidence(facts),
    }
    SegmentInsight.model_validate(answer)  # the rules must give what a model is held to
    return answer


OFFLINE_HANDLERS = {TASK: explain}


def _has_clv_prediction(facts: dict[str, Any]) -> bool:
    """Whether any customer of the segment has a CLV prediction: segment_summary's expected_roi is null when none
    has (they have no completed order, and the CLV model needs one)."""
    return facts.get("expected_roi") is not None


def roi_assumption(facts: dict[str, Any]) -> str:
    if not _has_clv_prediction(facts):
        return (
            "no return estimated: none of these customers has a CLV prediction (no completed order yet), so "
            "there is no expected value for a campaign to lift"
        )
    campaign = facts.get("campaign_assumption") or {}
    return (
        f"a campaign lifts the mean predicted 12-month CLV ({_money(facts.get('average_clv_365d'))}) by "
        f"{campaign.get('uplift_rate', 0):.0%}, against a contact cost of "
        f"{_money(campaign.get('contact_cost_per_customer'))} per customer"
    )


def readable_name(facts: dict[str, Any]) -> str:
    """'High spenders (purchase value)' for segment high_spenders of axis purchase_value."""
    return f"{facts['segment'].replace('_', ' ').capitalize()} ({facts['axis'].replace('_', ' ')})"


def _reason(facts: dict[str, Any], scores: tuple[int, int, int, int]) -> str:
    named = ", ".join(
        f"{name} {value}" for name, value in zip(("WHAT", "WHEN", "HOW", "WHO"), scores, strict=True)
    )
    if not facts.get("is_clustered"):
        return (
            f"Not actionable by clustering: an explicit group ({facts.get('defining_features')}), reached by "
            f"its own rule rather than by a segment campaign (scores {named})."
        )
    strong = sum(value >= 3 for value in scores)
    verdict = "Actionable" if is_actionable(scores, is_clustered=True) else "Not actionable"
    return f"{verdict}: {strong} of 4 dimensions score 3 or more ({named})."


def _summary(
    facts: dict[str, Any],
    top_category: dict[str, Any] | None,
    top_weekday: dict[str, Any] | None,
    hours: list[dict[str, Any]],
    top_channel: dict[str, Any] | None,
) -> str:
    parts = [
        f"{readable_name(facts)}: {facts['customers']:,} customers, {facts['customer_share']:.1%} of all, "
        f"{facts.get('defining_features') or 'no defining features'}."
    ]
    if top_category:
        parts.append(
            f"They spend most on {top_category['category']} ({top_category['share']:.0%} of their spend)."
        )
    if top_weekday and hours:
        parts.append(_timing_sentence(top_weekday, hours))
    if top_channel:
        parts.append(
            f"{top_channel['share']:.0%} of their orders come through {top_channel['channel']}; "
            f"{(facts.get('marketing_opt_in_share') or 0):.0%} accept marketing."
        )
    if _has_clv_prediction(facts):
        parts.append(
            f"Mean predicted 12-month CLV {_money(facts.get('average_clv_365d'))} against "
            f"{_money(facts.get('population_average_clv_365d'))} for the average customer."
        )
    else:
        parts.append("No CLV prediction: none of them has a completed order yet.")
    parts.append(OFFLINE_LABEL)
    return " ".join(parts)


def _recommendations(
    facts: dict[str, Any],
    top_category: dict[str, Any] | None,
    top_weekday: dict[str, Any] | None,
    hours: list[dict[str, Any]],
    top_channel: dict[str, Any] | None,
) -> list[dict[str, str]]:
    opted_in = (facts.get("marketing_opt_in_share") or 0) >= 0.5
    channel = "e-mail" if opted_in else (top_channel["channel"] if top_channel else "the web shop")
    if not (top_weekday and hours):
        timing = "within a week of sign-up or of the next seasonal campaign"
    else:
        day = f"{top_weekday['day']}s" if _marked_weekday(top_weekday) else "any day"
        hour = f" around {hours[0]['hour']:02d}:00 UTC" if _marked_hours(hours) else ""
        timing = (
            f"{day}{hour}"
            if day != "any day" or hour
            else "any day: no marked weekday or hour in their orders"
        )
    discount_led = (facts.get("discounted_item_share") or 0) >= DISCOUNT_LED_SHARE
    if top_category is None:  # nothing bought yet: the first order is the goal
        first_offer = "a welcome discount on a first order from the best-selling categories"
    elif discount_led:
        first_offer = f"a limited discount on {top_category['category']}"
    else:
        first_offer = f"new arrivals and bundles in {top_category['category']}"
    recommendations = [{"channel": channel, "timing": timing, "offer": first_offer}]
    if not facts.get("is_clustered"):
        recommendations.append(
            {
                "channel": "the lifecycle flow for this group",
                "timing": "when a customer enters the group",
                "offer": "the group's own rule (for example a first-order incentive), not a segment campaign",
            }
        )
    elif (_clv_ratio(facts) or 0) >= 1.3:
        recommendations.append(
            {"channel": channel, "timing": "ahead of launches", "offer": "early access and a loyalty reward"}
        )
    else:
        churn = facts.get("average_churn_risk") or 0
        recommendations.append(
            {
                "channel": channel,
                "timing": "30 days after the last order" if churn >= HIGH_CHURN_RISK else "monthly",
                "offer": "a win-back voucher"
                if churn >= HIGH_CHURN_RISK
                else "a cross-sell of related categories",
            }
        )
    if not opted_in and top_channel:
        recommendations.append(
            {
                "channel": top_channel["channel"],
                "timing": "at checkout",
                "offer": "a small incentive to opt in to marketing",
            }
        )
    return recommendations


def _marked_weekday(top_weekday: dict[str, Any]) -> bool:
    """A weekday worth naming: one that scores 3 or more for WHEN."""
    return score(top_weekday["share"], TOP_WEEKDAY_SHARE_SCORES) >= 3


def _marked_hours(hours: list[dict[str, Any]]) -> bool:
    """Hours worth naming: the three busiest score 3 or more for WHEN."""
    return score(sum(hour["share"] for hour in hours[:3]), TOP_HOURS_SHARE_SCORES) >= 3


def _timing_sentence(top_weekday: dict[str, Any], hours: list[dict[str, Any]]) -> str:
    """When they order, naming only a day or hour that stands out (an even spread is said to be one)."""
    day = f"They order most on {top_weekday['day']}s ({top_weekday['share']:.0%} of orders)"
    hour_share = sum(hour["share"] for hour in hours[:3])
    if _marked_weekday(top_weekday) and _marked_hours(hours):
        return f"{day}, often around {hours[0]['hour']:02d}:00 UTC."
    if _marked_weekday(top_weekday):
        return f"{day}, at no marked hour."
    if _marked_hours(hours):
        return (
            f"Their orders gather around {hours[0]['hour']:02d}:00 UTC ({hour_share:.0%} in their three busiest "
            "hours), on no marked weekday."
        )
    return "Their orders spread evenly over the week and the day."


def _confidence(facts: dict[str, Any]) -> dict[str, str]:
    customers = facts["customers"]
    robustness = facts.get("overall_robustness")
    low = []
    if not facts.get("is_clustered"):
        low.append("an explicit group, not a cluster")
    if customers < LOW_CONFIDENCE_CUSTOMERS:
        low.append(f"only {customers:,} customers")
    if robustness is not None and robustness < LOW_CONFIDENCE_ROBUSTNESS:
        low.append(f"robustness {robustness:.2f}")
    if facts.get("is_axis_silhouette_poor"):
        low.append("the axis separates customers poorly")
    if low:
        return {"confidence": "low", "confidence_reason": "Low because of " + "; ".join(low) + "."}
    described = (
        f"{customers:,} customers, robustness {robustness:.2f}, "
        f"{'viable' if facts.get('is_viable') else 'not viable (' + str(facts.get('not_viable_because')) + ')'}"
    )
    if (
        customers >= HIGH_CONFIDENCE_CUSTOMERS
        and robustness is not None
        and robustness >= HIGH_CONFIDENCE_ROBUSTNESS
        and facts.get("is_viable")
    ):
        return {"confidence": "high", "confidence_reason": f"High: {described}."}
    return {"confidence": "medium", "confidence_reason": f"Medium: {described}."}


def _clv_ratio(facts: dict[str, Any]) -> float | None:
    population = facts.get("population_average_clv_365d")
    if not population:
        return None
    return (facts.get("average_clv_365d") or 0) / population


def _first(items: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    return items[0] if items else None


def _money(value: float | None) -> str:
    return f"{value or 0:,.2f}"
