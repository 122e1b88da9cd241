"""`LLMClient`: cached, archived, validated, concurrency-limited calls to any provider.

One `call` is one interaction: it is answered from the cache when an identical request (same provider, model,
temperature, texts, schema version and answer schema) already produced valid output in any earlier run on the
same archive, and otherwise makes up to `config.max_attempts` provider calls until one reply parses and validates. Every
attempt, valid or not, is archived as one JSON file, so what the model was asked and answered can always be
audited; only valid replies are entered in the cache.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic

from python_jobs.llm.archive import (
    ArchiveStorage,
    archive_file_name,
    is_safe_label,
    validated_relative_path,
)
from python_jobs.llm.config import API_KEY_ENV, LLMConfig
from python_jobs.llm.providers import (
    LLMOutputError,
    LLMProvider,
    LLMRequest,
    ProviderResponse,
    redact,
)

log = logging.getLogger(__name__)

# Appended to every system text, so both providers and the cache key see exactly what the model is told.
JSON_ONLY_INSTRUCTION = (
    "Answer with exactly one JSON object that matches the requested structure, and nothing else: "
    "no explanations, no Markdown code fences."
)
# Stop reasons that mean the text was cut short, so even text that happens to parse is not the whole answer.
CUT_OFF_STOP_REASONS = frozenset({"max_tokens", "model_context_window_exceeded"})
_MAX_SCHEMA_ERRORS = 3
_MAX_JSON_STARTS = 20


def cache_key(
    provider_name: str,
    model: str,
    temperature: float,
    system: str,
    prompt: str,
    schema_version: str,
    output_schema: dict[str, Any] | None = None,
) -> str:
    """sha256 (hex) of a canonical JSON of everything that decides the answer, the answer's JSON schema included.

    Canonical (sorted keys, fixed separators, no ASCII escaping) so the same request always hashes the same,
    whichever process or machine computes it.
    """
    canonical = json.dumps(
        {
            "provider": provider_name,
            "model": model,
            "temperature": temperature,
            "system": system,
            "prompt": prompt,
            "schema_version": schema_version,
            "output_schema": output_schema,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LLMCall:
    """The outcome of one successful `LLMClient.call`.

    `file_path` is the archived file whose response was used: for a cache hit that is the earlier run's file.
    `attempt` is the attempt that produced it (for a cache hit, as recorded in that file). `interaction_id` is
    new for every call, cache hits included, so a run can index each of its interactions once. Tokens are those
    spent by this call over all its attempts: zero for a cache hit; `tokens_estimated` when the provider only
    estimated them (see `ProviderResponse`). `duration_ms` is the whole call's wall time.
    """

    parsed: pydantic.BaseModel
    raw_text: str
    attempt: int
    cache_hit: bool
    cache_key: str
    file_path: str
    interaction_id: str
    input_tokens: int
    output_tokens: int
    duration_ms: int
    tokens_estimated: bool = False


@dataclass(frozen=True)
class _Attempt:
    """What one provider call gave, before it is archived."""

    number: int
    response: ProviderResponse | None
    parsed: pydantic.BaseModel | None
    error: str | None
    duration_ms: int
    # The provider's exception, kept so the attempt can be archived before it is re-raised.
    failure: Exception | None = None


class LLMClient:
    """Makes `LLMRequest`s through one provider, archiving under `<archive_prefix>/<phase>/`.

    `archive_prefix` is e.g. `product_segmentation/RUN_x`. At most `config.max_concurrency` provider calls are
    in flight at once across all concurrent `call`s, which is what keeps a batch job inside the API's rate
    limits; cache lookups and archive writes are not limited.
    """

    def __init__(
        self,
        config: LLMConfig,
        provider: LLMProvider,
        archive: ArchiveStorage,
        run_id: str,
        archive_prefix: str,
    ) -> None:
        validated_relative_path(archive_prefix)
        self.config = config
        self.provider = provider
        self.archive = archive
        self.run_id = run_id
        self.archive_prefix = archive_prefix.strip("/")
        # Semaphores bind to the loop they first wait on; keep one per loop so a client outlives asyncio.run().
        self._limit: asyncio.Semaphore | None = None
        self._limit_loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the provider's connections, for providers that hold any."""
        close = getattr(self.provider, "aclose", None)
        if close is not None:
            await close()

    async def call(
        self,
        request: LLMRequest,
        *,
        phase: str,
        batch_label: str,
        product_ids: list[int] | list[str],
        on_interaction: Callable[[LLMCall], None] | None = None,
    ) -> LLMCall:
        """The validated output for `request`, from the cache or from the provider.

        Raises LLMOutputError after `config.max_attempts` unusable replies; quota, timeout, unavailable and
        request errors from the provider propagate at once (the SDK has already done its retrying), after the
        failed attempt has been archived. `on_interaction` is called with the result, cache hits included.
        """
        if not is_safe_label(phase):
            raise ValueError(f"phase must be letters, digits, '_' and '-': {phase!r}")
        started = time.perf_counter()
        sent = dataclasses.replace(request, system=with_json_only_instruction(request.system))
        key = cache_key(
            self.provider.name,
            self.provider.model,
            self.config.temperature,
            sent.system,
            sent.prompt,
            request.schema_version,
            request.output_schema(),
        )
        interaction_id = uuid.uuid4().hex
        result = self._from_cache(key, request, interaction_id, started)
        if result is None:
            result = await self._from_provider(
                sent, key, interaction_id, started, phase, batch_label, product_ids
            )
        if on_interaction is not None:
            on_interaction(result)
        return result

    def write_prompt_template(self, name: str, text: str) -> str:
        """Store a prompt template at `<prefix>/prompts/<name>_prompt.txt`; returns that relative path."""
        if not is_safe_label(name):
            raise ValueError(f"prompt template names are letters, digits, '_' and '-': {name!r}")
        path = f"{self.archive_prefix}/prompts/{name}_prompt.txt"
        self.archive.write_text(path, text)
        return path

    def _from_cache(
        self, key: str, request: LLMRequest, interaction_id: str, started: float
    ) -> LLMCall | None:
        """A cache hit when the remembered file is readable, was valid, and still validates against the model.

        Anything less is a miss rather than an error: the cache is an optimisation and must never fail a run.
        """
        path = self.archive.find_by_cache_key(key)
        if path is None:
            return None
        try:
            document = json.loads(self.archive.read_text(path))
            metadata, text = document["metadata"], document["response"]
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("LLM cache entry %s is unreadable; calling the provider instead", path)
            return None
        if not metadata.get("valid") or metadata.get("cache_key") != key or not isinstance(text, str):
            return None
        parsed, reason = parse_output(text, request.output_model)
        if parsed is None:
            log.warning(
                "LLM cache entry %s no longer validates (%s); calling the provider instead", path, reason
            )
            return None
        log.info("LLM %s: cache hit %s", request.task, path)
        return LLMCall(
            parsed=parsed,
            raw_text=text,
            attempt=int(metadata.get("attempt", 1)),
            cache_hit=True,
            cache_key=key,
            file_path=path,
            interaction_id=interaction_id,
            input_tokens=0,
            output_tokens=0,
            duration_ms=_elapsed_ms(started),
        )

    async def _from_provider(
        self,
        request: LLMRequest,
        key: str,
        interaction_id: str,
        started: float,
        phase: str,
        batch_label: str,
        product_ids: list[int] | list[str],
    ) -> LLMCall:
        """Attempt until a reply validates; archive each attempt; remember only the valid one."""
        archive_attempt = _AttemptArchiver(
            self, request, key, interaction_id, phase, batch_label, product_ids
        )
        input_tokens = output_tokens = 0
        tokens_estimated = False
        paths: list[str] = []
        reason = ""
        for number in range(1, self.config.max_attempts + 1):
            attempt = await self._attempt(request, number)
            paths.append(archive_attempt(attempt))
            if attempt.failure is not None:
                raise attempt.failure
            assert attempt.response is not None
            input_tokens += attempt.response.input_tokens
            output_tokens += attempt.response.output_tokens
            tokens_estimated = tokens_estimated or attempt.response.tokens_estimated
            if attempt.parsed is not None:
                self.archive.remember_cache_key(key, paths[-1])
                return LLMCall(
                    parsed=attempt.parsed,
                    raw_text=attempt.response.text,
                    attempt=number,
                    cache_hit=False,
                    cache_key=key,
                    file_path=paths[-1],
                    interaction_id=interaction_id,
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    duration_ms=_elapsed_ms(started),
                    tokens_estimated=tokens_estimated,
                )
            reason = attempt.error or "invalid output"
            log.warning(
                "LLM %s %s/%s attempt %d unusable: %s", request.task, phase, batch_label, number, reason
            )
        raise LLMOutputError(
            f"LLM task {request.task!r} ({phase}/{batch_label}) gave no valid output in "
            f"{self.config.max_attempts} attempt(s); last: {reason}",
            reason=reason,
            attempts=self.config.max_attempts,
            file_paths=tuple(paths),
        )

    async def _attempt(self, request: LLMRequest, number: int) -> _Attempt:
        """One provider call under the concurrency limit, with its reply checked."""
        attempt_started = time.perf_counter()
        try:
            async with self._semaphore():
                response = await self.provider.complete(request)
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            return _Attempt(number, None, None, reason, _elapsed_ms(attempt_started), failure=error)
        duration_ms = _elapsed_ms(attempt_started)
        if response.stop_reason in CUT_OFF_STOP_REASONS:
            reason = (
                f"response cut off (stop_reason {response.stop_reason}) "
                f"after {response.output_tokens} output tokens"
            )
            return _Attempt(number, response, None, reason, duration_ms)
        parsed, reason = parse_output(response.text, request.output_model)
        return _Attempt(number, response, parsed, reason, duration_ms)

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._limit is None or self._limit_loop is not loop:
            self._limit = asyncio.Semaphore(self.config.max_concurrency)
            self._limit_loop = loop
        return self._limit


