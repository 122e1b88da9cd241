"""Responders for `FakeMessagesAPI` that answer the segment insights prompt, for the tests and the benchmark.

`insight_responder` answers as the offline rules would (valid JSON, no LLM), and only when the request carries
the `SegmentInsight` answer schema, as the real API answers in the shape of the schema it was sent.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

from python_jobs.insights.offline import explain
from python_jobs.insights.prompts import SegmentInsight, facts_in_prompt
from python_jobs.testing.fake_messages_api import FakeReply, output_schema_of
from python_jobs.testing.product_responders import prompt_text


def insight_responder(request_json: dict[str, Any]) -> FakeReply:
    schema = output_schema_of(request_json) or {}
    if schema.get("title") != SegmentInsight.__name__:
        return FakeReply.error(
            400, f"expected the {SegmentInsight.__name__} answer schema, got {schema.get('title')!r}"
        )
    return FakeReply(text=json.dumps(explain(facts_in_prompt(prompt_text(request_json)))))


def paced_insight_responder(delay: float) -> Callable[[dict[str, Any]], FakeReply]:
    """`insight_responder` answering `delay` seconds after the request arrived, its own work included."""

    def respond(request_json: dict[str, Any]) -> FakeReply:
        started = time.perf_counter()
        reply = insight_responder(request_json)
        return dataclasses.replace(reply, delay_seconds=max(0.0, delay - (time.perf_counter() - started)))

    return respond


def prompt_facts(request_json: dict[str, Any]) -> dict[str, Any]:
    """The segment facts a recorded request carried."""
    return facts_in_prompt(prompt_text(request_json))
