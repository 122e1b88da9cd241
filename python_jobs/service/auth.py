"""API keys: the service knows only their SHA-256 digests, from $SEGMENTS_API_KEYS or the file named by
$SEGMENTS_API_KEYS_FILE.

An entry is `sha256:<64 hex digits>`, entries separated by commas (in the file, by lines; `#` starts a
comment). A request presents the key itself in `Authorization: Bearer <key>`; its digest is compared with every
known digest in constant time. A refused request is logged with its path and client address, never with what it
presented.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from pathlib import Path

from fastapi import Request

from python_jobs.service.errors import ApiError

API_KEYS_ENV = "SEGMENTS_API_KEYS"
API_KEYS_FILE_ENV = "SEGMENTS_API_KEYS_FILE"
_ENTRY = re.compile(r"^sha256:([0-9a-f]{64})$")

log = logging.getLogger("segments.service.auth")


class ApiKeyConfigError(ValueError):
    """$SEGMENTS_API_KEYS is missing or holds an entry that is not `sha256:<hex>`."""


def key_digest_entry(key: str) -> str:
    """The $SEGMENTS_API_KEYS entry of a key: what an operator stores instead of the key."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def parse_api_keys(text: str | None) -> tuple[bytes, ...]:
    """The digests of $SEGMENTS_API_KEYS; an empty or malformed value is refused (a service without keys
    would be open to anyone)."""
    entries = [entry.strip() for entry in (text or "").split(",") if entry.strip()]
    if not entries:
        raise ApiKeyConfigError(
            f"${API_KEYS_ENV} is empty: set it to comma-separated `sha256:<hex digest of a key>` entries "
            "(python -c \"import hashlib; print('sha256:' + hashlib.sha256(b'KEY').hexdigest())\")"
        )
    digests = []
    for number, entry in enumerate(entries, start=1):
        found = _ENTRY.match(entry.lower())
        if not found:
            # The entry is not echoed: it may be a key pasted by mistake.
            raise ApiKeyConfigError(
                f"${API_KEYS_ENV} entry {number} is not `sha256:` followed by 64 hex digits"
            )
        digests.append(bytes.fromhex(found.group(1)))
    return tuple(digests)


def api_keys_from_env() -> tuple[bytes, ...]:
    """$SEGMENTS_API_KEYS, or when it is unset the file $SEGMENTS_API_KEYS_FILE names (one entry a line)."""
    path = os.environ.get(API_KEYS_FILE_ENV, "").strip()
    if os.environ.get(API_KEYS_ENV) is None and path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ApiKeyConfigError(f"${API_KEYS_FILE_ENV}: cannot read {path}: {error.strerror}") from None
        lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
        return parse_api_keys(",".join(line for line in lines if line))
    return parse_api_keys(os.environ.get(API_KEYS_ENV))


def key_is_known(presented: str, digests: tuple[bytes, ...]) -> bool:
    digest = hashlib.sha256(presented.encode()).digest()
    # Every digest is compared, so the time taken does not say which one (or whether any) matched.
    matches = [hmac.compare_digest(digest, known) for known in digests]
    return any(matches)


async def require_api_key(request: Request) -> None:
    """The dependency of every protected route: a known key in `Authorization: Bearer <key>`, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    digests: tuple[bytes, ...] = request.app.state.api_key_digests
    if scheme.lower() == "bearer" and presented.strip() and key_is_known(presented.strip(), digests):
        return
    reason = "no Authorization header" if not header else "an unknown or malformed key"
    client = request.client.host if request.client else "unknown"
    log.warning("401 on %s %s from %s: %s", request.method, request.url.path, client, reason)
    raise ApiError(
        401,
        "a valid API key is required: send `Authorization: Bearer <key>`",
        {"WWW-Authenticate": "Bearer"},
    )
