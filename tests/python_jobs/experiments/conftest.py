"""Helpers for the experiment tests: small hand-made raw experiment tables in a real warehouse."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest

from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import EXPERIMENT_RAW_TABLES, RAW_SCHEMA, RAW_TABLES


def _write_experiment_tables(warehouse: Warehouse, **rows: list[dict]) -> None:
    tables = {
        name: pa.Table.from_pylist(rows.get(name, []), schema=RAW_TABLES[name])
        for name in EXPERIMENT_RAW_TABLES
    }
    with warehouse.session() as session:
        session.replace_tables(RAW_SCHEMA, tables)


@pytest.fixture
def write_experiment_tables() -> Callable[..., None]:
    """`write_experiment_tables(warehouse, experiments=[...], ...)` replaces the four raw experiment tables: the
    given rows, the tables not named empty."""
    return _write_experiment_tables
