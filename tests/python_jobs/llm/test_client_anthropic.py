"""LLMClient through the real Anthropic SDK against FakeMessagesAPI: attempts, archive, cache, retries, errors."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time

import pydantic
import pytest

from python_jobs.llm import (
    LLMAuthenticationError,
    LLMOutputError,
    LLMQuotaError,
    LLMRequestError,
    LLMTimeoutError,
    LLMUnavailableError,
)
from python_jobs.llm.client import JSON_ONLY_INSTRUCTION
from python_jobs.testing.fake_messages_api import FakeReply

VALID = {"label": "snacks", "product_ids": [1, 2]}
FILE_NAME = re.compile(r"^\d{8}T\d{9}Z_(?P<batch>[A-Za-z0-9_-]+)_a(?P<attempt>\d+)_[0-9a-f]{8}\.json$")
METADATA_FIELDS = {
    "run_id",
    "llm_interaction_id",
    "phase",
    "task",
    "batch_id",
    "attempt",
    "model",
    "provider",
    "temperature",
    "timestamp",
    "cache_key",
    "schema_version",
    "duration_ms",
    "batch_size",
    "product_ids",
    "input_tokens",
    "output_tokens",
    "tokens_estimated",
    "stop_reason",
    "valid",
    "error",
    "llm_config",
}


def archived(archive, phase="extraction", prefix="product_segmentation/RUN_1"):
    """The archived attempt documents of one phase, by file name (which sorts by time)."""
    folder = archive.root / prefix / phase
    if not folder.exists():
        return {}
    return {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def test_a_valid_reply_is_parsed_archived_and_cached(fake_messages_api, make_client, run_call, archive):
    fake_messages_api.enqueue(FakeReply.json(VALID, input_tokens=120, output_tokens=30))
    seen = []

    result = run_call(make_client(), batch_label="b3", product_ids=[7, 8, 9], on_interaction=seen.append)

    assert fake_messages_api.request_count == 1
    assert result.parsed.label == "snacks"
    assert (result.attempt, result.cache_hit, result.input_tokens, result.output_tokens) == (
        1,
        False,
        120,
        30,
    )
    assert seen == [result]
    files = archived(archive)
    assert len(files) == 1
    [(name, document)] = files.items()
    match = FILE_NAME.match(name)
    assert match
    assert match["batch"] == "b3"
    assert match["attempt"] == "1"
    assert result.file_path == f"product_segmentation/RUN_1/extraction/{name}"
    metadata = document["metadata"]
    assert set(metadata) == METADATA_FIELDS
    assert metadata["run_id"] == "RUN_1"
    assert metadata["llm_interaction_id"] == result.interaction_id
    assert (metadata["batch_id"], metadata["batch_size"], metadata["product_ids"]) == ("b3", 3, [7, 8, 9])
    assert (metadata["provider"], metadata["model"], metadata["temperature"]) == (
        "anthropic",
        "claude-sonnet-5-5",
        0.15,
    )
    assert (metadata["input_tokens"], metadata["output_tokens"], metadata["stop_reason"]) == (
        120,
        30,
        "end_turn",
    )
    assert metadata["valid"] is True
    assert metadata["error"] is None
    assert metadata["cache_key"] == result.cache_key
    assert metadata["timestamp"].endswith("Z")
    assert document["prompt"]["user"] == "Label products 1 and 2."
    assert json.loads(document["response"]) == VALID
    assert archive.find_by_cache_key(result.cache_key) == result.file_path


def test_the_request_is_what_api_version_2026_10_21_accepts(fake_messages_api, make_client, run_call):
    """System text with the JSON-only instruction, one user message, and no sampling parameters (refused)."""
    fake_messages_api.enqueue(FakeReply.json(VALID))

    run_call(make_client(max_tokens=1234))

    [request] = fake_messages_api.requests
    body = request.json
    assert body["system"].startswith("You label products.")
    assert body["system"].endswith(JSON_ONLY_INSTRUCTION)
    assert body["messages"] == [{"role": "user", "content": "Label products 1 and 2."}]
    assert (body["model"], body["max_tokens"]) == ("claude-sonnet-5-5", 1234)
    assert not {"temperature", "top_p", "top_k"} & set(body)
    assert request.headers["anthropic-version"] == "2026-10-21"


def test_a_429_is_retried_by_the_sdk_after_the_retry_after_it_asks_for(
    fake_messages_api, make_client, run_call
):
    fake_messages_api.enqueue(FakeReply.rate_limited(retry_after="1"), FakeReply.json(VALID))

    result = run_call(make_client())

    first, second = fake_messages_api.requests
    assert second.received_at - first.received_at >= 0.95
    assert result.attempt == 1  # transport retries are the SDK's, not one of our attempts


def test_a_500_is_retried_by_the_sdk(fake_messages_api, make_client, run_call, archive):
    fake_messages_api.enqueue(FakeReply.error(500, "Internal server error"), FakeReply.json(VALID))

    result = run_call(make_client())

    assert fake_messages_api.request_count == 2
    assert result.parsed.label == "snacks"
    assert len(archived(archive)) == 1


def test_a_reply_slower_than_the_timeout_raises_without_retries(
    fake_messages_api, make_client, run_call, archive
):
    fake_messages_api.enqueue(FakeReply(text=json.dumps(VALID), delay_seconds=2.0))

    with pytest.raises(LLMTimeoutError, match=r"within 0\.3s"):
        run_call(make_client(timeout_seconds=0.3, max_retries=0))

    assert fake_messages_api.request_count == 1
    [document] = archived(archive).values()
    assert document["metadata"]["valid"] is False
    assert document["metadata"]["error"].startswith("LLMTimeoutError")
    assert document["response"] is None


def test_a_timeout_is_retried_when_retries_are_allowed(fake_messages_api, make_client, run_call):
    fake_messages_api.enqueue(FakeReply(text=json.dumps(VALID), delay_seconds=2.0), FakeReply.json(VALID))

    result = run_call(make_client(timeout_seconds=0.3, max_retries=1))

    assert fake_messages_api.request_count == 2
    assert result.parsed.label == "snacks"


def test_malformed_json_is_retried_as_a_new_attempt(fake_messages_api, make_client, run_call, archive):
    fake_messages_api.enqueue(
        FakeReply(text='{"label": "snacks", "product_ids": [1, 2'), FakeReply.json(VALID)
    )

    result = run_call(make_client())

    assert fake_messages_api.request_count == 2
    assert result.attempt == 2
    files = archived(archive)
    assert [FILE_NAME.match(name)["attempt"] for name in files] == ["1", "2"]
    first, second = files.values()
    assert first["metadata"]["valid"] is False
    assert "no JSON object" in first["metadata"]["error"]
    assert second["metadata"]["valid"] is True
    assert first["metadata"]["llm_interaction_id"] == second["metadata"]["llm_interaction_id"]
    assert archive.find_by_cache_key(result.cache_key) == result.file_path
    assert result.file_path.endswith(list(files)[1])


def test_a_reply_cut_off_at_max_tokens_is_retried(fake_messages_api, make_client, run_call, archive):
    fake_messages_api.enqueue(
        FakeReply(text='{"label": "snacks", "product_ids": [1,', stop_reason="max_tokens"),
        FakeReply.json(VALID),
    )

    result = run_call(make_client())

    assert result.attempt == 2
    first = next(iter(archived(archive).values()))
    assert first["metadata"]["stop_reason"] == "max_tokens"
    assert "cut off" in first["metadata"]["error"]


def test_a_cut_off_reply_is_invalid_even_when_its_text_parses(fake_messages_api, make_client, run_call):
    fake_messages_api.enqueue(FakeReply.json(VALID, stop_reason="max_tokens"), FakeReply.json(VALID))

    assert run_call(make_client()).attempt == 2


def test_fenced_json_with_prose_around_it_is_accepted(fake_messages_api, make_client, run_call):
    fake_messages_api.enqueue(
        FakeReply(text=f"Here you go:\n```json\n{json.dumps(VALID)}\n```\nHope that helps!")
    )

    assert run_call(make_client()).parsed.product_ids == [1, 2]


def test_output_that_never_validates_fails_after_max_attempts(
    fake_messages_api, make_client, run_call, archive
):
    fake_messages_api.responder = lambda request: FakeReply.json({"label": "snacks"})

    with pytest.raises(LLMOutputError) as failure:
        run_call(make_client(max_attempts=3))

    assert fake_messages_api.request_count == 3
    assert failure.value.attempts == 3
    assert "product_ids: Field required" in failure.value.reason
    assert "Label products" not in str(failure.value)
    assert len(failure.value.file_paths) == 3
    assert [document["metadata"]["attempt"] for document in archived(archive).values()] == [1, 2, 3]
    assert not (archive.root / ".cache_index").exists()


def test_an_identical_call_is_answered_from_the_cache(fake_messages_api, make_client, run_call):
    fake_messages_api.enqueue(FakeReply.json(VALID))
    first = run_call(make_client())
    seen = []

    second = run_call(make_client(), on_interaction=seen.append)

    assert fake_messages_api.request_count == 1
    assert second.cache_hit
    assert seen == [second]
    assert (second.file_path, second.cache_key, second.raw_text) == (
        first.file_path,
        first.cache_key,
        first.raw_text,
    )
    assert second.interaction_id != first.interaction_id
    assert (second.input_tokens, second.output_tokens) == (0, 0)


def test_the_cache_serves_a_new_run_from_an_earlier_runs_archive(
    fake_messages_api, make_client, run_call, archive
):
    fake_messages_api.enqueue(FakeReply.json(VALID))
    first = run_call(make_client())

    later = run_call(make_client(run_id="RUN_2", prefix="product_segmentation/RUN_2"))

    assert fake_messages_api.request_count == 1
    assert later.cache_hit
    assert later.file_path == first.file_path  # the file actually used, in RUN_1's folder
    assert archived(archive, prefix="product_segmentation/RUN_2") == {}


def test_a_changed_prompt_or_schema_version_misses_the_cache(
    fake_messages_api, make_client, make_request, run_call
):
    fake_messages_api.responder = lambda request: FakeReply.json(VALID)
    run_call(make_client())

    run_call(make_client(), make_request(schema_version="v2"))
    run_call(make_client(), make_request(prompt="Label products 1 and 2, please."))

    assert fake_messages_api.request_count == 3


def test_a_quota_429_stops_at_once_instead_of_being_retried(fake_messages_api, make_client, run_call):
    fake_messages_api.responder = lambda request: FakeReply.rate_limited(
        "You have exceeded your monthly token quota.", retry_after="0"
    )

    with pytest.raises(LLMQuotaError, match="quota"):
        run_call(make_client(max_retries=3))

    assert fake_messages_api.request_count == 1


def test_a_429_that_persists_through_the_sdk_retries_is_a_quota_error(
    fake_messages_api, make_client, run_call
):
    fake_messages_api.responder = lambda request: FakeReply.rate_limited(
        retry_after=None, retry_after_ms="10"
    )

    with pytest.raises(LLMQuotaError, match="rate limited after 2 SDK retries"):
        run_call(make_client(max_retries=2))

    assert fake_messages_api.request_count == 3


def test_an_ordinary_rate_limit_is_retried_even_if_its_message_links_to_billing(
    fake_messages_api, make_client, run_call
):
    fake_messages_api.enqueue(
        FakeReply.rate_limited(
            "This request would exceed the rate limit of 50,000 input tokens per minute. "
            "See https://console.anthropic.com/settings/billing for your plan's limits.",
            retry_after=None,
            retry_after_ms="10",
        ),
        FakeReply.json(VALID),
    )

    assert run_call(make_client()).parsed.label == "snacks"
    assert fake_messages_api.request_count == 2


def test_a_retry_after_beyond_the_cap_is_not_waited_for(fake_messages_api, make_client, run_call):
    fake_messages_api.responder = lambda request: FakeReply.rate_limited(retry_after="3600")
    started = time.monotonic()

    with pytest.raises(LLMQuotaError, match="retry after 3600s"):
        run_call(make_client(max_retries=3, max_retry_after_seconds=30))

    assert fake_messages_api.request_count == 1
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(403, "permission_error"), (400, "invalid_request_error"), (400, "billing_error")],
)
def test_a_low_credit_balance_is_a_quota_error(fake_messages_api, make_client, run_call, status, error_type):
    fake_messages_api.enqueue(
        FakeReply.error(
            status, "Your credit balance is too low to access the Anthropic API.", error_type=error_type
        )
    )

    with pytest.raises(LLMQuotaError, match="credit balance is too low"):
        run_call(make_client())

    assert fake_messages_api.request_count == 1


def test_a_refused_request_is_not_retried(fake_messages_api, make_client, run_call, archive):
    fake_messages_api.enqueue(FakeReply.error(400, "messages: prompt is too long"))

    with pytest.raises(LLMRequestError, match="HTTP 400 invalid_request_error: messages: prompt is too long"):
        run_call(make_client())

    assert fake_messages_api.request_count == 1
    [document] = archived(archive).values()
    assert "prompt is too long" in document["metadata"]["error"]


def test_a_refused_key_is_an_authentication_error_naming_the_variable(
    fake_messages_api, make_client, run_call
):
    fake_messages_api.enqueue(FakeReply.error(401, "invalid x-api-key"))

    with pytest.raises(LLMAuthenticationError, match="ANTHROPIC_API_KEY"):
        run_call(make_client())


def test_an_overloaded_api_is_unavailable_after_the_sdk_retries(fake_messages_api, make_client, run_call):
    fake_messages_api.responder = lambda request: FakeReply.error(
        529, "Overloaded", headers={"retry-after-ms": "10"}
    )

    with pytest.raises(LLMUnavailableError, match="HTTP 529 overloaded_error"):
        run_call(make_client(max_retries=1))

    assert fake_messages_api.request_count == 2


def test_an_unreachable_api_is_unavailable(fake_messages_api, make_client, run_call):
    client = make_client(max_retries=0)
    fake_messages_api.stop()

    with pytest.raises(LLMUnavailableError, match=r"could not reach the Anthropic API at 127\.0\.0\.1"):
        run_call(client)


def test_no_more_than_max_concurrency_requests_are_in_flight(fake_messages_api, make_client, make_request):
    fake_messages_api.delay_seconds = 0.15
    fake_messages_api.responder = lambda request: FakeReply.json(VALID)
    client = make_client(max_concurrency=2)

    async def six_batches():
        async with client:
            return await asyncio.gather(
                *(
                    client.call(
                        make_request(prompt=f"batch {n}"),
                        phase="extraction",
                        batch_label=f"b{n}",
                        product_ids=[n],
                    )
                    for n in range(6)
                )
            )

    started = time.monotonic()
    results = asyncio.run(six_batches())

    assert len(results) == 6
    assert fake_messages_api.request_count == 6
    assert fake_messages_api.max_in_flight == 2
    assert time.monotonic() - started >= 3 * 0.15


def test_prompt_templates_are_stored_beside_the_run(make_client, archive):
    path = make_client().write_prompt_template("extraction", "Label these: {products}")

    assert path == "product_segmentation/RUN_1/prompts/extraction_prompt.txt"
    assert archive.read_text(path) == "Label these: {products}"


class WiderVerdict(pydantic.BaseModel):
    """`Verdict` with one more field, under the same schema version."""

    label: str
    product_ids: list[int]
    note: str = ""


def test_the_answer_schema_is_sent_as_structured_output_and_keys_the_cache(
    fake_messages_api, make_client, make_request, run_call
):
    fake_messages_api.responder = lambda request: FakeReply.json(VALID)
    run_call(make_client())

    changed_model = dataclasses.replace(make_request(), output_model=WiderVerdict)
    run_call(make_client(), changed_model)

    first, second = fake_messages_api.requests
    assert first.json["output_config"]["format"]["type"] == "json_schema"
    sent = first.output_schema
    assert sent["title"] == "Verdict"
    assert sent["required"] == ["label", "product_ids"]
    assert sent["additionalProperties"] is False
    assert sent["properties"]["product_ids"]["items"]["type"] == "integer"
    assert "note" in second.output_schema["properties"]
