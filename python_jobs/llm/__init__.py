"""The LLM layer shared by the jobs that ask a model for structured output.

`LLMClient.call` answers an `LLMRequest` with a validated pydantic object: from the archive's cache when an
identical request already succeeded, otherwise from a provider (the Anthropic API, or the deterministic offline
stand-in), archiving every attempt. `LLMConfig.from_environment` decides which provider a run uses.
"""

from python_jobs.llm.archive import ArchiveStorage, LocalArchiveStorage, archive_file_name
from python_jobs.llm.client import LLMCall, LLMClient, cache_key
from python_jobs.llm.config import LLMConfig, LLMConfigError
from python_jobs.llm.providers import (
    AnthropicProvider,
    LLMAuthenticationError,
    LLMError,
    LLMOutputError,
    LLMProvider,
    LLMQuotaError,
    LLMRequest,
    LLMRequestError,
    LLMTimeoutError,
    LLMUnavailableError,
    OfflineProvider,
    ProviderResponse,
    make_provider,
)

__all__ = [
    "AnthropicProvider",
    "ArchiveStorage",
    "LLMAuthenticationError",
    "LLMCall",
    "LLMClient",
    "LLMConfig",
    "LLMConfigError",
    "LLMError",
    "LLMOutputError",
    "LLMProvider",
    "LLMQuotaError",
    "LLMRequest",
    "LLMRequestError",
    "LLMTimeoutError",
    "LLMUnavailableError",
    "LocalArchiveStorage",
    "OfflineProvider",
    "ProviderResponse",
    "archive_file_name",
    "cache_key",
    "make_provider",
]
