"""LLMConfig: which provider a run gets, and what is recorded about it (never the key)."""

from __future__ import annotations

import json

import pytest

from python_jobs.llm import LLMConfig, LLMConfigError

KEY = "sk-ant-config-test-key-123456"


def test_a_key_in_the_environment_selects_anthropic():
    config = LLMConfig.from_environment(environ={"ANTHROPIC_API_KEY": KEY})

    assert config.provider == "anthropic"
    assert config.public_dict()["model"] == "claude-sonnet-5-5"


@pytest.mark.parametrize("environ", [{}, {"ANTHROPIC_API_KEY": ""}])
def test_without_a_key_the_run_is_offline(environ):
    config = LLMConfig.from_environment(environ=environ, offline_model="offline-tfidf-v1")

    assert config.provider == "offline"
    assert config.public_dict()["model"] == "offline-tfidf-v1"


def test_offline_can_be_forced_even_with_a_key():
    assert LLMConfig.from_environment("offline", environ={"ANTHROPIC_API_KEY": KEY}).provider == "offline"


def test_forcing_anthropic_without_a_key_names_the_variable():
    with pytest.raises(LLMConfigError, match="ANTHROPIC_API_KEY"):
        LLMConfig.from_environment("anthropic", environ={})


def test_overrides_apply_and_unset_ones_keep_the_defaults():
    config = LLMConfig.from_environment(
        "offline", environ={}, model=None, max_concurrency=2, timeout_seconds=5.0, max_attempts=None
    )

    assert (config.model, config.max_concurrency, config.timeout_seconds, config.max_attempts) == (
        "claude-sonnet-5-5",
        2,
        5.0,
        3,
    )


def test_unknown_options_and_impossible_values_are_refused():
    with pytest.raises(LLMConfigError, match="unknown LLM config option"):
        LLMConfig.from_environment("offline", environ={}, max_concurency=2)
    with pytest.raises(LLMConfigError, match="unknown LLM provider"):
        LLMConfig.from_environment("openai", environ={})
    with pytest.raises(LLMConfigError, match="max_concurrency"):
        LLMConfig(max_concurrency=0)


def test_the_defaults_are_the_agreed_ones():
    config = LLMConfig(provider="anthropic")

    assert config.public_dict() == {
        "provider": "anthropic",
        "model": "claude-sonnet-5-5",
        "temperature": 0.15,
        "temperature_sent": False,
        "max_concurrency": 4,
        "timeout_seconds": 60.0,
        "max_retries": 3,
        "max_attempts": 3,
        "max_tokens": 4096,
        "max_retry_after_seconds": 60.0,
    }


@pytest.mark.parametrize(
    ("base_url", "shown"),
    [
        ("http://127.0.0.1:8123", "127.0.0.1:8123"),
        ("https://user:secret@proxy.internal/anthropic?token=abc", "proxy.internal:443"),
        ("http://gateway.local/v1", "gateway.local:80"),
    ],
)
def test_base_url_is_recorded_as_host_and_port_only(base_url, shown):
    described = LLMConfig(provider="anthropic", base_url=base_url).public_dict()

    assert described["base_url"] == shown
    assert "secret" not in json.dumps(described)
    assert "abc" not in json.dumps(described)


def test_nothing_recorded_or_printed_holds_the_key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    config = LLMConfig.from_environment()

    assert KEY not in json.dumps(config.public_dict())
    assert KEY not in repr(config)
