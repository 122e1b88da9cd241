"""Shared fixtures: a real DuckDB file and a real PostgreSQL database per test, never a mock.

PostgreSQL tests need a server (the `postgres` target's PG* variables, default 127.0.0.1:5432). Without one they
are skipped with the reason shown, unless SEGMENTS_REQUIRE_POSTGRES=1 (as on CI), where they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from python_jobs.testing.fake_messages_api import FakeMessagesAPI
from python_jobs.warehouse.connection import Warehouse, postgres_reachable

TARGETS = ["local", pytest.param("postgres", marks=pytest.mark.postgres)]


def _admin_connection():
    return Warehouse.from_profile("postgres").postgres_connection(autocommit=True)


@pytest.fixture(autouse=True)
def _no_real_llm(monkeypatch):
    """Tests never reach the real Anthropic API, whatever the shell exports; those that need a key set their own
    (and point the SDK at the fake Messages API)."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


@pytest.fixture
def duckdb_warehouse(tmp_path, monkeypatch) -> Warehouse:
    """The `local` target pointed at a fresh DuckDB file for this test."""
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    return Warehouse.from_profile("local")


@pytest.fixture
def postgres_warehouse(monkeypatch) -> Iterator[Warehouse]:
    """The `postgres` target pointed at a fresh database for this test, dropped afterwards."""
    reachable, reason = postgres_reachable()
    if not reachable:
        message = f"PostgreSQL is not reachable: {reason}"
        if os.environ.get("SEGMENTS_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    name = f"segments_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_connection()
    admin.cursor().execute(f"create database {name}")
    monkeypatch.setenv("PGDATABASE", name)
    try:
        yield Warehouse.from_profile("postgres")
    finally:
        admin.cursor().execute(f"drop database if exists {name} with (force)")
        admin.close()


@pytest.fixture(params=TARGETS)
def warehouse(request) -> Warehouse:
    """Each test using this runs once on DuckDB and once on PostgreSQL."""
    fixture = "duckdb_warehouse" if request.param == "local" else "postgres_warehouse"
    return request.getfixturevalue(fixture)


@pytest.fixture
def fake_messages_api() -> Iterator[FakeMessagesAPI]:
    """A started FakeMessagesAPI on 127.0.0.1, stopped after the test."""
    with FakeMessagesAPI() as api:
        yield api
