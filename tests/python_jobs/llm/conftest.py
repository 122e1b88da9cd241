"""Fixtures for the LLM layer's tests: the fake Messages API, an archive, and clients wired to both.

`fake_messages_api` itself is in tests/conftest.py: the test kit's own tests use it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic
import pytest

from python_jobs.llm import AnthropicProvider, LLMCall, LLMClient, LLMConfig, LLMRequest, LocalArchiveStorage
from python_jobs.testing.fake_messages_api import FakeMessagesAPI

TEST_API_KEY = "sk-ant-test-dummy-key-0000"
PREFIX = "product_segmentation/RUN_1"


class Verdict(pydantic.BaseModel):
    """A small output model for the tests."""

    label: str
    product_ids: list[int]


def verdict_request(prompt: str = "Label products 1 and 2.", schema_version: str = "v1") -> LLMRequest:
    """A request whose output is a `Verdict`; the payload is what an offline handler would work from."""
    return LLMRequest(
        task="label_products",
        system="You label products.",
        prompt=prompt,
        output_model=Verdict,
        schema_version=schema_version,
        payload={"product_ids": [1, 2]},
    )


@pytest.fixture
def make_request() -> Callable[..., LLMRequest]:
    """`verdict_request`, for test modules (they cannot import this conftest)."""
    return verdict_request


@pytest.fixture
def api_key() -> str:
    """The dummy key the `make_client` clients send."""
    return TEST_API_KEY


@pytest.fixture
def archive(tmp_path: Path) -> LocalArchiveStorage:
    return LocalArchiveStorage(tmp_path / "archive")


@pytest.fixture
def make_client(fake_messages_api: FakeMessagesAPI, archive: LocalArchiveStorage) -> Callable[..., LLMClient]:
    """Build an LLMClient using the real SDK against the fake server; config fields can be overridden.

    Retries default to small numbers and a short timeout so failure paths stay fast.
    """

    def build(run_id: str = "RUN_1", prefix: str = PREFIX, **overrides: Any) -> LLMClient:
        settings: dict[str, Any] = {"provider": "anthropic", "base_url": fake_messages_api.base_url}
        settings |= {"timeout_seconds": 5.0, "max_retries": 2} | overrides
        config = LLMConfig(**settings)
        return LLMClient(config, AnthropicProvider(config, api_key=TEST_API_KEY), archive, run_id, prefix)

    return build


@pytest.fixture
def run_call() -> Callable[..., LLMCall]:
    """Run one `client.call` in a fresh event loop, closing the client's connections afterwards."""

    def run(client: LLMClient, request: LLMRequest | None = None, **kwargs: Any) -> LLMCall:
        kwargs = {"phase": "extraction", "batch_label": "b1", "product_ids": [1, 2]} | kwargs

        async def scenario() -> LLMCall:
            async with client:
                return await client.call(request or verdict_request(), **kwargs)

        return asyncio.run(scenario())

    return run
