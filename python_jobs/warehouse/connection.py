"""The one way Python reaches the warehouse.

Reads the same `profiles/profiles.yml` as dbt, so a job and the models it feeds always talk to the same database.
Writes are bulk (Arrow on DuckDB, COPY on PostgreSQL) and happen inside one transaction: a job that fails leaves
the warehouse as it was. Spark (python_jobs/warehouse/spark.py) has no transactions: there a run's own protocol
(rows under its run id, its run row flipped to `succeeded` last) is what keeps readers from half a run.

SQL passed to `execute`/`fetch_*` uses `?` placeholders on both backends; values are always bound, never pasted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pyarrow as pa
import yaml

from python_jobs import PROJECT_ROOT

PROFILE_NAME = "segment_warehouse"
PROFILES_DIR = PROJECT_ROOT / "profiles"
TARGETS = ("local", "postgres", "spark")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
# Folders the profile names by a variable; a relative one is relative to the project, wherever the process runs.
_PROJECT_RELATIVE_VARIABLES = {"SEGMENTS_SPARK_WAREHOUSE"}


class WarehouseError(RuntimeError):
    """A warehouse problem worth showing to a person as it is (bad target, unreachable server...)."""


def quote_identifier(name: str) -> str:
    """Identifiers come from our own definitions; refuse anything that is not a plain lower-case name."""
    if not _IDENTIFIER.match(name):
        raise WarehouseError(f"refusing unsafe SQL identifier {name!r}")
    return f'"{name}"'


def _render_profile(target: str, profiles_dir: Path) -> dict[str, Any]:
    path = profiles_dir / "profiles.yml"
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)

    def env_var(name: str, default: str | None = None) -> str | None:
        value = os.environ.get(name, default)
        if name in _PROJECT_RELATIVE_VARIABLES and value:
            return str(PROJECT_ROOT / value)
        return value

    env.globals["env_var"] = env_var
    env.filters["as_number"] = lambda value: int(value) if str(value).isdigit() else float(value)
    profile = yaml.safe_load(path.read_text())[PROFILE_NAME]
    outputs = profile["outputs"]
    if target not in outputs:
        raise WarehouseError(f"unknown target {target!r} in {path}; choose one of {', '.join(outputs)}")

    def render(value: Any) -> Any:
        if isinstance(value, str):
            return env.from_string(value).render()
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        return value

    return {key: render(value) for key, value in outputs[target].items()}


def postgres_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    if pa.types.is_int64(arrow_type):
        return "bigint"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision}, {arrow_type.scale})"
    raise WarehouseError(f"no PostgreSQL type for Arrow type {arrow_type}")


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """The session's transaction for the block: committed at its end, rolled back on any error (the session stays
    open: its owner closes it)."""
    try:
        session.begin()
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@dataclass
class Warehouse:
    """A warehouse target from the dbt profile."""

    target: str
    settings: dict[str, Any] = field(repr=False)

    @classmethod
    def from_profile(cls, target: str = "local", profiles_dir: Path = PROFILES_DIR) -> Warehouse:
        return cls(target=target, settings=_render_profile(target, profiles_dir))

    @property
    def kind(self) -> str:
        return self.settings["type"]

    @property
    def duckdb_path(self) -> Path:
        path = Path(self.settings["path"])
        return path if path.is_absolute() else PROJECT_ROOT / path

    def postgres_connection(self, *, autocommit: bool = False, connect_timeout: int = 5) -> Any:
        """A psycopg2 connection to the `postgres` target, its session in UTC. For callers that manage
        databases (tests, benchmarks) and need autocommit; jobs use `session()`."""
        import psycopg2

        s = self.settings
        connection = psycopg2.connect(
            host=s["host"],
            port=s["port"],
            user=s["user"],
            password=s.get("password") or None,
            dbname=s["dbname"],
            connect_timeout=connect_timeout,
            options="-c TimeZone=UTC",
        )
        connection.autocommit = autocommit
        return connection

    def describe(self) -> str:
        if self.kind == "duckdb":
            return f"DuckDB file {self.duckdb_path}"
        s = self.settings
        if self.kind == "spark":
            parameters = s.get("server_side_parameters", {})
            return f"Spark (method {s['method']}), tables in {parameters.get('spark.sql.warehouse.dir')}"
        return f"PostgreSQL {s['user']}@{s['host']}:{s['port']}/{s['dbname']}"

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        """A connection whose work is committed at the end of the block, or rolled back on an error.

        `read_only=True` opens DuckDB read-only (any number of readers at once, never while a writer has the
        file: a reader waits briefly, then says who is writing) and runs a read-only transaction on PostgreSQL.
        A writing session on DuckDB waits for readers' short holds (see `python_jobs.warehouse.locks`).
        """
        with ExitStack() as stack:
            if self.kind == "duckdb":
                from python_jobs.warehouse.locks import duckdb_access

                if read_only and not self.duckdb_path.exists():
                    raise WarehouseError(
                        f"there is no warehouse at {self.duckdb_path} yet: run `segments generate` or "
                        "`segments demo` first"
                    )
                self.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
                stack.enter_context(duckdb_access(self.duckdb_path, read_only=read_only))
                session: Session = _DuckDBSession(self._duckdb_connect(read_only))
            elif self.kind == "postgres":
                import psycopg2

                try:
                    connection = self.postgres_connection()
                except psycopg2.OperationalError as error:
                    raise WarehouseError(f"cannot connect to {self.describe()}: {error}") from error
                connection.set_session(readonly=read_only)
                from python_jobs.warehouse.postgres import PostgresSession

                session = PostgresSession(connection)
            elif self.kind == "spark":
                # Spark writes as it goes and rolls nothing back: see python_jobs/warehouse/spark.py.
                from python_jobs.warehouse.spark import SparkWarehouseSession, spark_session

                session = SparkWarehouseSession(spark_session(self.settings))
            else:
                raise WarehouseError(f"unsupported warehouse type {self.kind!r}")
            try:
                with transaction(session):
                    yield session
            finally:
                session.close()

    def _duckdb_connect(self, read_only: bool) -> Any:
        import duckdb

        # The profile's DuckDB settings (the memory limit) hold for the jobs as for dbt.
        config = self.settings.get("settings", {})
        try:
            return duckdb.connect(str(self.duckdb_path), read_only=read_only, config=config)
        except duckdb.IOException as error:
            raise WarehouseError(f"cannot open {self.describe()}: {error}") from error


class Session:
    """The operations the jobs need, the same on every backend."""

    kind: str
    # Whether a block's writes commit together (DuckDB, PostgreSQL); Spark applies each write as it is made.
    transactional = True

    def begin(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        raise NotImplementedError

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        raise NotImplementedError

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        raise NotImplementedError

    def fetch_dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """A few rows as dicts of column name to value, typed as `fetch_arrow(...).to_pylist()` gives them; made
        for the point reads of a request, where fetch_arrow's set-up costs more than the rows."""
        return self.fetch_arrow(sql, params).to_pylist()

    def insert_arrow(self, schema: str, table: str, data: pa.Table) -> None:
        raise NotImplementedError

    def fetchone(self, sql: str, params: Sequence[Any] | None = None) -> tuple | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def table_exists(self, schema: str, table: str) -> bool:
        row = self.fetchone(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        )
        return bool(row and row[0])

    def ensure_schema(self, schema: str) -> None:
        self.execute(f"create schema if not exists {quote_identifier(schema)}")

    def create_table(self, schema: str, table: str, columns: pa.Schema) -> None:
        raise NotImplementedError

    def replace_table(self, schema: str, table: str, data: pa.Table) -> None:
        """Replace a table's rows (and its columns, if they changed) with `data`, in this transaction."""
        self.ensure_schema(schema)
        qualified = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        if self.table_exists(schema, table) and self.column_names(schema, table) == data.schema.names:
            self.execute(f"delete from {qualified}")
        else:
            self.drop_table(schema, table)
            self.create_table(schema, table, data.schema)
        self.insert_arrow(schema, table, data)

    def append_table(self, schema: str, table: str, data: pa.Table) -> None:
        """Add `data`'s rows to a table, creating it (and its schema) on first use, in this transaction."""
        self.ensure_schema(schema)
        if not self.table_exists(schema, table):
            self.create_table(schema, table, data.schema)
        self.insert_arrow(schema, table, data)

    def replace_tables(self, schema: str, tables: Mapping[str, pa.Table]) -> None:
        for name, data in tables.items():
            self.replace_table(schema, name, data)

    def drop_table(self, schema: str, table: str) -> None:
        self.execute(f"drop table if exists {quote_identifier(schema)}.{quote_identifier(table)}")

    def column_type(self, arrow_type: pa.DataType) -> str:
        """The SQL type of a column holding `arrow_type` (DuckDB takes PostgreSQL's words)."""
        return postgres_type(arrow_type)

    def epoch_seconds(self, expression: str) -> str:
        """SQL for the seconds since 1970 of a timestamp expression."""
        return f"extract(epoch from {expression})"

    def update_rows(
        self, schema: str, table: str, values: Mapping[str, Any], where: Mapping[str, Any]
    ) -> None:
        """Set `values` on the rows whose columns equal `where`'s values."""
        assignments = ", ".join(f"{quote_identifier(column)} = ?" for column in values)
        conditions = " and ".join(f"{quote_identifier(column)} = ?" for column in where)
        self.execute(
            f"update {quote_identifier(schema)}.{quote_identifier(table)} set {assignments} where {conditions}",
            [*values.values(), *where.values()],
        )

    def delete_runs(self, schema: str, table: str, run_ids: Sequence[str]) -> None:
        """Remove the rows of these runs (column `run_id`)."""
        if run_ids:
            self.delete_rows(schema, table, f"run_id in ({', '.join('?' for _ in run_ids)})", list(run_ids))

    def delete_rows(self, schema: str, table: str, condition: str, params: Sequence[Any] = ()) -> None:
        """Remove the rows for which `condition` (SQL with `?` markers bound to `params`) is true."""
        self.execute(
            f"delete from {quote_identifier(schema)}.{quote_identifier(table)} where {condition}",
            list(params),
        )

    def ensure_unique_index(self, schema: str, table: str, name: str, columns: Sequence[str]) -> None:
        """A unique index on `columns`, where the warehouse has indexes."""
        self.execute(
            f"create unique index if not exists {quote_identifier(name)} "
            f"on {quote_identifier(schema)}.{quote_identifier(table)} "
            f"({', '.join(quote_identifier(column) for column in columns)})"
        )

    def column_names(self, schema: str, table: str) -> list[str]:
        """The table's columns in order (none when it does not exist)."""
        rows = self.fetchall(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        )
        return [row[0] for row in rows]


