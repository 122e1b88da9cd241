"""Property-based fuzzing of the whole OpenAPI schema with schemathesis, against the real server on a copy of the
built warehouse (DuckDB and PostgreSQL): whatever a client sends, no 5xx, and every response matches its schema and
its documented statuses. Bounded (a few examples per operation) so the suite stays fast. Product segmentation is
left out: each accepted request would start an LLM run."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from python_jobs.segmentation.feature_chain import feature_chain
from python_jobs.testing.service import TEST_API_KEY, running_service

EXAMPLES_PER_OPERATION = 8


def test_no_request_makes_a_server_error(built_copy):
    # The models POST /segments/assign runs are compiled once per process: here, rather than inside the first
    # fuzzed request's time.
    feature_chain()
    with running_service(built_copy.warehouse) as service:
        schema = schemathesis.openapi.from_url(f"{service.base_url}/openapi.json")
        operations = [
            result.ok()
            for result in schema.get_all_operations()
            if not result.ok().path.startswith("/product-segmentation")
        ]
        assert len(operations) >= 10
        assert any(operation.path == "/segments/assign" for operation in operations)
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck)
            )
            def check(case):
                case.call_and_validate(
                    base_url=service.base_url,
                    headers={"Authorization": f"Bearer {TEST_API_KEY}"},
                    checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
                )

            check()