class _AttemptArchiver:
    """Writes one attempt as `{"metadata", "prompt", "response"}` JSON; the fixed parts of a call are bound once."""

    def __init__(
        self,
        client: LLMClient,
        request: LLMRequest,
        key: str,
        interaction_id: str,
        phase: str,
        batch_label: str,
        product_ids: list[int] | list[str],
    ) -> None:
        self._client = client
        self._request = request
        self._key = key
        self._interaction_id = interaction_id
        self._phase = phase
        self._batch_label = batch_label
        self._product_ids = list(product_ids)

    def __call__(self, attempt: _Attempt) -> str:
        """Archive `attempt`; returns the relative path written."""
        client, response = self._client, attempt.response
        now = dt.datetime.now(dt.UTC)
        document = {
            "metadata": {
                "run_id": client.run_id,
                "llm_interaction_id": self._interaction_id,
                "phase": self._phase,
                "task": self._request.task,
                "batch_id": self._batch_label,
                "attempt": attempt.number,
                "model": response.model if response is not None else client.provider.model,
                "provider": client.provider.name,
                "temperature": client.config.temperature,
                "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "cache_key": self._key,
                "schema_version": self._request.schema_version,
                "duration_ms": attempt.duration_ms,
                "batch_size": len(self._product_ids),
                "product_ids": self._product_ids,
                "input_tokens": response.input_tokens if response is not None else None,
                "output_tokens": response.output_tokens if response is not None else None,
                "tokens_estimated": response.tokens_estimated if response is not None else None,
                "stop_reason": response.stop_reason if response is not None else None,
                "valid": attempt.parsed is not None,
                "error": attempt.error,
                "llm_config": client.config.public_dict(),
            },
            "prompt": {"system": self._request.system, "user": self._request.prompt},
            "response": response.text if response is not None else None,
        }
        # Defence in depth: whatever a provider or server put into the texts, the key is never written down.
        text = redact(json.dumps(document, indent=2, ensure_ascii=False), os.environ.get(API_KEY_ENV, ""))
        content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
        name = archive_file_name(now, self._batch_label, attempt.number, content_hash)
        path = f"{client.archive_prefix}/{self._phase}/{name}"
        client.archive.write_text(path, text)
        return path