class _DuckDBSession(Session):
    kind = "duckdb"

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def begin(self) -> None:
        self._connection.execute("begin transaction")

    def commit(self) -> None:
        self._connection.execute("commit")

    def rollback(self) -> None:
        with suppress(Exception):
            self._connection.execute("rollback")

    def close(self) -> None:
        self._connection.close()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self._connection.execute(sql, params or [])

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return self._connection.execute(sql, params or []).fetchall()

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        return self._connection.sql(sql, params=params or None).to_arrow_table()

    def create_table(self, schema: str, table: str, columns: pa.Schema) -> None:
        self._connection.register("_segments_arrow_shape", columns.empty_table())
        try:
            self._connection.execute(
                f"create table {quote_identifier(schema)}.{quote_identifier(table)} as "
                "select * from _segments_arrow_shape"
            )
        finally:
            self._connection.unregister("_segments_arrow_shape")

    def insert_arrow(self, schema: str, table: str, data: pa.Table) -> None:
        self._connection.register("_segments_arrow_input", data)
        try:
            columns = ", ".join(quote_identifier(name) for name in data.schema.names)
            self._connection.execute(
                f"insert into {quote_identifier(schema)}.{quote_identifier(table)} ({columns}) "
                f"select {columns} from _segments_arrow_input"
            )
        finally:
            self._connection.unregister("_segments_arrow_input")


def postgres_reachable(timeout_seconds: int = 3) -> tuple[bool, str]:
    """Whether the `postgres` target answers, and why not when it does not."""
    try:
        warehouse = Warehouse.from_profile("postgres")
        warehouse.postgres_connection(connect_timeout=timeout_seconds).close()
        return True, warehouse.describe()
    except Exception as error:
        return False, str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
