"""The service's front door on a real server on loopback: keys, limits, error bodies, the OpenAPI schema."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest

from python_jobs.service.auth import ApiKeyConfigError, api_keys_from_env, key_digest_entry, parse_api_keys
from python_jobs.service.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth
from python_jobs.testing.service import OTHER_API_KEY, TEST_API_KEY, running_service

# Bandit state: the Beta posteriors and the Monte Carlo sampling scores. None of it may leave the service.
ALGORITHM_STATE = ("alpha", "beta", "posterior", "probability_best", "sampling", "thompson", "draws")


@pytest.fixture
def service(duckdb_warehouse):
    with running_service(duckdb_warehouse) as running:
        yield running


def protected_routes(schema: dict) -> list[tuple[str, str]]:
    return [
        (method.upper(), path.replace("{", "").replace("}", ""))
        for path, operations in schema["paths"].items()
        for method in operations
        if path != "/health"
    ]


def test_health_needs_no_key_and_docs_are_served(service):
    with service.client(key=None) as client:
        assert client.get("/health").json() == {"status": "ok", "warehouse": "local"}
        assert client.get("/docs").status_code == 200
        schema = client.get("/openapi.json").json()
    assert "/segments/customer/{customer_id}" in schema["paths"]
    assert "/experiments/{experiment_id}/allocate" in schema["paths"]


def test_every_protected_route_refuses_a_missing_a_wrong_and_a_malformed_key(service, caplog):
    with service.client(key=None) as client:
        routes = protected_routes(client.get("/openapi.json").json())
    assert len(routes) >= 9
    presented = {
        "no key": None,
        "wrong key": OTHER_API_KEY,
        "a digest instead of the key": key_digest_entry(TEST_API_KEY),
    }
    caplog.set_level(logging.WARNING, logger="segments.service.auth")
    for name, key in presented.items():
        with service.client(key=key) as client:
            for method, path in routes:
                response = client.request(method, path, json={} if method in ("POST", "PUT") else None)
                assert response.status_code == 401, (name, method, path, response.text)
                assert response.json()["error"] == "unauthorized"
                assert response.headers["www-authenticate"] == "Bearer"
    with service.client(key=None) as client:
        assert client.get("/segments/stats", headers={"Authorization": "Basic abc"}).status_code == 401
    logged = caplog.text
    assert "401 on GET /segments/stats" in logged
    assert OTHER_API_KEY not in logged
    assert hashlib.sha256(TEST_API_KEY.encode()).hexdigest() not in logged


def test_the_right_key_passes(service):
    with service.client() as client:
        response = client.get("/segments/stats")
    # Past the key: the scratch warehouse has no marts yet, which is a 503 with a reason, not a 401.
    assert response.status_code == 503
    assert response.json() == {
        "error": "unavailable",
        "detail": "marts.segment_summary is not built yet: run `segments build`",
    }


def test_a_body_over_the_cap_is_413_and_a_deep_one_400(service):
    with service.client() as client:
        large = client.post(
            "/experiments/e1/allocate",
            content=b'{"visitor_id": "' + b"x" * MAX_BODY_BYTES + b'"}',
            headers={"Content-Type": "application/json"},
        )
        assert large.status_code == 413
        assert large.json()["error"] == "payload_too_large"

        def chunks():
            for _ in range(MAX_BODY_BYTES // 1000 + 2):
                yield b" " * 1000

        streamed = client.post(
            "/experiments/e1/allocate", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413

        deep = {"visitor_id": "v", "channel": "web", "context": {}}
        nested: object = "x"
        for _ in range(MAX_JSON_DEPTH + 5):
            nested = [nested]
        deep["context"] = {"k": nested}
        response = client.post("/experiments/e1/allocate", json=deep)
        assert response.status_code == 400
        assert "nested deeper" in response.json()["detail"]


def test_invalid_requests_are_422_with_a_readable_detail(service):
    with service.client() as client:
        response = client.post("/experiments/e1/allocate", json={"visitor_id": "v", "channel": "fax"})
        assert response.status_code == 422
        body = response.json()
        assert body["error"] == "invalid_request"
        assert "body.channel" in body["detail"]
        assert client.get("/segments/customer/bad%20id%3B").status_code == 422
        assert client.get("/no/such/route").json()["error"] == "not_found"


def test_no_response_schema_holds_algorithm_state(service):
    with service.client(key=None) as client:
        schema = client.get("/openapi.json").json()
    names: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema["components"]["schemas"])
    # The walk reaches the response models:
    assert "variant_id" in names
    assert "current_weight" in names
    leaked = sorted(n for n in names if any(word in n.lower() for word in ALGORITHM_STATE))
    assert leaked == []


def test_json_depth_is_counted_outside_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[["}]}') == 3
    assert json_depth(json.dumps({"s": '\\"{'}).encode()) == 1


def test_the_keys_setting_holds_digests_only():
    entry = key_digest_entry("k")
    assert parse_api_keys(f" {entry} ,{key_digest_entry('j')}") == (
        hashlib.sha256(b"k").digest(),
        hashlib.sha256(b"j").digest(),
    )
    for bad in ("", "k", "sha256:abc", "md5:" + "0" * 32):
        with pytest.raises(ApiKeyConfigError):
            parse_api_keys(bad)


def test_the_keys_may_come_from_a_file(tmp_path, monkeypatch):
    keys = tmp_path / "keys"
    keys.write_text(f"# the CRM\n{key_digest_entry('k')}\n\n{key_digest_entry('j')}  # the storefront\n")
    monkeypatch.delenv("SEGMENTS_API_KEYS", raising=False)
    monkeypatch.setenv("SEGMENTS_API_KEYS_FILE", str(keys))
    assert api_keys_from_env() == (hashlib.sha256(b"k").digest(), hashlib.sha256(b"j").digest())
    monkeypatch.setenv("SEGMENTS_API_KEYS_FILE", str(tmp_path / "missing"))
    with pytest.raises(ApiKeyConfigError, match="cannot read"):
        api_keys_from_env()
