"""A fresh, empty warehouse for one benchmark run, given as the environment variables that point the profile's
target at it: a DuckDB file in the run's scratch folder, a PostgreSQL database on the PG* server (dropped when the
block ends), or a Spark warehouse folder (its tables and metastore) in the scratch folder. A Spark driver keeps
the folder it started with for the rest of its process, so a benchmark that makes more than one Spark warehouse
runs each in a process of its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from python_jobs.warehouse.connection import Warehouse


def postgres_admin(*statements: str) -> None:
    """Run statements (create or drop a scratch database) on the profile's PostgreSQL database, outside any
    transaction."""
    connection = Warehouse.from_profile("postgres").postgres_connection(autocommit=True)
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


@contextmanager
def scratch_warehouse(target: str, folder: Path, name: str) -> Iterator[dict[str, str]]:
    """Yield the variables of an empty warehouse called `name` on `target` (files under `folder`)."""
    if target == "postgres":
        drop = f"drop database if exists {name} with (force)"
        postgres_admin(drop, f"create database {name}")
        try:
            yield {"PGDATABASE": name}
        finally:
            postgres_admin(drop)
    elif target == "spark":
        from python_jobs.warehouse.spark import WAREHOUSE_VARIABLE

        yield {WAREHOUSE_VARIABLE: str(folder / f"{name}-spark")}
    else:
        yield {"SEGMENTS_DUCKDB_PATH": str(folder / f"{name}.duckdb")}


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block, restoring what was there."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