def with_json_only_instruction(system: str) -> str:
    """`system` followed by the JSON-only instruction (once, however often it is applied)."""
    if system.rstrip().endswith(JSON_ONLY_INSTRUCTION):
        return system
    return f"{system.rstrip()}\n\n{JSON_ONLY_INSTRUCTION}" if system.strip() else JSON_ONLY_INSTRUCTION


def parse_output(
    text: str, output_model: type[pydantic.BaseModel]
) -> tuple[pydantic.BaseModel | None, str | None]:
    """(validated object, None), or (None, why not) without echoing the text itself into the reason."""
    candidate = extract_json_object(text)
    if candidate is None:
        return None, "no JSON object in the response"
    try:
        return output_model.model_validate(candidate), None
    except pydantic.ValidationError as error:
        problems = [
            f"{'.'.join(str(part) for part in problem['loc']) or '<root>'}: {problem['msg']}"
            for problem in error.errors(include_url=False, include_input=False)[:_MAX_SCHEMA_ERRORS]
        ]
        more = error.error_count() - len(problems)
        suffix = f"; and {more} more" if more > 0 else ""
        return None, f"response does not match {output_model.__name__}: {'; '.join(problems)}{suffix}"


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The outermost JSON object in `text`, tolerating Markdown fences and prose around it.

    Models asked for bare JSON still sometimes wrap it in ```json fences or add a sentence before or after.
    Tries the whole text first, then decodes from each '{' in turn and keeps the first object that parses
    (trailing prose or a closing fence is ignored by raw_decode). The first '{' that starts a complete object is
    the outermost one; later ones are only tried past stray braces in leading prose, and only a few, because
    each failed try rescans the rest of the text.
    """
    stripped = text.strip()
    try:
        whole = json.loads(stripped)
    except ValueError:
        pass
    else:
        return whole if isinstance(whole, dict) else None
    decoder = json.JSONDecoder()
    position = stripped.find("{")
    for _ in range(_MAX_JSON_STARTS):
        if position == -1:
            break
        try:
            # Decoding from a '{' can only yield an object.
            return decoder.raw_decode(stripped, position)[0]
        except ValueError:
            position = stripped.find("{", position + 1)
    return None


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
