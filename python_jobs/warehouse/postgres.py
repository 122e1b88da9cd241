"""The PostgreSQL side of the warehouse interface: bulk reads and writes through COPY, typed from the result's
own column descriptions."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv

from python_jobs.warehouse.connection import Session, postgres_type, quote_identifier, transaction

_COPY_BATCH_ROWS = 250_000

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


@contextmanager
def postgres_session_on(
    connection: Any, known_tables: set[tuple[str, str]] | None = None
) -> Iterator[Session]:
    """A session on a PostgreSQL connection the caller owns (a pool's): committed at the end of the block or
    rolled back on an error, like `Warehouse.session`, and the connection left open. `known_tables`, shared
    between the sessions of a long-lived process, remembers the tables found to exist, so each is looked up
    once (see `PostgresSession.table_exists`)."""
    with transaction(PostgresSession(connection, known_tables)) as session:
        yield session


class PostgresSession(Session):
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
            f"{quote_identifier(column.name)} {postgres_type(column.type)}" for column in columns
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
