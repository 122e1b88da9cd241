"""Every read and write of the four `ml.product_segment_*` tables (and the `raw.products` read), in one place.

Functions take a `Session`, so the caller decides what goes in one transaction; none of them commits. Tables are
created from `PRODUCT_SEGMENTATION_TABLES` on first use, with a unique index on the interactions' `file_path`, so
the promise that an archived file is indexed once is kept by the database, not only by the job.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import pyarrow as pa

from python_jobs.product_segmentation.product_ids import id_order
from python_jobs.warehouse.connection import Session, Warehouse, WarehouseError, quote_identifier
from python_jobs.warehouse.ml_tables import ML_SCHEMA, PRODUCT_SEGMENTATION_TABLES, add_missing_columns
from python_jobs.warehouse.raw_tables import RAW_SCHEMA

RUNS = "product_segment_runs"
TAXONOMIES = "product_segment_taxonomies"
ASSIGNMENTS = "product_segment_assignments"
INTERACTIONS = "product_segment_llm_interactions"
# The stage of the taxonomy entries products end in.
FINAL_STAGE = "final"

# Ids per `in (...)` list: keeps statements a reasonable size on both databases.
_IDS_PER_QUERY = 1_000
_RUN_COLUMNS = frozenset(PRODUCT_SEGMENTATION_TABLES[RUNS].names)
_JSON_RUN_COLUMNS = ("llm_config", "processing_params", "result_summary")


@contextmanager
def short_session(warehouse: Warehouse, lock_wait_seconds: float) -> Iterator[Session]:
    """`warehouse.session()`, waiting (up to `lock_wait_seconds`) while another process holds the DuckDB file.

    A running job opens the file only for a few milliseconds at a time, and so does a reader following it; each
    side waits for the other's moment to pass instead of failing. PostgreSQL has no such lock: errors there
    are raised at once.
    """
    deadline = time.monotonic() + lock_wait_seconds
    pause = 0.02
    with ExitStack() as stack:
        while True:
            try:
                session = stack.enter_context(warehouse.session())
                break
            except WarehouseError:
                if warehouse.kind != "duckdb" or time.monotonic() > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.5)
        yield session


def qualified(table: str) -> str:
    return f"{quote_identifier(ML_SCHEMA)}.{quote_identifier(table)}"


def ensure_tables(session: Session) -> None:
    """Create whichever of the four tables is missing (empty, in the agreed schema), add the columns an older
    table lacks, turn an older table's integer product ids into text, and the unique index."""
    session.ensure_schema(ML_SCHEMA)
    for name, schema in PRODUCT_SEGMENTATION_TABLES.items():
        if not session.table_exists(ML_SCHEMA, name):
            session.create_table(ML_SCHEMA, name, schema)
        else:
            add_missing_columns(session, name, schema)
    _product_ids_as_text(session)
    session.ensure_unique_index(
        ML_SCHEMA, INTERACTIONS, "product_segment_llm_interactions_file_path", ["file_path"]
    )


def _product_ids_as_text(session: Session) -> None:
    """Tables written when product ids were `bigint` get a text column holding the same digits, so their runs
    stay readable and resumable beside runs over text ids."""
    if session.kind == "spark":
        # The Spark target came after the switch to text ids: it has no older tables.
        return
    row = session.fetchone(
        "select data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? and column_name = 'product_id'",
        [ML_SCHEMA, ASSIGNMENTS],
    )
    if row is not None and str(row[0]).lower() in ("bigint", "integer", "int8", "int4"):
        session.execute(
            f"alter table {qualified(ASSIGNMENTS)} alter column product_id type text "
            "using cast(product_id as text)"
        )


def tables_exist(session: Session) -> bool:
    return all(session.table_exists(ML_SCHEMA, name) for name in PRODUCT_SEGMENTATION_TABLES)


def _arrow(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=PRODUCT_SEGMENTATION_TABLES[table])


