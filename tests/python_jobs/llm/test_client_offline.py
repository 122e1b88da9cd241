"""The offline provider through LLMClient: same archive, cache and validation as a real run, no network."""

from __future__ import annotations

import asyncio
import json

import pytest

from python_jobs.llm import (
    LLMClient,
    LLMConfig,
    LLMOutputError,
    LLMRequestError,
    LocalArchiveStorage,
    OfflineProvider,
    make_provider,
)
from python_jobs.llm.client import extract_json_object
from python_jobs.testing.fake_messages_api import FakeReply


def label_products(payload):
    return {"product_ids": payload["product_ids"], "label": "offline"}


def offline_client(archive, run_id="RUN_1", handlers=None, **overrides):
    config = LLMConfig(provider="offline", **{"offline_model": "offline-tfidf-v1", **overrides})
    provider = make_provider(config, handlers if handlers is not None else {"label_products": label_products})
    return LLMClient(config, provider, archive, run_id, f"product_segmentation/{run_id}")


def call(client, request, **kwargs):
    kwargs = {"phase": "extraction", "batch_label": "all", "product_ids": [1, 2]} | kwargs
    return asyncio.run(client.call(request, **kwargs))


def documents(archive, run_id="RUN_1"):
    folder = archive.root / "product_segmentation" / run_id / "extraction"
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def test_the_offline_path_archives_like_a_real_run(archive, make_request):
    client = offline_client(archive)
    assert isinstance(client.provider, OfflineProvider)

    result = call(client, make_request())

    assert result.parsed.model_dump() == {"label": "offline", "product_ids": [1, 2]}
    assert result.raw_text == '{"label": "offline", "product_ids": [1, 2]}'  # sorted keys: deterministic
    assert result.output_tokens == len(result.raw_text) // 4
    assert result.file_path.startswith("product_segmentation/RUN_1/extraction/")
    assert result.file_path.endswith(".json")
    assert "_all_a1_" in result.file_path
    [document] = documents(archive)
    metadata = document["metadata"]
    assert (metadata["provider"], metadata["model"], metadata["stop_reason"]) == (
        "offline",
        "offline-tfidf-v1",
        "end_turn",
    )
    assert metadata["llm_config"]["model"] == "offline-tfidf-v1"
    assert metadata["valid"] is True
    assert archive.find_by_cache_key(result.cache_key) == result.file_path


def test_offline_and_anthropic_archives_have_the_same_structure(
    archive, make_request, fake_messages_api, make_client, run_call
):
    call(offline_client(archive, run_id="RUN_OFF"), make_request())
    fake_messages_api.enqueue(FakeReply.json({"label": "x", "product_ids": [1, 2]}))
    run_call(make_client())

    [offline] = documents(archive, "RUN_OFF")
    [anthropic] = documents(archive, "RUN_1")
    assert offline.keys() == anthropic.keys()
    assert offline["metadata"].keys() == anthropic["metadata"].keys()
    assert offline["prompt"].keys() == anthropic["prompt"].keys()


def test_offline_answers_are_cached_and_identical_across_runs(tmp_path, make_request):
    first_archive, second_archive = (
        LocalArchiveStorage(tmp_path / "one"),
        LocalArchiveStorage(tmp_path / "two"),
    )
    first = call(offline_client(first_archive), make_request())
    again = call(offline_client(first_archive, run_id="RUN_2"), make_request())
    elsewhere = call(offline_client(second_archive), make_request())

    assert again.cache_hit
    assert again.file_path == first.file_path
    assert not elsewhere.cache_hit
    assert elsewhere.raw_text == first.raw_text
    assert elsewhere.cache_key == first.cache_key


def test_offline_and_anthropic_answers_never_share_a_cache_entry(
    archive, make_request, make_client, run_call, fake_messages_api
):
    offline = call(offline_client(archive), make_request())
    fake_messages_api.enqueue(FakeReply.json({"label": "x", "product_ids": [1, 2]}))

    real = run_call(make_client())

    assert fake_messages_api.request_count == 1
    assert not real.cache_hit
    assert real.cache_key != offline.cache_key


def test_a_task_without_a_handler_is_a_request_error(archive, make_request):
    with pytest.raises(LLMRequestError, match="no handler for task 'label_products'"):
        call(offline_client(archive, handlers={}), make_request())

    [document] = documents(archive)
    assert document["metadata"]["valid"] is False


def test_a_handler_whose_output_does_not_validate_fails_after_max_attempts(archive, make_request):
    client = offline_client(
        archive, handlers={"label_products": lambda payload: {"label": 3}}, max_attempts=2
    )

    with pytest.raises(LLMOutputError, match="does not match Verdict"):
        call(client, make_request())

    assert [d["metadata"]["attempt"] for d in documents(archive)] == [1, 2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": {"b": [1, 2]}}\n```', {"a": {"b": [1, 2]}}),
        ('Here is the result:\n{"a": 1}\nLet me know if you need more.', {"a": 1}),
        ('Using {braces} loosely, the answer: {"a": 1}', {"a": 1}),
        ('[{"a": 1}]', None),
        ('{"a": 1', None),
        ("no json here", None),
        ("", None),
    ],
)
def test_json_is_found_inside_fences_and_prose(text, expected):
    assert extract_json_object(text) == expected
