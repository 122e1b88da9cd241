"""The API key reaches the API and nothing else: no archive file, log record or exception message holds it."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from python_jobs.llm import LLMClient, LLMConfig, LLMError, LocalArchiveStorage, make_provider
from python_jobs.testing.fake_messages_api import FakeMessagesAPI, FakeReply

LEAK_CANARY = "sk-ant-LEAKCANARY-7f3a9c2e51d84b06"
VALID = {"label": "snacks", "product_ids": [1, 2]}

SCENARIOS = [
    [FakeReply.json(VALID)],
    [FakeReply(text="not json at all"), FakeReply.json(VALID)],
    [FakeReply(text='{"label": "x"}')] * 2,
    [FakeReply.rate_limited(f"quota exceeded for key {LEAK_CANARY}")],
    [FakeReply.rate_limited(retry_after=None, retry_after_ms="5")] * 2,
    [FakeReply.error(403, "Your credit balance is too low.")],
    [FakeReply.error(401, f"invalid x-api-key: {LEAK_CANARY}")],
    [FakeReply.error(400, f"bad request from {LEAK_CANARY}")],
    [FakeReply.error(500, f"upstream said {LEAK_CANARY}", headers={"retry-after-ms": "5"})] * 2,
    [FakeReply(text=json.dumps({"label": LEAK_CANARY, "product_ids": [1]}))],
    [FakeReply(text=json.dumps(VALID), delay_seconds=1.0)],
]


def test_the_key_appears_in_no_archive_log_or_error(monkeypatch, tmp_path, caplog, capsys, make_request):
    monkeypatch.setenv("ANTHROPIC_API_KEY", LEAK_CANARY)
    caplog.set_level(logging.DEBUG)
    archive = LocalArchiveStorage(tmp_path / "archive")
    errors: list[BaseException] = []
    with FakeMessagesAPI() as api:
        config = LLMConfig.from_environment(
            base_url=api.base_url, max_retries=1, max_attempts=2, timeout_seconds=0.3
        )
        for number, replies in enumerate(SCENARIOS):
            api.enqueue(*replies)
            client = LLMClient(config, make_provider(config), archive, "RUN_LEAK", "leak/RUN_LEAK")
            errors.extend(_run(client, make_request(prompt=f"scenario {number}")))
        api.stop()
        errors.extend(
            _run(
                LLMClient(config, make_provider(config), archive, "RUN_LEAK", "leak/RUN_LEAK"),
                make_request(prompt="unreachable"),
            )
        )
        sent_keys = {request.headers.get("authorization") for request in api.requests}

    assert sent_keys == {f"Bearer {LEAK_CANARY}"}  # the key did go where it belongs
    assert len(errors) >= 8
    assert all(isinstance(error, LLMError) for error in errors)
    files = [path for path in archive.root.rglob("*") if path.is_file()]
    assert len(files) > 10
    for path in files:
        assert LEAK_CANARY not in path.read_text(), path
    for error in errors:
        assert LEAK_CANARY not in str(error)
        assert LEAK_CANARY not in repr(error)
        # Tracebacks must not show SDK errors either: they carry the outgoing request, headers included.
        assert error.__cause__ is None
        assert error.__context__ is None or error.__suppress_context__
    assert LEAK_CANARY not in caplog.text
    captured = capsys.readouterr()
    assert LEAK_CANARY not in captured.out + captured.err
    assert LEAK_CANARY not in json.dumps(config.public_dict()) + repr(config) + repr(make_provider(config))


def _run(client: LLMClient, request) -> list[BaseException]:
    async def scenario():
        async with client:
            await client.call(request, phase="leak", batch_label="b1", product_ids=[1, 2])

    try:
        asyncio.run(scenario())
    except LLMError as error:
        return [error]
    except Exception as error:  # pragma: no cover - a non-LLM error is itself a failure worth seeing
        pytest.fail(f"unexpected {type(error).__name__}: {error}")
    return []
