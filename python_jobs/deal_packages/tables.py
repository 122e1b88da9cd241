"""Every read and write of the deal-package tables (and the `raw.deals` read), in one place. Functions take a
`Session`; the caller decides the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from python_jobs.deal_packages.text import DEAL_COLUMNS
from python_jobs.warehouse.connection import Session, quote_identifier
from python_jobs.warehouse.ml_tables import DEAL_PACKAGE_TABLES, ML_SCHEMA, add_missing_columns
from python_jobs.warehouse.raw_tables import RAW_SCHEMA

RUNS = "deal_package_runs"
CLUSTERS = "deal_package_clusters"
PACKAGES = "deal_packages"
MEMBERS = "deal_package_members"
_IDS_PER_QUERY = 1_000


def qualified(table: str) -> str:
    return f"{quote_identifier(ML_SCHEMA)}.{quote_identifier(table)}"


def ensure_tables(session: Session) -> None:
    session.ensure_schema(ML_SCHEMA)
    for name, schema in DEAL_PACKAGE_TABLES.items():
        if not session.table_exists(ML_SCHEMA, name):
            session.create_table(ML_SCHEMA, name, schema)
        else:
            add_missing_columns(session, name, schema)


def append(session: Session, table: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.append_table(ML_SCHEMA, table, pa.Table.from_pylist(rows, schema=DEAL_PACKAGE_TABLES[table]))


def update_run(session: Session, run_id: str, **columns: Any) -> None:
    unknown = set(columns) - set(DEAL_PACKAGE_TABLES[RUNS].names)
    if unknown:
        raise ValueError(f"not columns of {RUNS}: {sorted(unknown)}")
    session.update_rows(ML_SCHEMA, RUNS, columns, {"run_id": run_id})


def load_deals(session: Session, deal_ids: Sequence[str] | None) -> list[dict[str, Any]]:
    """The deals by id (every deal with None), one per id (trimmed), sorted by id."""
    source = f"{quote_identifier(RAW_SCHEMA)}.{quote_identifier('deals')}"
    if not session.table_exists(RAW_SCHEMA, "deals"):
        return []
    columns = ", ".join(quote_identifier(name) for name in DEAL_COLUMNS)
    if deal_ids is None:
        rows = session.fetch_arrow(f"select {columns} from {source}").to_pylist()
    else:
        rows = []
        wanted = sorted(set(deal_ids))
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            rows += session.fetch_arrow(
                f"select {columns} from {source} where trim(deal_id) in ({', '.join('?' for _ in chunk)})",
                chunk,
            ).to_pylist()
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["deal_id"] and row["deal_id"].strip():
            row["deal_id"] = row["deal_id"].strip()
            by_id.setdefault(row["deal_id"], row)
    return [by_id[deal_id] for deal_id in sorted(by_id)]
