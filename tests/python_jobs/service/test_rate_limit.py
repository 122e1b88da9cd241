"""The per-key rate limit: the token buckets on a hand-driven clock, the setting, and the 429 of a real server."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from python_jobs.service.auth import key_digest_entry
from python_jobs.service.rate_limit import (
    RateLimit,
    RateLimitConfigError,
    TokenBuckets,
    rate_limit_from_env,
)
from python_jobs.testing.service import OTHER_API_KEY, TEST_API_KEY, running_service


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_lets_a_burst_through_then_refills_at_the_rate():
    clock = Clock()
    buckets = TokenBuckets(RateLimit(per_second=2, burst=3), clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token comes back in half a second
    assert buckets.take("b") == 0  # each client has its own bucket
    clock.now += 0.25
    assert buckets.take("a") == pytest.approx(0.25)
    clock.now += 0.25
    assert buckets.take("a") == 0
    clock.now += 60  # idle: back to the burst, never above it
    assert [buckets.take("a") for _ in range(4)][-1] == pytest.approx(0.5)


def test_the_setting_comes_from_the_environment():
    assert rate_limit_from_env({}) is None
    assert rate_limit_from_env({"SEGMENTS_API_RATE_LIMIT": "0"}) is None
    assert rate_limit_from_env({"SEGMENTS_API_RATE_LIMIT": "2.5"}) == RateLimit(2.5, 3)
    assert rate_limit_from_env({"SEGMENTS_API_RATE_LIMIT": "0.2"}) == RateLimit(0.2, 1)
    both = {"SEGMENTS_API_RATE_LIMIT": "10", "SEGMENTS_API_RATE_BURST": "50"}
    assert rate_limit_from_env(both) == RateLimit(10, 50)
    for bad in ("fast", "-1", "nan"):
        with pytest.raises(RateLimitConfigError, match="SEGMENTS_API_RATE_LIMIT"):
            rate_limit_from_env({"SEGMENTS_API_RATE_LIMIT": bad})
    with pytest.raises(RateLimitConfigError, match="SEGMENTS_API_RATE_BURST"):
        rate_limit_from_env({"SEGMENTS_API_RATE_LIMIT": "1", "SEGMENTS_API_RATE_BURST": "0"})


def test_serve_refuses_a_bad_rate_setting_in_words():
    environment = {
        **os.environ,
        "SEGMENTS_API_KEYS": key_digest_entry("k"),
        "SEGMENTS_API_RATE_LIMIT": "lots",
    }
    result = subprocess.run(
        [sys.executable, "-m", "python_jobs", "serve", "--port", "0"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "$SEGMENTS_API_RATE_LIMIT is not a number" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_key_over_its_rate_is_429_with_retry_after(duckdb_warehouse):
    keys = f"{key_digest_entry(TEST_API_KEY)},{key_digest_entry(OTHER_API_KEY)}"
    # Slow enough that the burst is spent before a token comes back, however slow the machine.
    limit = RateLimit(per_second=0.5, burst=3)
    with running_service(duckdb_warehouse, keys, rate_limit=limit) as service:
        with service.client() as client:
            # Past the key, the scratch warehouse answers 503 (no marts): the request was let through.
            burst = [client.get("/segments/stats").status_code for _ in range(3)]
            refused = client.get("/segments/stats")
            health = client.get("/health").status_code
            refused_post = client.post("/experiments/e1/allocate", json={"visitor_id": "v", "channel": "web"})
        with service.client(key=OTHER_API_KEY) as other:
            other_key = other.get("/segments/stats").status_code
        with service.client(key=None) as anonymous:
            anonymous_codes = [anonymous.get("/segments/stats").status_code for _ in range(4)]
        time.sleep(int(refused.headers["retry-after"]) + 0.1)
        with service.client() as client:
            after_waiting = client.get("/segments/stats").status_code
    assert burst == [503, 503, 503]
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_requests"
    assert "0.5 requests a second" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 2
    assert health == 200
    assert refused_post.status_code == 429
    assert other_key == 503
    # Without a key, the client's address has its own bucket: the guessing of keys is slowed down too.
    assert anonymous_codes == [401, 401, 401, 429]
    assert after_waiting == 503


def test_without_a_limit_nothing_is_refused(duckdb_warehouse):
    with running_service(duckdb_warehouse) as service, service.client() as client:
        codes = {client.get("/segments/stats").status_code for _ in range(30)}
    assert codes == {503}
