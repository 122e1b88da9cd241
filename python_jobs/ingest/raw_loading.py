"""What every loader of a file into schema `raw` shares: its error, and the one-transaction replace."""

from __future__ import annotations

import pyarrow as pa

from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import RAW_SCHEMA, RAW_TABLES


class LoadError(ValueError):
    """The file cannot be loaded; the message names the file, line and column."""


def replace_raw_tables(warehouse: Warehouse, tables: dict[str, pa.Table]) -> dict[str, int]:
    """Replace the given raw tables in one transaction; make sure the other raw tables exist (empty).

    Returns the row count of every raw table afterwards, so the caller can say what else is there.
    """
    counts: dict[str, int] = {}
    with warehouse.session() as session:
        session.replace_tables(RAW_SCHEMA, tables)
        for name, schema in RAW_TABLES.items():
            if name not in tables and not session.table_exists(RAW_SCHEMA, name):
                session.create_table(RAW_SCHEMA, name, schema)
        for name in RAW_TABLES:
            counts[name] = session.fetchone(f"select count(*) from {RAW_SCHEMA}.{name}")[0]
    return counts
