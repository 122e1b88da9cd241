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
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from python_jobs.bench.scratch import environment as scratch_environment
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


# ------------------------------------------------------------------------------------------- scratch warehouses
# dbt re-parses the whole project (seconds of CPU) whenever the connection it parsed for changes: a new DuckDB
# path or PostgreSQL database each test would cost a full parse per dbt command. So each test process keeps a
# fixed set of "slots": a slot is always the same DuckDB path and the same database name, emptied before use,
# with a dbt target/ of its own, and dbt's partial parse carries over from one test to the next.


def work_root() -> Path:
    """This test process's scratch folder (each xdist worker has its own)."""
    return Path(os.environ["SEGMENTS_TEST_ROOT"])


def _require_postgres() -> None:
    """Skip without a server, unless SEGMENTS_REQUIRE_POSTGRES=1 (as on CI), where it is a failure."""
    reachable, reason = postgres_reachable()
    if not reachable:
        message = f"PostgreSQL is not reachable: {reason}"
        if os.environ.get("SEGMENTS_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)


def slot_database(slot: str) -> str:
    """The PostgreSQL database of a slot in this test process."""
    return f"segments_test_{os.getpid()}_{slot}"


@contextmanager
def scratch_warehouse(
    target: str, slot: str, patch: pytest.MonkeyPatch, template: str | None = None
) -> Iterator[Warehouse]:
    """An empty warehouse of `target` in the slot (or, on PostgreSQL, a copy of the database `template`), which
    the environment points dbt and the `segments` commands at until the context ends; dropped afterwards."""
    root = work_root() / slot
    patch.setenv("SEGMENTS_DBT_DIR", str(root / "dbt"))
    if target == "local":
        path = root / "warehouse.duckdb"
        for stale in (path, path.with_name(path.name + ".wal")):
            stale.unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        patch.setenv("SEGMENTS_DUCKDB_PATH", str(path))
        yield Warehouse.from_profile("local")
        return
    _require_postgres()
    name = slot_database(slot)
    admin = _admin_connection()
    admin.cursor().execute(f"drop database if exists {name} with (force)")
    admin.cursor().execute(f"create database {name}" + (f" template {template}" if template else ""))
    patch.setenv("PGDATABASE", name)
    try:
        yield Warehouse.from_profile("postgres")
    finally:
        admin.cursor().execute(f"drop database if exists {name} with (force)")
        admin.close()


@pytest.fixture(scope="session")
def scratch_warehouses() -> Callable[..., AbstractContextManager[Warehouse]]:
    """`scratch_warehouse` for module- and package-scoped fixtures: `with scratch_warehouses(target, slot,
    patch) as warehouse:` (a slot name of their own, so they keep dbt's partial parse too)."""
    return scratch_warehouse


@pytest.fixture
def duckdb_warehouse(monkeypatch) -> Iterator[Warehouse]:
    """The `local` target pointed at an empty DuckDB file for this test."""
    with scratch_warehouse("local", "fresh", monkeypatch) as warehouse:
        yield warehouse


@pytest.fixture
def postgres_warehouse(monkeypatch) -> Iterator[Warehouse]:
    """The `postgres` target pointed at an empty database for this test, dropped afterwards."""
    with scratch_warehouse("postgres", "fresh", monkeypatch) as warehouse:
        yield warehouse


# The `spark` target, as a parameter beside TARGETS for the tests that also run on Spark.
SPARK = pytest.param("spark", marks=pytest.mark.spark)


@pytest.fixture(scope="session")
def spark_warehouse(tmp_path_factory) -> Iterator[Warehouse]:
    """The `spark` target on a local session, one for the whole test process: Spark starts once per process
    (20-30 s), with its warehouse folder fixed at that start. Only with SEGMENTS_TEST_SPARK=1 (the Spark leg)."""
    if os.environ.get("SEGMENTS_TEST_SPARK") != "1":
        pytest.skip("the Spark target is tested only with SEGMENTS_TEST_SPARK=1")
    from python_jobs.warehouse.spark import spark_missing

    missing = spark_missing()
    if missing:
        pytest.fail(f"SEGMENTS_TEST_SPARK=1 but {missing}")
    patch = pytest.MonkeyPatch()
    # Absolute, so dbt (which renders the profile itself) and the jobs name the same folder.
    patch.setenv("SEGMENTS_SPARK_WAREHOUSE", str(tmp_path_factory.mktemp("spark") / "warehouse"))
    try:
        yield Warehouse.from_profile("spark")
    finally:
        patch.undo()


_WAREHOUSE_FIXTURES = {
    "local": "duckdb_warehouse",
    "postgres": "postgres_warehouse",
    "spark": "spark_warehouse",
}


@pytest.fixture(params=TARGETS)
def warehouse(request) -> Warehouse:
    """Each test using this runs once on DuckDB and once on PostgreSQL."""
    return request.getfixturevalue(_WAREHOUSE_FIXTURES[request.param])


@pytest.fixture(params=[*TARGETS, SPARK])
def warehouse_or_spark(request) -> Warehouse:
    """`warehouse`, and on Spark too in the Spark leg (SEGMENTS_TEST_SPARK=1)."""
    return request.getfixturevalue(_WAREHOUSE_FIXTURES[request.param])


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

# On DuckDB, large enough to spread an aggregation over its threads on a two-core machine, which the rebuild test
# needs to show an order-dependent float sum (3,000 customers are enough on eight cores, rarely on two), with the
# demo's experiment traffic (one experiment over 10,000 visitors a day, so the auto clustering runs too).
# PostgreSQL plans no parallel aggregate over tables this small whatever their size here, so it is built smaller.
BUILT_SIZES = {"local": ("10000", "1.0"), "postgres": ("3000", "0.25")}
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
    with scratch_environment(**environment):
        return Warehouse.from_profile(target)


def _build(target: str, environment: dict[str, str]) -> Built:
    customers, experiment_scale = BUILT_SIZES[target]
    sizes = ["--customers", customers, "--experiment-scale", experiment_scale]
    generated = _segments(
        ["generate", *sizes, "--seed", str(BUILT_SEED), "--target", target],
        environment,
    )
    built = _segments(["build", "--target", target], environment)
    return Built(_warehouse_of(target, environment), environment, generated, built)


@pytest.fixture(scope="session")
def built_duckdb() -> Built:
    path = work_root() / "built" / "warehouse.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    environment = {"SEGMENTS_DUCKDB_PATH": str(path), "SEGMENTS_DBT_DIR": str(path.parent / "dbt")}
    # One model at a time: DuckDB splits a query over its threads only when they are free, and with four models
    # at once on a small machine they seldom are, which would hide an order-dependent aggregation.
    return _build(
        "local", {**environment, "DBT_THREADS": "1", "SEGMENTS_LLM_ARCHIVE": str(path.parent / "llm")}
    )


@pytest.fixture(scope="session")
def built_postgres() -> Iterator[Built]:
    with pytest.MonkeyPatch.context() as patch, scratch_warehouse("postgres", "built", patch) as warehouse:
        environment = {name: os.environ[name] for name in ("PGDATABASE", "SEGMENTS_DBT_DIR")}
        environment["SEGMENTS_LLM_ARCHIVE"] = str(work_root() / "built-postgres" / "llm")
        patch.undo()  # the built database is named in `environment`, never in the other tests' environment
        yield _build(warehouse.target, environment)


@pytest.fixture(params=TARGETS)
def built(request) -> Built:
    """The shared built warehouse of each target: read it, never change it (take `built_copy` for that)."""
    return request.getfixturevalue("built_duckdb" if request.param == "local" else "built_postgres")


@pytest.fixture
def built_copy(built: Built, monkeypatch) -> Iterator[Built]:
    """A private copy of the built warehouse, which the `segments` commands of this test point at."""
    target = "local" if built.warehouse.kind == "duckdb" else "postgres"
    template = None if target == "local" else built.environment["PGDATABASE"]
    with scratch_warehouse(target, "copy", monkeypatch, template=template) as warehouse:
        if target == "local":
            shutil.copyfile(built.warehouse.duckdb_path, warehouse.duckdb_path)
        moved = ("SEGMENTS_DUCKDB_PATH", "PGDATABASE", "SEGMENTS_DBT_DIR")
        environment = {
            **built.environment,
            **{name: os.environ[name] for name in moved if name in os.environ},
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        yield Built(warehouse, environment, built.generate_output, built.build_output)


def pytest_configure(config) -> None:
    """Each test process (each xdist worker) gets a scratch folder of its own, and runs dbt with a target/ and
    logs/ of its own there (a manifest is not for sharing)."""
    root = Path(tempfile.gettempdir()) / f"segments-tests-{os.getpid()}"
    root.mkdir(parents=True, exist_ok=True)
    os.environ["SEGMENTS_TEST_ROOT"] = str(root)
    os.environ["SEGMENTS_DBT_DIR"] = str(root / "dbt")
    # Every `segments build` of the suite (the built warehouses, the builds tests run) fits the segments with 2
    # bootstrap resamples instead of 10: the bootstrap is most of the clustering step, and no test of a build
    # measures stability (tests/python_jobs/segmentation/ does, with parameters of its own).
    os.environ.setdefault("SEGMENTS_BOOTSTRAP_RESAMPLES", "2")


def pytest_unconfigure(config) -> None:
    shutil.rmtree(os.environ.get("SEGMENTS_TEST_ROOT", "/nonexistent"), ignore_errors=True)


# Fixtures that build a warehouse once and share it. A test process builds one when its first test asks; so that
# each is built once in the whole run, their tests go to one xdist worker per fixture and target.
SHARED_WAREHOUSES = ("built", "demo_warehouse", "experiment_warehouse", "net_warehouse")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `long` first. xdist hands out the shared warehouses' groups first (the largest first), then
    the other tests one at a time in this order: a long test handed out last would leave the other worker idle
    for its whole length at the end of the run."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def pytest_itemcollected(item) -> None:
    """Groups each test of a shared warehouse with the others of the same warehouse and target (marked as each
    test is collected, before xdist reads the groups); different groups can run on different workers."""
    names = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    if "built_duckdb" in names:
        group = "built-local"
    elif "built_postgres" in names and "built" not in names:
        group = "built-postgres"
    else:
        shared = next((name for name in SHARED_WAREHOUSES if name in names), None)
        if shared is None:
            return
        group = f"{shared}-{params.get(shared, 'any')}"
    item.add_marker(pytest.mark.xdist_group(group))
