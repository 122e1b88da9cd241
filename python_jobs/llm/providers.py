"""Providers turn one `LLMRequest` into one raw text reply: the real Anthropic API, or a deterministic offline stand-in.

Providers know nothing about JSON parsing, attempts, archives or caching; `LLMClient` does all of that the same
way for every provider, which is why an offline run leaves exactly the same archive structure as a real one.

Every error leaving this module is one of ours (`LLMError` subclasses) with a message built from the status,
error type, the API's own message and the request id, with the API key redacted. SDK exceptions are not chained
(`from None`): they carry the outgoing request, headers and all, and nothing downstream needs them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import functools
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pydantic

from python_jobs.llm.config import API_KEY_ENV, LLMConfig, LLMConfigError, host_and_port

if TYPE_CHECKING:
    import anthropic

# The Anthropic SDK is imported inside AnthropicProvider only: importing the LLM layer (every `segments` command
# does, through the jobs it registers) must not pay for the SDK, and offline runs never need it.

# Words by which the API tells an exhausted balance or quota apart from a passing rate limit ('billing_error'
# is the error type; plain 'billing' is left out, as it can appear in a link to the console's billing page).
QUOTA_WORDS = ("quota", "credit", "insufficient", "billing_error")
_MESSAGE_LIMIT = 300


class LLMError(Exception):
    """Base of every error the LLM layer raises."""


class LLMQuotaError(LLMError):
    """Rate limit still hit after the SDK's retries, or the account's quota/credit is exhausted.

    Waiting a little will not help with the latter and hammering the API does not help with the former, so the
    job should stop and report rather than retry.
    """


class LLMTimeoutError(LLMError):
    """No reply within timeout_seconds, on every attempt the SDK made."""


class LLMUnavailableError(LLMError):
    """The API could not be reached, or answered 5xx/overloaded on every attempt the SDK made."""


class LLMRequestError(LLMError):
    """The API refused the request itself (a 4xx other than quota): retrying the same request cannot help."""


class LLMAuthenticationError(LLMRequestError):
    """The key was refused (401)."""


class LLMOutputError(LLMError):
    """Every attempt came back, but none held valid output; `reason` says what was wrong with the last one."""

    def __init__(self, message: str, *, reason: str, attempts: int, file_paths: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.attempts = attempts
        self.file_paths = file_paths


@dataclass(frozen=True)
class LLMRequest:
    """One task for a model: the texts sent, the structured inputs behind them and the expected output shape.

    `payload` is what the offline provider works from (it cannot read prose); `schema_version` names the
    output contract. Both it and the output model's JSON schema are part of the cache key, so a changed model
    class misses the cache even when nobody bumped the version.
    """

    task: str
    system: str
    prompt: str
    output_model: type[pydantic.BaseModel]
    schema_version: str
    payload: dict[str, Any] = field(default_factory=dict)
    max_tokens: int | None = None

    def output_schema(self) -> dict[str, Any]:
        """The JSON schema of `output_model`, as pydantic writes it: sent to the API, and part of the cache key.

        Shared between calls (pydantic takes milliseconds to write it): read it, never change it.
        """
        return _json_schema_of(self.output_model)


@dataclass(frozen=True)
class ProviderResponse:
    """The raw reply: text as the model wrote it, with the usage and stop reason the provider reported.

    `tokens_estimated` says the token counts are a guess (the offline provider's characters / 4), not usage a
    model reported: they must never be added to measured counts as if they were measured.
    """

    text: str
    input_tokens: int
    output_tokens: int
    stop_reason: str | None
    model: str
    tokens_estimated: bool = False


@runtime_checkable
class LLMProvider(Protocol):
    """What `LLMClient` needs from a provider."""

    name: str
    model: str

    async def complete(self, request: LLMRequest) -> ProviderResponse: ...


class AnthropicProvider:
    """The Anthropic Messages API through the official async SDK.

    The SDK does the transport-level retrying (429, 5xx, timeouts, connection errors; `retry-after` honoured)
    up to `config.max_retries`. A middleware stops that early when retrying cannot help: a 429 that says the
    quota or credit is exhausted, or one asking us to wait longer than `config.max_retry_after_seconds`.
    """

    name = "anthropic"

    def __init__(self, config: LLMConfig, *, api_key: str | None = None) -> None:
        self.model = config.model
        self._config = config
        self._api_key = api_key or os.environ.get(API_KEY_ENV) or ""
        if not self._api_key:
            raise LLMConfigError(
                f"the Anthropic provider needs the {API_KEY_ENV} environment variable, which is not set"
            )
        # One SDK client per event loop: its connection pool belongs to the loop that opened it.
        self._sdk_client: anthropic.AsyncAnthropic | None = None
        self._sdk_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"AnthropicProvider(model={self.model!r})"

    async def complete(self, request: LLMRequest) -> ProviderResponse:
        """Send the system text and one user message; return the text blocks joined, with usage.

        The answer model's JSON schema goes along as a structured-output format (`output_config.format`), so
        the API constrains the reply to that shape; the client still parses and validates it, because the
        schema the API enforces leaves out what JSON schema cannot say to it (lengths, ranges, cross-checks).
        """
        import anthropic

        try:
            message = await self._client().messages.create(
                model=self.model,
                max_tokens=request.max_tokens or self._config.max_tokens,
                system=request.system,
                messages=[{"role": "user", "content": request.prompt}],
                output_config={"format": structured_output_format(request)},
            )
        except LLMError:
            raise
        except anthropic.APITimeoutError:
            raise LLMTimeoutError(
                f"no reply from the Anthropic API within {self._config.timeout_seconds:g}s "
                f"(max_retries={self._config.max_retries})"
            ) from None
        except anthropic.APIConnectionError:
            raise LLMUnavailableError(
                f"could not reach the Anthropic API at {self._host()} (max_retries={self._config.max_retries})"
            ) from None
        except anthropic.APIStatusError as error:
            raise self._mapped_status_error(error) from None
        except anthropic.AnthropicError as error:
            raise LLMRequestError(f"Anthropic SDK error: {self._redact(str(error))}") from None
        text = "".join(block.text for block in message.content if block.type == "text")
        return ProviderResponse(
            text=text,
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
            stop_reason=message.stop_reason,
            model=message.model,
        )

    async def aclose(self) -> None:
        """Close the SDK client's connections, if it was opened on the running loop."""
        client, loop = self._sdk_client, self._sdk_loop
        self._sdk_client = self._sdk_loop = None
        if client is not None and loop is asyncio.get_running_loop():
            await client.close()

    def _client(self) -> anthropic.AsyncAnthropic:
        import anthropic

        loop = asyncio.get_running_loop()
        if self._sdk_client is None or self._sdk_loop is not loop:
            self._sdk_client = anthropic.AsyncAnthropic(
                api_key=self._api_key,
                base_url=self._config.base_url,
                max_retries=self._config.max_retries,
                timeout=self._config.timeout_seconds,
                middleware=[self._stop_hopeless_retries],
            )
            self._sdk_loop = loop
        return self._sdk_client

    async def _stop_hopeless_retries(self, request: Any, call_next: Any) -> Any:
        """Raise LLMQuotaError on a 429 that retrying cannot fix, instead of letting the SDK retry it.

        Runs inside the SDK's retry loop once per HTTP attempt; an exception that is not the SDK's own
        propagates without further retries.
        """
        response = await call_next(request)
        if response.status_code != 429:
            return response
        await response.http_response.aread()
        body = response.http_response.text
        wait = retry_after_seconds(response.headers)
        reason = None
        if mentions_quota(_error_text(body)):
            reason = "the API reports the quota or credit is exhausted"
        elif wait is not None and wait > self._config.max_retry_after_seconds:
            reason = (
                f"the API asks to retry after {wait:.0f}s, more than max_retry_after_seconds="
                f"{self._config.max_retry_after_seconds:g}"
            )
        if reason is None:
            return response
        await response.http_response.aclose()
        detail = _error_detail(body)
        raise LLMQuotaError(self._redact(f"Anthropic API HTTP 429: {reason}{detail}"))

    def _mapped_status_error(self, error: anthropic.APIStatusError) -> LLMError:
        """Our exception for an HTTP error the SDK gave up on (or never retries)."""
        status = error.status_code
        summary = self._redact(
            _truncate(
                f"Anthropic API HTTP {status}"
                + (f" {error.type}" if error.type else "")
                + (f": {error.api_message}" if error.api_message else "")
                + (f" (request id {error.request_id})" if error.request_id else "")
            )
        )
        # Quota wording is looked for in the error's type and message only, so a word in some URL elsewhere in
        # the body cannot turn a passing limit into a run-stopping quota error.
        if error.type or error.api_message:
            error_text = f"{error.type or ''} {error.api_message or ''}"
        else:
            error_text = error.body if isinstance(error.body, str) else ""
        if status == 429:
            return LLMQuotaError(
                f"{summary}; still rate limited after {self._config.max_retries} SDK retries"
            )
        if (
            status == 402
            or error.type == "billing_error"
            or (status in (400, 403) and mentions_quota(error_text))
        ):
            return LLMQuotaError(f"{summary}; the account's quota or credit is exhausted")
        if status == 401:
            return LLMAuthenticationError(f"{summary}; check the key in {API_KEY_ENV}")
        if status in (408, 409) or status >= 500:
            return LLMUnavailableError(
                f"{summary}; still failing after {self._config.max_retries} SDK retries"
            )
        return LLMRequestError(summary)

    def _host(self) -> str:
        return host_and_port(self._config.base_url or "https://api.anthropic.com")

    def _redact(self, text: str) -> str:
        """Defence in depth: messages are built from server text, which must never echo the key back to us."""
        return redact(text, self._api_key)


class OfflineProvider:
    """Deterministic, LLM-free answers from plain Python handlers, one per task.

    Handlers get `request.payload` and return a JSON-able dict; the reply text is that dict as sorted JSON, so the
    same inputs always give byte-identical archives. Handlers run on the event loop thread: they are meant to be
    quick, and running them one at a time keeps handlers that share state safe.
    """

    name = "offline"

    def __init__(
        self,
        handlers: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]],
        *,
        model: str,
    ):
        self.model = model
        self._handlers = dict(handlers)

    def __repr__(self) -> str:
        return f"OfflineProvider(tasks={sorted(self._handlers)!r})"

    async def complete(self, request: LLMRequest) -> ProviderResponse:
        handler = self._handlers.get(request.task)
        if handler is None:
            known = ", ".join(sorted(self._handlers)) or "none"
            raise LLMRequestError(
                f"the offline provider has no handler for task {request.task!r} (has: {known})"
            )
        text = json.dumps(handler(request.payload), sort_keys=True)
        return ProviderResponse(
            text=text,
            input_tokens=estimate_tokens(request.system) + estimate_tokens(request.prompt),
            output_tokens=estimate_tokens(text),
            stop_reason="end_turn",
            model=self.model,
            tokens_estimated=True,
        )


