"""The one way Python reaches the warehouse.

Reads the same `profiles/profiles.yml` as dbt, so a job and the models it feeds always talk to the same database.
Writes are bulk (Arrow on DuckDB, COPY on PostgreSQL) and happen inside one transaction: a job that fails leaves
the warehouse as it was. Spark (python_jobs/warehouse/spark.py) has no transactions: there a run's own protocol
(rows under its run id, its run row flipped to `succeeded` last) is what keeps readers from half a run.

SQL passed to `execute`/`fetch_*` uses `?` placeholders on both backends; values are always bound, never pasted.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pyarrow as pa
import pyarrow.csv as pa_csv
import yaml

from python_jobs import PROJECT_ROOT

PROFILE_NAME = "segment_warehouse"
PROFILES_DIR = PROJECT_ROOT / "profiles"
TARGETS = ("local", "postgres")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_COPY_BATCH_ROWS = 250_000
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


def _pg_type(arrow_type: pa.DataType) -> str:
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


# PostgreSQL type OIDs (pg_type) of the columns a query can return, as Arrow types.
_PG_ARROW_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    700: pa.float32(),
    701: pa.float64(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
}


def _arrow_type(column: Any) -> pa.DataType:
    """The Arrow type of a psycopg2 result column; text (and anything unlisted) stays a string."""
    if column.type_code == 1700:  # numeric: exact when it has a declared scale
        if column.precision is not None and column.scale is not None and column.precision <= 38:
            return pa.decimal128(column.precision, column.scale)
        return pa.float64()
    return _PG_ARROW_TYPES.get(column.type_code, pa.string())


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
                session = _PostgresSession(connection)
            elif self.kind == "spark":
                # Spark writes as it goes and rolls nothing back: see python_jobs/warehouse/spark.py.
                from python_jobs.warehouse.spark import SparkWarehouseSession, spark_session

                session = SparkWarehouseSession(spark_session(self.settings))
            else:
                raise WarehouseError(f"unsupported warehouse type {self.kind!r}")
            try:
                session.begin()
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
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


@contextmanager
def postgres_session_on(
    connection: Any, known_tables: set[tuple[str, str]] | None = None
) -> Iterator[Session]:
    """A session on a PostgreSQL connection the caller owns (a pool's): committed at the end of the block or
    rolled back on an error, like `Warehouse.session`, and the connection left open. `known_tables`, shared
    between the sessions of a long-lived process, remembers the tables found to exist, so each is looked up
    once (see `_PostgresSession.table_exists`)."""
    session = _PostgresSession(connection, known_tables)
    try:
        session.begin()
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


class _PostgresSession(Session):
    kind = "postgres"

    def __init__(self, connection: Any, known_tables: set[tuple[str, str]] | None = None) -> None:
        self._connection = connection
        self._known_tables = known_tables

    def begin(self) -> None:
        # psycopg2 opens a transaction implicitly on the first statement and keeps it until commit.
        self._connection.autocommit = False

    def commit(self) -> None:
        self._connection.commit()

    def rollback(self) -> None:
        if not self._connection.closed:
            self._connection.rollback()

    def close(self) -> None:
        self._connection.close()

    @staticmethod
    def _pg_sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self._connection.cursor() as cursor:
            cursor.execute(self._pg_sql(sql) if params else sql, params or None)

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        with self._connection.cursor() as cursor:
            cursor.execute(self._pg_sql(sql) if params else sql, params or None)
            return cursor.fetchall()

    def table_exists(self, schema: str, table: str) -> bool:
        # A table once found is taken to stay: dbt replaces a relation by renaming within a transaction, so it
        # never goes missing; a table dropped by hand makes the next query on it fail with a clear error.
        if self._known_tables is not None and (schema, table) in self._known_tables:
            return True
        # The catalogue directly: information_schema's views cost a millisecond a call, which a request pays.
        row = self.fetchone(
            "select to_regclass(?) is not null", [f"{quote_identifier(schema)}.{quote_identifier(table)}"]
        )
        exists = bool(row and row[0])
        if exists and self._known_tables is not None:
            self._known_tables.add((schema, table))
        return exists

    def fetch_dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        with self._connection.cursor() as cursor:
            cursor.execute(self._pg_sql(sql) if params else sql, params or None)
            columns = cursor.description
            rows = cursor.fetchall()
        # A numeric without a declared scale is a float in fetch_arrow (see _arrow_type): the same here.
        inexact = [
            index
            for index, column in enumerate(columns)
            if column.type_code == 1700 and pa.types.is_floating(_arrow_type(column))
        ]
        names = [column.name for column in columns]
        result = []
        for row in rows:
            values = list(row)
            for index in inexact:
                if values[index] is not None:
                    values[index] = float(values[index])
            result.append(dict(zip(names, values, strict=True)))
        return result

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        # COPY ... TO STDOUT streams the whole result as CSV, far faster than fetching Python tuples; the
        # column types come from the query's own description, so nothing is guessed from the text.
        with self._connection.cursor() as cursor:
            query = cursor.mogrify(self._pg_sql(sql), params).decode() if params else sql
            cursor.execute(f"select * from ({query}) as q limit 0")
            columns = [(column.name, _arrow_type(column)) for column in cursor.description]
            buffer = io.BytesIO()
            cursor.copy_expert(f"copy ({query}) to stdout with (format csv, header true)", buffer)
        schema = pa.schema(columns)
        if not buffer.getvalue():
            return schema.empty_table()
        buffer.seek(0)
        return pa_csv.read_csv(
            buffer,
            convert_options=pa_csv.ConvertOptions(
                column_types=schema,
                true_values=["t"],
                false_values=["f"],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )

    def create_table(self, schema: str, table: str, columns: pa.Schema) -> None:
        definition = ", ".join(
            f"{quote_identifier(column.name)} {_pg_type(column.type)}" for column in columns
        )
        self.execute(f"create table {quote_identifier(schema)}.{quote_identifier(table)} ({definition})")

    def drop_table(self, schema: str, table: str) -> None:
        # Staging views sit on the raw tables; they are rebuilt by the next dbt run.
        self.execute(f"drop table if exists {quote_identifier(schema)}.{quote_identifier(table)} cascade")

    def insert_arrow(self, schema: str, table: str, data: pa.Table) -> None:
        columns = ", ".join(quote_identifier(name) for name in data.schema.names)
        copy_sql = (
            f"copy {quote_identifier(schema)}.{quote_identifier(table)} ({columns}) "
            "from stdin with (format csv)"
        )
        options = pa_csv.WriteOptions(include_header=False)
        with self._connection.cursor() as cursor:
            for batch in data.to_batches(max_chunksize=_COPY_BATCH_ROWS):
                buffer = io.BytesIO()
                pa_csv.write_csv(pa.Table.from_batches([batch], schema=data.schema), buffer, options)
                buffer.seek(0)
                cursor.copy_expert(copy_sql, buffer)


def postgres_reachable(timeout_seconds: int = 3) -> tuple[bool, str]:
    """Whether the `postgres` target answers, and why not when it does not."""
    try:
        warehouse = Warehouse.from_profile("postgres")
        warehouse.postgres_connection(connect_timeout=timeout_seconds).close()
        return True, warehouse.describe()
    except Exception as error:
        return False, str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
