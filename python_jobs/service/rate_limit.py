"""Requests per API key: a token bucket for each key, 429 with Retry-After once it is empty.

$SEGMENTS_API_RATE_LIMIT is the steady rate (requests per second, a decimal number) and $SEGMENTS_API_RATE_BURST
how many may come at once (by default one second's worth, at least 1). Unset or 0, nothing is limited. A request
with a known key is counted against that key; one without (or with an unknown key) against its client address,
so guessing keys is slowed down too. /health is never limited.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from python_jobs.service.auth import key_is_known
from python_jobs.service.errors import error_response
from python_jobs.service.limits import Receive, Scope, Send

RATE_LIMIT_ENV = "SEGMENTS_API_RATE_LIMIT"
RATE_BURST_ENV = "SEGMENTS_API_RATE_BURST"
UNLIMITED_PATHS = ("/health",)
# Past this many buckets, the full ones (clients idle long enough to be back to the burst) are forgotten.
MAX_BUCKETS = 10_000


class RateLimitConfigError(ValueError):
    """$SEGMENTS_API_RATE_LIMIT or $SEGMENTS_API_RATE_BURST is not a number the limiter can use."""


@dataclass(frozen=True)
class RateLimit:
    per_second: float
    burst: int


def rate_limit_from_env(environ: dict[str, str] | None = None) -> RateLimit | None:
    """The limit the environment sets, or None when it sets none."""
    environ = os.environ if environ is None else environ
    rate_text = environ.get(RATE_LIMIT_ENV, "").strip()
    burst_text = environ.get(RATE_BURST_ENV, "").strip()
    try:
        per_second = float(rate_text) if rate_text else 0.0
    except ValueError:
        raise RateLimitConfigError(f"${RATE_LIMIT_ENV} is not a number of requests per second") from None
    if not math.isfinite(per_second) or per_second < 0:
        raise RateLimitConfigError(f"${RATE_LIMIT_ENV} must be a number of requests per second, 0 or more")
    if per_second == 0:
        return None
    if burst_text and not (burst_text.isdigit() and int(burst_text) >= 1):
        raise RateLimitConfigError(f"${RATE_BURST_ENV} must be a whole number of requests, at least 1")
    burst = int(burst_text) if burst_text else max(1, math.ceil(per_second))
    return RateLimit(per_second, burst)


@dataclass
class TokenBuckets:
    """One bucket per client: it holds up to `burst` tokens, refills at `per_second`, and a request takes one."""

    limit: RateLimit
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # client -> (tokens, as of)

    def take(self, client: str) -> float:
        """0 when the client may go ahead (a token is taken), else the seconds until it may."""
        now = self.clock()
        tokens = self._tokens(client, now)
        if tokens >= 1:
            self._buckets[client] = (tokens - 1, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._forget_full(now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1 - tokens) / self.limit.per_second

    def _tokens(self, client: str, now: float) -> float:
        held, as_of = self._buckets.get(client, (float(self.limit.burst), now))
        return min(float(self.limit.burst), held + (now - as_of) * self.limit.per_second)

    def _forget_full(self, now: float) -> None:
        full = [client for client in self._buckets if self._tokens(client, now) >= self.limit.burst]
        for client in full:
            del self._buckets[client]


class RateLimiter:
    """A pure ASGI middleware; it runs on the event loop, so the buckets need no lock."""

    def __init__(self, app: Callable, limit: RateLimit, api_key_digests: tuple[bytes, ...]):
        self.app = app
        self.buckets = TokenBuckets(limit)
        self.api_key_digests = api_key_digests

    def _client(self, scope: Scope) -> str:
        headers = dict(scope.get("headers") or [])
        scheme, _, presented = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        presented = presented.strip()
        if scheme.lower() == "bearer" and presented and key_is_known(presented, self.api_key_digests):
            return "key:" + hashlib.sha256(presented.encode()).hexdigest()
        client = scope.get("client")
        return "address:" + (client[0] if client else "unknown")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(self._client(scope))
        if wait == 0:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        headers = {"Retry-After": str(seconds)}
        if scope["method"] not in ("GET", "HEAD", "OPTIONS", "DELETE"):
            headers["Connection"] = "close"  # the body is left unread
        detail = (
            f"more than {self.buckets.limit.per_second:g} requests a second "
            f"(bursts of {self.buckets.limit.burst}); retry in {seconds} s"
        )
        await error_response(429, detail, headers)(scope, receive, send)