def make_provider(
    config: LLMConfig,
    offline_handlers: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] | None = None,
) -> LLMProvider:
    """The provider `config` asks for; offline runs need the handlers of the job's tasks."""
    if config.provider == "anthropic":
        return AnthropicProvider(config)
    return OfflineProvider(offline_handlers or {}, model=config.effective_model)


@functools.cache
def _json_schema_of(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def structured_output_format(request: LLMRequest) -> dict[str, Any]:
    """`output_config.format` for `request`: its answer model's schema in the strict form the API accepts.

    The SDK's `transform_schema` closes every object (`additionalProperties: false`) and moves the constraints
    the API does not enforce (lengths, ranges) into descriptions, where the model still reads them.
    """
    from anthropic import transform_schema

    return {"type": "json_schema", "schema": transform_schema(request.output_schema())}


def estimate_tokens(text: str) -> int:
    """A rough token count for text no model has counted: one token per four characters."""
    return len(text) // 4


def mentions_quota(text: str | None) -> bool:
    """Whether an error body talks about an exhausted quota or credit rather than a momentary limit."""
    lowered = (text or "").lower()
    return any(word in lowered for word in QUOTA_WORDS)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """How long the server asks us to wait, read the way the SDK reads it (retry-after-ms, seconds, HTTP date)."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return float(milliseconds) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - dt.datetime.now(dt.UTC)).total_seconds()


def redact(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret` replaced; short secrets are left alone to avoid mangling text."""
    if len(secret) < 8:
        return text
    return text.replace(secret, "[redacted]")


def _error_detail(body: str) -> str:
    """': <the API's message>' from an Anthropic error body, or '' when it has none."""
    message = _api_error(body).get("message")
    return f": {_truncate(str(message))}" if message else ""


def _error_text(body: str) -> str:
    """The error's type and message, where quota wording is looked for; the raw body if it is not Anthropic's."""
    error = _api_error(body)
    if not error:
        return body
    return f"{error.get('type', '')} {error.get('message', '')}"


def _api_error(body: str) -> dict[str, Any]:
    """The `error` object of an Anthropic error body, or {}."""
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def _truncate(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."
