"""Readers and writers of one warehouse in real, separate processes: nobody breaks anybody, and whoever has to
wait or give up says for whom."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from python_jobs import PROJECT_ROOT
from python_jobs.warehouse.connection import Warehouse, WarehouseError
from python_jobs.warehouse.locks import WarehouseBusyError, writing

SEGMENTS = str(Path(sys.executable).parent / "segments")

# Holds the warehouse the way a writing command does (optionally inside an open writing session), prints
# "held" once it does, then lets go after the given seconds.
HOLD_WRITER = """
import sys, time
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.locks import writing
warehouse = Warehouse.from_profile(sys.argv[1])
with writing(warehouse, "segments build"):
    if sys.argv[3] == "session":
        with warehouse.session() as session:
            session.execute("create table if not exists held (n integer)")
            print("held", flush=True)
            time.sleep(float(sys.argv[2]))
            session.execute("insert into held values (1)")
    else:
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
print("done", flush=True)
"""

HOLD_READER = """
import sys, time
from python_jobs.warehouse.connection import Warehouse
warehouse = Warehouse.from_profile(sys.argv[1])
with warehouse.session(read_only=True) as session:
    session.fetchall("select 1")
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def start(script: str, target: str, seconds: float, *extra: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", script, target, str(seconds), *extra],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if line != "held":
        process.kill()
        pytest.fail(f"the holding process did not start: {line} {process.stderr.read()}")
    return process


def finish(process: subprocess.Popen) -> str:
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    return stdout


def create_table(warehouse: Warehouse) -> None:
    with warehouse.session() as session:
        session.execute("create table seen (n integer)")
        session.execute("insert into seen values (1)")


# ---------------------------------------------------------------------------------------------- readers


def test_readers_share_a_duckdb_file_and_a_writer_waits_for_them(duckdb_warehouse):
    create_table(duckdb_warehouse)
    reader = start(HOLD_READER, "local", 1.5)
    # A second reader opens while the first holds the file: DuckDB allows many read-only processes.
    with duckdb_warehouse.session(read_only=True) as session:
        assert session.fetchone("select count(*) from seen") == (1,)
    started = time.monotonic()
    with duckdb_warehouse.session() as session:
        session.execute("insert into seen values (2)")
    assert time.monotonic() - started > 0.5  # it waited for the reader instead of failing
    finish(reader)
    with duckdb_warehouse.session(read_only=True) as session:
        assert session.fetchone("select count(*) from seen") == (2,)


def test_a_reader_during_a_write_is_told_who_writes_and_the_writer_is_unharmed(duckdb_warehouse, monkeypatch):
    create_table(duckdb_warehouse)
    writer = start(HOLD_WRITER, "local", 2.0, "session")
    monkeypatch.setenv("SEGMENTS_READ_TIMEOUT", "0.3")
    with pytest.raises(WarehouseBusyError) as caught, duckdb_warehouse.session(read_only=True):
        pass
    assert re.fullmatch(
        rf"the warehouse is being written by `segments build` \(pid {writer.pid}\) since \d\d:\d\d:\d\d; "
        "try again when it finishes",
        str(caught.value),
    )
    assert "done" in finish(writer)
    with duckdb_warehouse.session(read_only=True) as session:
        assert session.fetchone("select count(*) from held") == (1,)


def test_a_reader_waits_out_a_short_write(duckdb_warehouse, monkeypatch):
    create_table(duckdb_warehouse)
    writer = start(HOLD_WRITER, "local", 0.5, "session")
    monkeypatch.setenv("SEGMENTS_READ_TIMEOUT", "20")
    with duckdb_warehouse.session(read_only=True) as session:
        assert session.fetchone("select count(*) from held") == (1,)
    finish(writer)


def test_a_read_only_session_cannot_write(warehouse):
    create_table(warehouse)
    with pytest.raises(Exception, match=r"(?i)read.only"), warehouse.session(read_only=True) as session:
        session.execute("insert into seen values (3)")
    with warehouse.session(read_only=True) as session:
        assert session.fetchone("select count(*) from seen") == (1,)


def test_reading_a_missing_duckdb_file_says_so_and_creates_nothing(duckdb_warehouse):
    with (
        pytest.raises(WarehouseError, match=r"there is no warehouse at .* yet"),
        duckdb_warehouse.session(read_only=True),
    ):
        pass
    assert not duckdb_warehouse.duckdb_path.exists()


def test_assign_during_a_write_says_so_in_one_line(duckdb_warehouse):
    create_table(duckdb_warehouse)
    writer = start(HOLD_WRITER, "local", 3.0, "session")
    result = subprocess.run(
        [SEGMENTS, "assign", "--customer-id", "C1"],
        capture_output=True,
        text=True,
        env={**os.environ, "SEGMENTS_READ_TIMEOUT": "0.3"},
        timeout=60,
    )
    finish(writer)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: the warehouse is being written by `segments build` (pid {writer.pid}) since "
        f"{result.stderr.split(' since ')[1][:8]}; try again when it finishes"
    ]


