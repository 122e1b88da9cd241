"""`segments bench-insights`: the segment insights of a many-axis run against the fake Messages API.

The segments are synthetic (facts shaped as `inputs.read_segment_facts` makes them, no warehouse), so the
benchmark measures the job's scheduling, not a build: every segment is one call, all in flight under the
client's concurrency limit, so the ideal wall time is ceil(segments / concurrency) x latency. A second run over
the same facts and archive must be answered from the cache, with no call at all.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The benchmark's targets (issue 11): calls = segments, wall time within 1.5x the ideal schedule, 0 calls again.
MAX_SCHEDULE_RATIO = 1.5
BENCH_API_KEY = "sk-ant-bench-insights-0000"
_CATEGORIES = ("electronics", "fashion", "home", "beauty", "sports", "books", "toys", "grocery")
_CHANNELS = ("web", "app", "store")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass
class InsightsBench:
    segments: int
    latency: float
    concurrency: int
    calls: int = 0
    max_in_flight: int = 0
    wall_seconds: float = 0.0
    rerun_calls: int = 0
    rerun_seconds: float = 0.0

    @property
    def ideal_seconds(self) -> float:
        return math.ceil(self.segments / self.concurrency) * self.latency

    @property
    def schedule_ratio(self) -> float:
        return self.wall_seconds / self.ideal_seconds if self.ideal_seconds else 0.0

    @property
    def passed(self) -> bool:
        on_schedule = not self.ideal_seconds or self.schedule_ratio <= MAX_SCHEDULE_RATIO
        return self.calls == self.segments and on_schedule and self.rerun_calls == 0

    def describe(self) -> str:
        return "\n".join(
            [
                f"segments bench-insights: {self.segments} segments, fake Messages API answering after "
                f"{self.latency:.2f}s, concurrency {self.concurrency}",
                f"  calls {self.calls} (target {self.segments}), at most {self.max_in_flight} in flight",
                f"  wall time {self.wall_seconds:.2f}s vs ideal schedule {self.ideal_seconds:.2f}s "
                f"({math.ceil(self.segments / self.concurrency)} rounds): {self.schedule_ratio:.2f}x "
                f"(target <= {MAX_SCHEDULE_RATIO}x)",
                f"  second run: {self.rerun_calls} calls (target 0), {self.rerun_seconds:.2f}s",
                f"  {'PASS' if self.passed else 'FAIL'}",
            ]
        )


def synthetic_segments(axes: int, segments_per_axis: int, seed: int = 7) -> list[Any]:
    """Facts for `axes` x `segments_per_axis` clustered segments, deterministic for a seed."""
    from python_jobs.insights.inputs import SegmentFacts, SegmentKey

    rng = random.Random(seed)
    segments = []
    for axis_number in range(1, axes + 1):
        axis = f"axis_{axis_number:02d}"
        for segment_id in range(1, segments_per_axis + 1):
            name = f"segment_{segment_id}"
            customers = rng.randint(200, 20_000)
            clv = round(rng.uniform(5, 400), 2)
            facts = {
                "axis": axis,
                "segment": name,
                "is_clustered": True,
                "defining_features": "orders per month far above average (1.91 vs 0.51)",
                "customers": customers,
                "customer_share": round(1 / segments_per_axis, 4),
                "average_lifetime_value": round(clv * 1.5, 2),
                "average_clv_365d": clv,
                "total_clv_365d": round(clv * customers),
                "expected_roi": round((0.05 * clv - 2) / 2, 3),
                "campaign_assumption": {"uplift_rate": 0.05, "contact_cost_per_customer": 2.0},
                "population_average_clv_365d": 120.0,
                "overall_robustness": round(rng.uniform(0.3, 0.95), 2),
                "bootstrap_stability": "stable",
                "is_axis_silhouette_poor": False,
                "is_viable": True,
                "not_viable_because": None,
                "marketing_opt_in_share": round(rng.uniform(0.1, 0.9), 3),
                "discounted_item_share": round(rng.uniform(0, 0.6), 3),
                "average_churn_risk": round(rng.uniform(0, 1), 3),
                "top_categories": [
                    {"category": category, "share": round(rng.uniform(0.1, 0.6), 3)}
                    for category in rng.sample(_CATEGORIES, 3)
                ],
                "preferred_weekdays": [
                    {"day": rng.choice(_DAYS), "share": round(rng.uniform(0.14, 0.35), 3)}
                ],
                "preferred_hours": [{"hour": rng.randint(0, 23), "share": round(rng.uniform(0.04, 0.2), 3)}],
                "sales_channels": [
                    {"channel": rng.choice(_CHANNELS), "share": round(rng.uniform(0.3, 0.9), 3)}
                ],
            }
            segments.append(SegmentFacts(SegmentKey(axis, segment_id, name, True), facts))
    return segments


def bench(
    axes: int = 13, segments_per_axis: int = 6, latency: float = 0.2, concurrency: int = 4
) -> InsightsBench:
    # The SDK takes over a second to import: a one-off cost of the process, not of the schedule being measured.
    import anthropic  # noqa: F401

    from python_jobs.insights.job import new_run_id, run_explanations
    from python_jobs.llm.config import LLMConfig
    from python_jobs.llm.providers import AnthropicProvider
    from python_jobs.testing.fake_messages_api import FakeMessagesAPI
    from python_jobs.testing.insight_responders import paced_insight_responder

    segments = synthetic_segments(axes, segments_per_axis)
    result = InsightsBench(len(segments), latency, concurrency)
    with (
        tempfile.TemporaryDirectory(prefix="segments-bench-insights-") as scratch,
        FakeMessagesAPI(paced_insight_responder(latency), require_output_schema=True) as api,
    ):
        config = LLMConfig(
            provider="anthropic", model="claude-bench", base_url=api.base_url, max_concurrency=concurrency
        )
        for attempt in ("first", "second"):
            provider = AnthropicProvider(config, api_key=BENCH_API_KEY)
            api.reset()
            started = time.perf_counter()
            run_explanations(config, segments, new_run_id(dt.datetime.now(dt.UTC)), Path(scratch), provider)
            elapsed = time.perf_counter() - started
            if attempt == "first":
                result.calls, result.max_in_flight, result.wall_seconds = (
                    api.request_count,
                    api.max_in_flight,
                    elapsed,
                )
            else:
                result.rerun_calls, result.rerun_seconds = api.request_count, elapsed
    return result