def _append(session: Session, table: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.append_table(ML_SCHEMA, table, _arrow(table, rows))


# ------------------------------------------------------------------------------------------------------ products


def _product_id(session: Session) -> str:
    """The id as staging reads it (`clean_id`): text, trimmed, null when blank; the cast also reads a raw table
    written when ids were `bigint`."""
    return f"nullif(trim(cast(product_id as {session.column_type(pa.string())})), '')"


def load_products(session: Session, product_ids: Sequence[str] | None, category: str) -> list[dict[str, Any]]:
    """The products to segment, by id (any category) or, without ids, every product of `category` (matched
    trimmed and case-insensitively, as raw data is loose); one row per id, in `id_order`."""
    product_id = _product_id(session)
    columns = f"{product_id} as product_id, title, category, brand, price, description"
    source = f"{quote_identifier(RAW_SCHEMA)}.{quote_identifier('products')}"
    if not session.table_exists(RAW_SCHEMA, "products"):
        return []
    if product_ids is None:
        rows = session.fetch_arrow(
            f"select {columns} from {source} where {product_id} is not null "
            "and lower(trim(category)) = lower(trim(?))",
            [category],
        ).to_pylist()
    else:
        rows = []
        unique_ids = sorted(set(product_ids))
        for start in range(0, len(unique_ids), _IDS_PER_QUERY):
            chunk = unique_ids[start : start + _IDS_PER_QUERY]
            placeholders = ", ".join("?" for _ in chunk)
            rows += session.fetch_arrow(
                f"select {columns} from {source} where {product_id} in ({placeholders})", chunk
            ).to_pylist()
    by_id: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["product_id"], r["title"] or "")):
        by_id.setdefault(row["product_id"], row)
    return [by_id[product_id] for product_id in sorted(by_id, key=id_order)]


# ----------------------------------------------------------------------------------------------------------- runs


def insert_run(session: Session, row: dict[str, Any]) -> None:
    _append(session, RUNS, [_with_json_columns(row)])


def update_run(session: Session, run_id: str, **columns: Any) -> None:
    """Set some columns of a run's row; dict values of the JSON columns are serialised here."""
    unknown = set(columns) - _RUN_COLUMNS
    if unknown:
        raise ValueError(f"not columns of {RUNS}: {sorted(unknown)}")
    values = _with_json_columns(columns)
    session.update_rows(ML_SCHEMA, RUNS, values, {"id": run_id})


def fetch_run(session: Session, run_id: str) -> dict[str, Any] | None:
    """A run's row with the JSON columns parsed, or None."""
    if not session.table_exists(ML_SCHEMA, RUNS):
        return None
    rows = session.fetch_arrow(f"select * from {qualified(RUNS)} where id = ?", [run_id]).to_pylist()
    if not rows:
        return None
    row = rows[0]
    for name in _JSON_RUN_COLUMNS:
        row[name] = json.loads(row[name]) if row[name] else None
    return row


def fetch_unfinished_runs(session: Session, finished_stages: Sequence[str]) -> list[dict[str, Any]]:
    """Id, stage, owner and heartbeat of every run not at one of `finished_stages`."""
    placeholders = ", ".join("?" for _ in finished_stages)
    return session.fetch_arrow(
        f"select id, stage, owner_host, owner_pid, owner_started_at, heartbeat_at from {qualified(RUNS)} "
        f"where stage not in ({placeholders}) order by id",
        list(finished_stages),
    ).to_pylist()


def _with_json_columns(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: json.dumps(value, sort_keys=True) if name in _JSON_RUN_COLUMNS and value is not None else value
        for name, value in values.items()
    }


# ----------------------------------------------------------------------------------------------------- taxonomies


def insert_taxonomies(session: Session, rows: list[dict[str, Any]]) -> None:
    _append(session, TAXONOMIES, rows)