# ---------------------------------------------------------------------------------------------- writers


def test_a_second_writer_waits_for_the_first_then_proceeds(warehouse, monkeypatch):
    first = start(HOLD_WRITER, warehouse.target, 1.5, "lock")
    monkeypatch.setenv("SEGMENTS_LOCK_TIMEOUT", "30")
    said: list[str] = []
    started = time.monotonic()
    with writing(warehouse, "segments generate", notify=said.append):
        waited = time.monotonic() - started
    finish(first)
    assert waited > 0.7
    assert len(said) == 1
    assert f"Waiting for another `segments build` (pid {first.pid}), writing since" in said[0]


def test_a_second_writer_gives_up_after_the_timeout_naming_the_holder(warehouse, monkeypatch):
    first = start(HOLD_WRITER, warehouse.target, 3.0, "lock")
    monkeypatch.setenv("SEGMENTS_LOCK_TIMEOUT", "0.5")
    with (
        pytest.raises(WarehouseBusyError) as caught,
        writing(warehouse, "segments generate", notify=lambda _line: None),
    ):
        pass
    finish(first)
    assert re.fullmatch(
        rf"another `segments build` \(pid {first.pid}\) has held this warehouse since \d\d:\d\d:\d\d; "
        r"gave up after 0.5 s \(SEGMENTS_LOCK_TIMEOUT\)",
        str(caught.value),
    )
    # Once the first is gone the lock is free at once.
    with writing(warehouse, "segments generate", notify=lambda _line: None):
        pass


def test_two_builds_on_one_warehouse_the_second_stops_in_one_line(warehouse):
    first = start(HOLD_WRITER, warehouse.target, 4.0, "lock")
    result = subprocess.run(
        [SEGMENTS, "build", "--target", warehouse.target],
        capture_output=True,
        text=True,
        env={**os.environ, "SEGMENTS_LOCK_TIMEOUT": "1"},
        timeout=60,
    )
    finish(first)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(f"Waiting for another `segments build` (pid {first.pid})")
    assert lines[1].startswith(
        f"Error: another `segments build` (pid {first.pid}) has held this warehouse since"
    )
    assert result.stdout == ""


def test_nested_holds_in_one_process_do_not_wait(warehouse, monkeypatch):
    monkeypatch.setenv("SEGMENTS_LOCK_TIMEOUT", "0")
    with writing(warehouse, "segments demo"), writing(warehouse, "segments build"):
        create_table(warehouse)


def test_a_bad_lock_timeout_is_named(duckdb_warehouse, monkeypatch):
    monkeypatch.setenv("SEGMENTS_LOCK_TIMEOUT", "soon")
    with (
        pytest.raises(WarehouseError, match="SEGMENTS_LOCK_TIMEOUT='soon' is not a number of seconds"),
        writing(duckdb_warehouse, "segments build"),
    ):
        pass
