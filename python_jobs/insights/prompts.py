"""The one prompt of segment insights, the answer it asks for, and the verdict rule.

The prompt is a fixed template plus the segment's facts as ONE fenced JSON block: aggregates only (see
`inputs.py`), never a customer id, name, e-mail or row. The same block lets the offline rules and the fake
Messages API answer from the prompt alone (`facts_in_prompt`). The answer model is sent to the API as the
structured-output schema and validated again when the answer comes back.

The verdict is not the model's to give: it follows from the four scores by `is_actionable`, the rule written
down here, so an answer cannot call a segment actionable against its own scores.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TASK = "explain_segment"
# Bumped whenever the template or the answer model changes (the answer's schema is in the cache key as well).
SCHEMA_VERSION = "segment-insights-v2"

# The verdict: a clustered segment is actionable when at least this many of the four dimensions score at
# least this much. Explicit segments (no_orders, ...) are not actionable by clustering, whatever their scores.
ACTIONABLE_MIN_SCORE = 3
ACTIONABLE_MIN_DIMENSIONS = 3
DIMENSIONS = ("what", "when", "how", "who")

_FENCED_JSON = re.compile(r"```json\s*\n(.*?)\n```", re.DOTALL)


class PromptError(ValueError):
    """A prompt without the fenced JSON facts this module writes."""


class _Answer(BaseModel):
    # Extra keys are tolerated (models like to add notes); missing or mistyped ones are not.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class CampaignRecommendation(_Answer):
    channel: str = Field(
        min_length=1, max_length=200, description="How to reach them, e.g. e-mail, app push."
    )
    timing: str = Field(
        min_length=1, max_length=200, description="When, from their preferred days and hours."
    )
    offer: str = Field(min_length=1, max_length=400, description="What to offer, from what they buy.")


class SegmentInsight(_Answer):
    """What the model answers for one segment."""

    what_score: int = Field(ge=1, le=5, description="1-5: how clear their product preferences are (WHAT).")
    when_score: int = Field(ge=1, le=5, description="1-5: how clear their timing patterns are (WHEN).")
    how_score: int = Field(ge=1, le=5, description="1-5: how clear the channels to reach them are (HOW).")
    who_score: int = Field(ge=1, le=5, description="1-5: how much they are worth (WHO).")
    actionability_reason: str = Field(min_length=1, max_length=400, description="One line: why (not).")
    executive_summary: str = Field(min_length=1, max_length=2000, description="Business language, 2-4 lines.")
    recommendations: list[CampaignRecommendation] = Field(min_length=2, max_length=3)
    expected_roi: float | None = Field(
        description="Expected return on a campaign, as a ratio (0.5 = 50 %); null when the facts' is null "
        "(no customer of the segment has a CLV prediction)."
    )
    expected_roi_assumption: str = Field(min_length=1, max_length=400)
    confidence: Literal["low", "medium", "high"]
    confidence_reason: str = Field(min_length=1, max_length=400)

    def scores(self) -> tuple[int, int, int, int]:
        return (self.what_score, self.when_score, self.how_score, self.who_score)


def is_actionable(scores: tuple[int, ...], *, is_clustered: bool) -> bool:
    """The verdict rule: a clustered segment with at least three of the four scores at 3 or more."""
    strong = sum(score >= ACTIONABLE_MIN_SCORE for score in scores)
    return is_clustered and strong >= ACTIONABLE_MIN_DIMENSIONS


SYSTEM = (
    "You are a senior CRM and marketing analyst. You explain customer segments to marketers in plain business "
    "language and judge whether a segment is worth a targeted campaign. You only see aggregates of a segment, "
    "never individual customers; do not invent numbers that are not in the facts."
)

TEMPLATE = f"""Task: {TASK}

Explain one customer segment from the facts below (aggregates of the segment; money in the shop's currency,
shares as fractions of 1, hours in UTC, CLV = predicted customer lifetime value over the next 365 days).

Score four dimensions from 1 (no usable signal) to 5 (a very clear, usable signal):
- what_score, WHAT they buy: how concentrated their spend is on a few product categories;
- when_score, WHEN they buy: how concentrated their orders are on some weekdays or hours;
- how_score, HOW to reach them: marketing opt-in share and how dominant one sales channel is;
- who_score, WHO they are worth: their predicted CLV against the average customer's.
The warehouse calls a segment actionable when it is a clustered segment and at least {ACTIONABLE_MIN_DIMENSIONS}
dimensions score {ACTIONABLE_MIN_SCORE} or more; give a one-line actionability_reason. A segment with
"is_clustered": false is an explicit group (for example customers without orders), not a cluster: say it is not
actionable by clustering and why.

Then write an executive_summary for a marketer, two or three recommendations (channel, timing, offer) grounded in
the facts, the expected_roi (start from the facts' expected_roi; null when it is null: no customer of the segment
has a CLV prediction) with the assumption it rests on, and a
confidence (low, medium or high) with its justification from the segment's size, predicted CLV, robustness and
viability.

Facts:
```json
{{{{facts_json}}}}
```"""


def prompt_for(facts: dict[str, Any]) -> str:
    """The user message for one segment: the template with its facts as canonical JSON."""
    return TEMPLATE.replace("{{facts_json}}", json.dumps(facts, sort_keys=True, indent=1, ensure_ascii=False))


def facts_in_prompt(prompt: str) -> dict[str, Any]:
    """The facts a prompt of `prompt_for` carries."""
    match = _FENCED_JSON.search(prompt)
    if match is None:
        raise PromptError("the prompt carries no fenced JSON facts")
    facts = json.loads(match.group(1))
    if not isinstance(facts, dict):
        raise PromptError("the prompt's facts are not a JSON object")
    return facts