def replace_taxonomies(
    session: Session,
    run_id: str,
    stages: Iterable[str],
    rows: list[dict[str, Any]],
    *,
    stage_prefix: str = "",
) -> None:
    """Put `rows` in place of the run's entries of these stages (or of any stage starting with `stage_prefix`).

    Replacing rather than appending makes a phase's write idempotent: a resumed run rewrites its phases with
    the same ids instead of doubling them.
    """
    stage_list = list(stages)
    conditions, params = [], [run_id]
    if stage_list:
        conditions.append(f"stage in ({', '.join('?' for _ in stage_list)})")
        params += stage_list
    if stage_prefix:
        conditions.append("stage like ?")
        params.append(f"{stage_prefix}%")
    if conditions:
        session.delete_rows(ML_SCHEMA, TAXONOMIES, f"run_id = ? and ({' or '.join(conditions)})", params)
    _append(session, TAXONOMIES, rows)


def fetch_taxonomies(session: Session, run_id: str) -> list[dict[str, Any]]:
    return session.fetch_arrow(
        f"select id, run_id, segment_name, definition, stage, created_at from {qualified(TAXONOMIES)} "
        "where run_id = ? order by id",
        [run_id],
    ).to_pylist()


# ---------------------------------------------------------------------------------------------------- assignments


def replace_assignments(session: Session, run_id: str, rows: list[dict[str, Any]]) -> None:
    """All of a run's assignment rows at once: one delete and one bulk insert instead of a row-by-row update."""
    session.delete_runs(ML_SCHEMA, ASSIGNMENTS, [run_id])
    _append(session, ASSIGNMENTS, rows)


def fetch_assignments(session: Session, run_id: str) -> list[dict[str, Any]]:
    """A run's rows in `id_order`, product ids as text (whatever type an older table stores them in)."""
    rows = session.fetch_arrow(
        f"select run_id, cast(product_id as {session.column_type(pa.string())}) as product_id, "
        "taxonomy_id_initial, taxonomy_id_refined "
        f"from {qualified(ASSIGNMENTS)} where run_id = ?",
        [run_id],
    ).to_pylist()
    return sorted(rows, key=lambda row: id_order(row["product_id"]))


# --------------------------------------------------------------------------------------------------- interactions


def insert_new_interactions(session: Session, rows: list[dict[str, Any]]) -> None:
    """Index archived files not indexed yet (file_path is unique across runs).

    A statement per row rather than a bulk append: these are written a few at a time after every LLM response,
    and a bulk append's catalogue checks cost more than the insert itself on DuckDB.
    """
    columns = PRODUCT_SEGMENTATION_TABLES[INTERACTIONS].names
    names = ", ".join(quote_identifier(name) for name in columns)
    values = ", ".join("?" for _ in columns)
    seen: set[str] = set()
    for row in rows:
        if row["file_path"] in seen:
            continue
        seen.add(row["file_path"])
        session.execute(
            f"insert into {qualified(INTERACTIONS)} ({names}) select {values} "
            f"where not exists (select 1 from {qualified(INTERACTIONS)} where file_path = ?)",
            [*(row[name] for name in columns), row["file_path"]],
        )


def fetch_interactions(session: Session, run_id: str) -> list[dict[str, Any]]:
    return session.fetch_arrow(
        f"select id, run_id, file_path, cache_key, created_at, input_tokens, output_tokens, tokens_estimated "
        f"from {qualified(INTERACTIONS)} where run_id = ? order by file_path",
        [run_id],
    ).to_pylist()


def indexed_paths(session: Session, paths: Sequence[str]) -> set[str]:
    """Which of `paths` are already indexed, by any run."""
    found: set[str] = set()
    for start in range(0, len(paths), _IDS_PER_QUERY):
        chunk = list(paths[start : start + _IDS_PER_QUERY])
        placeholders = ", ".join("?" for _ in chunk)
        found |= {
            row[0]
            for row in session.fetchall(
                f"select file_path from {qualified(INTERACTIONS)} where file_path in ({placeholders})", chunk
            )
        }
    return found


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
