"""Responders for `FakeMessagesAPI` that answer the product segmentation prompts, and helpers that read the
requests back: used by the tests and the benchmark, never by the runtime.

`offline_responder` answers each prompt as the offline provider would (valid JSON, no LLM), so a job driven
through the real Anthropic SDK against the fake server behaves as it would against a well-behaved model.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from python_jobs.product_segmentation.offline_embeddings import answer_prompt
from python_jobs.product_segmentation.prompts import OUTPUT_MODELS, parse_prompt
from python_jobs.testing.fake_messages_api import FakeReply, output_schema_of


def prompt_text(request_json: dict[str, Any]) -> str:
    """The user message of a Messages API request body, whether sent as a string or as text blocks."""
    content = request_json["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if isinstance(block, dict))


def request_task(request_json: dict[str, Any]) -> str:
    """Which of the three prompts a recorded request carried."""
    return parse_prompt(prompt_text(request_json))[0]


def offline_responder(request_json: dict[str, Any], backend: str = "auto") -> FakeReply:
    """A FakeMessagesAPI responder answering each prompt as the offline provider would: valid JSON, no LLM.

    Like the API, it answers in the shape of the schema it was sent: a schema that is not the prompt's task's
    answer model gets a 400 rather than an answer the job would have to reject.
    """
    text = prompt_text(request_json)
    schema = output_schema_of(request_json)
    expected = OUTPUT_MODELS[parse_prompt(text)[0]].__name__
    if schema is not None and schema.get("title") != expected:
        return FakeReply.error(400, f"expected the {expected} answer schema, got {schema.get('title')!r}")
    return FakeReply(text=answer_prompt(text, backend))


def paced_offline_responder(delay: float, backend: str = "tfidf") -> Callable[[dict[str, Any]], FakeReply]:
    """The offline responder answering `delay` seconds after the request arrived, its own work included.

    The fake server works out a reply before it waits; left as it is, the handlers' time would come on top of
    the delay and be charged to the job. Run the server with no delay of its own and use this instead. Its
    answers come from the TF-IDF embedding handlers by default: MiniLM's take longer than a short delay on two
    cores, and the time a stand-in model needs to answer is not the job's to measure.
    """

    def respond(request_json: dict[str, Any]) -> FakeReply:
        started = time.perf_counter()
        reply = offline_responder(request_json, backend)
        return dataclasses.replace(reply, delay_seconds=max(0.0, delay - (time.perf_counter() - started)))

    return respond
