"""`dbt_session`: the dbt commands of a build run in one dbt process, which hands the DuckDB file back after each
command, reports each command's own exit code, and never serves a command meant for another warehouse."""

from __future__ import annotations

import pyarrow as pa

from python_jobs.warehouse import dbt_runner
from python_jobs.warehouse.dbt_runner import dbt_session, run_dbt

CATEGORIES = ["ls", "--resource-type", "seed", "--output", "name"]


def _worker_pid(target: str) -> int:
    return dbt_runner._SESSIONS[target].process.pid


def test_the_commands_of_a_session_share_one_process_and_the_jobs_between_them_can_write(duckdb_warehouse):
    lines: list[str] = []
    with dbt_session("local"):
        pid = _worker_pid("local")
        seeded = run_dbt(["seed"], target="local", echo=lines.append)
        parsed_at = (dbt_runner.target_path("local") / "partial_parse.msgpack").stat().st_mtime_ns
        # A job between two dbt steps opens the DuckDB file for writing: dbt must have let go of it.
        with duckdb_warehouse.session() as session:
            session.replace_table("raw", "written_between", pa.table({"n": [1, 2, 3]}))
        listed = run_dbt(CATEGORIES, target="local", echo=lines.append)
        assert _worker_pid("local") == pid
        # The project was parsed once, for the first command: the second reused its manifest.
        assert (dbt_runner.target_path("local") / "partial_parse.msgpack").stat().st_mtime_ns == parsed_at
    assert "local" not in dbt_runner._SESSIONS

    assert seeded.ok
    assert [result["unique_id"] for result in seeded.results] == ["seed.segment_warehouse.product_categories"]
    assert listed.ok
    assert "product_categories" in lines
    with duckdb_warehouse.session(read_only=True) as session:
        assert session.fetchone("select count(*) from raw.product_categories")[0] > 0
        assert session.fetchone("select sum(n) from raw.written_between") == (6,)


def test_a_failed_command_is_reported_and_the_session_goes_on(duckdb_warehouse):
    with dbt_session("local"):
        failed = run_dbt(["build", "--no-such-option"], target="local")
        pid = _worker_pid("local")
        seeded = run_dbt(["seed"], target="local")
        assert _worker_pid("local") == pid

    assert not failed.ok
    assert failed.results == []
    assert seeded.ok


def test_a_session_serves_only_the_warehouse_it_was_started_for(duckdb_warehouse, tmp_path, monkeypatch):
    """A command run meanwhile for another DuckDB file (or database) goes to a `dbt-py` process of its own."""
    with dbt_session("local"):
        assert dbt_runner._SESSIONS["local"].serves(dbt_runner._dbt_environment())
        monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(tmp_path / "other.duckdb"))
        assert not dbt_runner._SESSIONS["local"].serves(dbt_runner._dbt_environment())
        monkeypatch.setenv("PGDATABASE", "another_database")
        assert not dbt_runner._SESSIONS["local"].serves(dbt_runner._dbt_environment())
