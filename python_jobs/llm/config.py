"""How the LLM layer is configured, and the JSON-able record of it kept next to every result.

The API key is deliberately not part of `LLMConfig`: the config is printed, logged, hashed into cache keys and
written to `llm_config` columns, so keeping the secret out of it keeps it out of all of those at once. Only
`AnthropicProvider` reads the key, from the environment, when it builds its SDK client.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

API_KEY_ENV = "ANTHROPIC_API_KEY"
PROVIDERS = ("anthropic", "offline")


class LLMConfigError(ValueError):
    """A configuration that cannot work, reported before any request is sent."""


@dataclass(frozen=True)
class LLMConfig:
    """Everything that decides how LLM calls are made, except the secret key.

    `max_retries` is handed to the SDK, which retries 408/409/429/5xx and connection errors itself (honouring
    `retry-after`); `max_attempts` counts our own attempts when the reply arrived but is unusable (not JSON, wrong
    schema, cut off at max_tokens). `max_retry_after_seconds` caps how long we let the server make us wait: the
    SDK honours any `retry-after`, so a server asking for an hour would otherwise stall a batch job for an hour.

    `temperature` is recorded and part of the cache key, but it is not sent: the SDK 2.x sends
    `anthropic-version: 2026-10-21`, which rejects `temperature` (even 1.0) with a 400, and the SDK has no
    such parameter any more. `public_dict()` says so with `temperature_sent: false`.
    """

    provider: str = "offline"
    model: str = "claude-sonnet-5-5"
    temperature: float = 0.15
    max_concurrency: int = 4
    timeout_seconds: float = 60.0
    max_retries: int = 3
    max_attempts: int = 3
    max_tokens: int = 4096
    base_url: str | None = None
    max_retry_after_seconds: float = 60.0
    # The name offline answers are attributed to (and cached under). The LLM layer knows no job: the job that
    # supplies the offline handlers names their logic here, e.g. `dataclasses.replace(config, offline_model=...)`.
    offline_model: str = "offline"

    def __post_init__(self) -> None:
        """Reject values that would only fail later, mid-run, with a less helpful error."""
        if self.provider not in PROVIDERS:
            raise LLMConfigError(
                f"unknown LLM provider {self.provider!r}; expected one of {', '.join(PROVIDERS)}"
            )
        if not self.model or not self.offline_model:
            raise LLMConfigError("model must not be empty")
        _require(self.max_concurrency >= 1, "max_concurrency must be at least 1")
        _require(self.max_attempts >= 1, "max_attempts must be at least 1")
        _require(self.max_retries >= 0, "max_retries must not be negative")
        _require(self.max_tokens >= 1, "max_tokens must be at least 1")
        _require(self.timeout_seconds > 0, "timeout_seconds must be positive")
        _require(self.max_retry_after_seconds >= 0, "max_retry_after_seconds must not be negative")
        _require(0.0 <= self.temperature <= 1.0, "temperature must be between 0 and 1")

    @property
    def effective_model(self) -> str:
        """The model name results are attributed to: the offline provider is its own 'model'."""
        return self.offline_model if self.provider == "offline" else self.model

    @classmethod
    def from_environment(
        cls, provider: str | None = None, *, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> LLMConfig:
        """The config for this process: Anthropic when a key is available, offline otherwise.

        `provider=None` picks 'anthropic' if ANTHROPIC_API_KEY is set (non-empty) and 'offline' if not, so a run
        without a key still completes, deterministically. Forcing 'anthropic' without a key is an error rather
        than a silent fallback, because the caller explicitly asked for real model output. Overrides that are
        None are ignored, so CLI options that were not given can be passed straight through.
        """
        environment = os.environ if environ is None else environ
        has_key = bool(environment.get(API_KEY_ENV))
        if provider is None:
            provider = "anthropic" if has_key else "offline"
        elif provider == "anthropic" and not has_key:
            raise LLMConfigError(
                f"the 'anthropic' LLM provider needs the {API_KEY_ENV} environment variable, which is not set; "
                "set it, or use the 'offline' provider"
            )
        known = {f.name for f in dataclasses.fields(cls)} - {"provider"}
        unknown = set(overrides) - known
        if unknown:
            raise LLMConfigError(f"unknown LLM config option(s): {', '.join(sorted(unknown))}")
        return cls(
            provider=provider, **{name: value for name, value in overrides.items() if value is not None}
        )

    def public_dict(self) -> dict[str, Any]:
        """A JSON-able description for `llm_config` columns and archive metadata.

        Never holds a secret: the key is not in the config at all, and base_url is cut down to host:port so
        credentials or tokens embedded in a URL (user:pass@host, query strings) cannot leak through it.
        """
        described: dict[str, Any] = {
            "provider": self.provider,
            "model": self.effective_model,
            "temperature": self.temperature,
            "temperature_sent": False,
            "max_concurrency": self.max_concurrency,
            "timeout_seconds": self.timeout_seconds,
            "max_retries": self.max_retries,
            "max_attempts": self.max_attempts,
            "max_tokens": self.max_tokens,
            "max_retry_after_seconds": self.max_retry_after_seconds,
        }
        if self.base_url is not None:
            described["base_url"] = host_and_port(self.base_url)
        return described


def host_and_port(url: str) -> str:
    """`host:port` of a URL, with the scheme's default port filled in; no user info, path or query."""
    parts = urlsplit(url if "//" in url else f"//{url}")
    default_port = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port or default_port
    except ValueError:
        port = default_port
    return f"{parts.hostname or ''}:{port}"


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise LLMConfigError(message)
