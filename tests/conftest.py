"""Shared fixtures: a real DuckDB file and a real PostgreSQL database per test, never a mock.

PostgreSQL tests need a server (the `postgres` target's PG* variables, default 127.0.0.1:5432). Without one they
are skipped with the reason shown, unless SEGMENTS_REQUIRE_POSTGRES=1 (as on CI), where they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from python_jobs.testing.fake_messages_api import FakeMessagesAPI
from python_jobs.warehouse.connection import Warehouse, postgres_reachable

TARGETS = ["local", pytest.param("postgres", marks=pytest.mark.postgres)]


def _admin_connection():
    return Warehouse.from_profile("postgres").postgres_connection(autocommit=True)


@pytest.fixture(scope="session")
def _llm_archive_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("llm_logs")


@pytest.fixture(autouse=True)
def _no_real_llm(monkeypatch, _llm_archive_root):
    """Tests never reach the real Anthropic API, whatever the shell exports; those that need a key set their own
    (and point the SDK at the fake Messages API). Jobs a test runs inside a build archive their LLM calls in
    a temporary folder, never in the working directory's llm_logs/."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("SEGMENTS_LLM_ARCHIVE", str(_llm_archive_root))


@pytest.fixture
def duckdb_warehouse(tmp_path, monkeypatch) -> Warehouse:
    """The `local` target pointed at a fresh DuckDB file for this test."""
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    return Warehouse.from_profile("local")


def _require_postgres() -> None:
    """Skip without a server, unless SEGMENTS_REQUIRE_POSTGRES=1 (as on CI), where it is a failure."""
    reachable, reason = postgres_reachable()
    if not reachable:
        message = f"PostgreSQL is not reachable: {reason}"
        if os.environ.get("SEGMENTS_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def postgres_warehouse(monkeypatch) -> Iterator[Warehouse]:
    """The `postgres` target pointed at a fresh database for this test, dropped afterwards."""
    _require_postgres()
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
    """A started FakeMessagesAPI on 127.0.0.1, stopped after the test; it refuses requests without an answer
    schema (`output_config.format`), as every job sends one."""
    with FakeMessagesAPI(require_output_schema=True) as api:
        yield api


# ---------------------------------------------------------------------------------------------- built warehouses
# Building a warehouse (generate + `segments build`: every model, every data and unit test, the clustering job)
# is the most expensive thing the suite does, so each target is built once per session and shared. Tests that
# only read take `built`; tests that change what was built take `built_copy`, a private copy of it.

# Large enough for DuckDB to spread an aggregation over its threads on a two-core machine, which the rebuild
# test needs to show an order-dependent float sum (3,000 customers are enough on eight cores, rarely on two).
BUILT_CUSTOMERS = 10_000
BUILT_SEED = 42


@dataclass
class Built:
    """A warehouse built by the real `segments` command, and what the command printed."""

    warehouse: Warehouse
    environment: dict[str, str]
    generate_output: str
    build_output: str


def _segments(args: list[str], environment: dict[str, str]) -> str:
    """Run the installed `segments` command as a user would; its output, or the test fails showing it."""
    executable = Path(sys.executable).parent / "segments"
    result = subprocess.run(
        [str(executable), *args],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"segments {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _warehouse_of(target: str, environment: dict[str, str]) -> Warehouse:
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        return Warehouse.from_profile(target)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _build(target: str, environment: dict[str, str]) -> Built:
    generated = _segments(
        ["generate", "--customers", str(BUILT_CUSTOMERS), "--seed", str(BUILT_SEED), "--target", target],
        environment,
    )
    built = _segments(["build", "--target", target], environment)
    return Built(_warehouse_of(target, environment), environment, generated, built)


@pytest.fixture(scope="session")
def built_duckdb(tmp_path_factory) -> Built:
    path = tmp_path_factory.mktemp("built") / "warehouse.duckdb"
    # One model at a time: DuckDB splits a query over its threads only when they are free, and with four models
    # at once on a small machine they seldom are, which would hide an order-dependent aggregation.
    environment = {
        "SEGMENTS_DUCKDB_PATH": str(path),
        "DBT_THREADS": "1",
        "SEGMENTS_LLM_ARCHIVE": str(path.parent / "llm"),
    }
    return _build("local", environment)


@pytest.fixture(scope="session")
def built_postgres(tmp_path_factory) -> Iterator[Built]:
    _require_postgres()
    name = f"segments_test_built_{uuid.uuid4().hex[:12]}"
    admin = _admin_connection()
    admin.cursor().execute(f"create database {name}")
    try:
        archive = tmp_path_factory.mktemp("built-postgres") / "llm"
        yield _build("postgres", {"PGDATABASE": name, "SEGMENTS_LLM_ARCHIVE": str(archive)})
    finally:
        admin.cursor().execute(f"drop database if exists {name} with (force)")
        admin.close()


@pytest.fixture(params=TARGETS)
def built(request) -> Built:
    """The shared built warehouse of each target: read it, never change it (take `built_copy` for that)."""
    return request.getfixturevalue("built_duckdb" if request.param == "local" else "built_postgres")


@pytest.fixture
def built_copy(built: Built, tmp_path, monkeypatch) -> Iterator[Built]:
    """A private copy of the built warehouse, which the `segments` commands of this test point at."""
    if built.warehouse.kind == "duckdb":
        copy = tmp_path / "warehouse.duckdb"
        shutil.copyfile(built.warehouse.duckdb_path, copy)
        environment = {**built.environment, "SEGMENTS_DUCKDB_PATH": str(copy)}
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        yield Built(
            _warehouse_of("local", environment), environment, built.generate_output, built.build_output
        )
        return
    name = f"segments_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_connection()
    admin.cursor().execute(f"create database {name} template {built.environment['PGDATABASE']}")
    environment = {**built.environment, "PGDATABASE": name}
    monkeypatch.setenv("PGDATABASE", name)
    try:
        yield Built(
            _warehouse_of("postgres", environment), environment, built.generate_output, built.build_output
        )
    finally:
        admin.cursor().execute(f"drop database if exists {name} with (force)")
        admin.close()


def pytest_configure(config) -> None:
    """Each xdist worker runs dbt with a target/ and logs/ of its own (a manifest is not for sharing)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        work = Path(tempfile.gettempdir()) / f"segments-dbt-{os.getpid()}-{worker}"
        work.mkdir(parents=True, exist_ok=True)
        os.environ["SEGMENTS_DBT_DIR"] = str(work)


_BUILT_FIXTURES = {"built", "built_copy", "built_duckdb", "built_postgres"}


def pytest_itemcollected(item) -> None:
    """Tests of the shared built warehouses run on one worker, so each target is built once (marked as each
    test is collected, before xdist reads the groups)."""
    if _BUILT_FIXTURES & set(getattr(item, "fixturenames", ())):
        item.add_marker(pytest.mark.xdist_group("built_warehouses"))
