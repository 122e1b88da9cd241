"""The `spark` target: the warehouse interface on an in-process Spark session (dbt-spark's `method: session`).

One Spark driver per process, shared by the Python jobs and dbt. A local session keeps its table catalog in an
embedded Derby database that only one process can open, so dbt cannot run in a process of its own beside the
jobs: it runs in this process (`run_dbt_in_process`), and dbt-spark's `SparkSession.builder.getOrCreate()`
returns the session `spark_session()` made, with the profile's settings.

Spark has no transaction across tables, nor one across statements. A `Warehouse.session()` block on Spark
applies each write when it is made and cannot roll anything back: a job that fails half-way leaves what it wrote.
What keeps readers safe is the project's run protocol, which holds on every target: a job writes its rows under
its run id and flips its run row to `succeeded` last, and dbt reads only the latest succeeded run.

pyspark is imported only here, and only when a Spark target is used: it takes seconds to import and the JVM it
starts takes tens of seconds, which no other target should pay.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from python_jobs import PROJECT_ROOT
from python_jobs.warehouse.connection import Session, WarehouseError, quote_identifier

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# The variable naming the folder of the Spark tables, their metastore and Derby's log.
WAREHOUSE_VARIABLE = "SEGMENTS_SPARK_WAREHOUSE"
DEFAULT_WAREHOUSE = Path("data") / "spark-warehouse"
LOG_CONFIG = PROJECT_ROOT / "profiles" / "spark-log4j2.properties"
# pyspark warns that it has not been checked with pandas 3 whenever it looks for pandas; the jobs hand it Arrow.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

_session: SparkSession | None = None
# The driver's default session, the one dbt-spark uses.
_default_session: SparkSession | None = None


def warehouse_folder() -> Path:
    """Where the local session keeps its files; a relative setting is relative to the project."""
    path = Path(os.environ.get(WAREHOUSE_VARIABLE) or DEFAULT_WAREHOUSE)
    return path if path.is_absolute() else PROJECT_ROOT / path


def spark_missing() -> str | None:
    """What the spark target lacks on this machine (pyspark, a Java runtime), said with what to install."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("dbt.adapters.spark") is None:
        return 'the spark target needs pyspark and dbt-spark: pip install -e ".[spark]"'
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return (
            "the spark target needs a Java runtime for pyspark: on Debian, "
            "`sudo apt-get install openjdk-17-jre-headless` (or set JAVA_HOME)"
        )
    return None


def spark_session(settings: dict[str, Any]) -> SparkSession:
    """The jobs' Spark session, on this process's Spark driver (started on first use with the profile's
    `server_side_parameters`).

    dbt-spark uses the driver's default session and turns ANSI mode off in it on every statement. The jobs get a
    session of their own on the same driver and catalog, in ANSI mode with double-quoted identifiers, so the SQL
    they share with the other targets (`"schema"."table"`, errors on bad casts) reads the same here.
    """
    global _session, _default_session
    if settings.get("method") != "session":
        raise WarehouseError(
            f"the Python jobs reach Spark only through `method: session`, not {settings.get('method')!r}"
        )
    if _session is not None:
        return _session
    missing = spark_missing()
    if missing:
        raise WarehouseError(missing)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("segments")
    parameters = dict(settings.get("server_side_parameters", {}))
    # Spark's start-up lines (log4j's default profile, the loopback address, native Hadoop) go: errors only, and
    # a local session needs no address but the loopback.
    java_options = parameters.get("spark.driver.extraJavaOptions", "")
    parameters["spark.driver.extraJavaOptions"] = (
        f"{java_options} -Dlog4j2.configurationFile={LOG_CONFIG}".strip()
    )
    if str(parameters.get("spark.master", "local")).startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    for name, value in parameters.items():
        builder = builder.config(name, str(value))
    # The catalog is Hive's (kept in the warehouse folder, read by the next process) unless the profile asks for
    # the in-memory one, which lives and dies with this process and costs less per statement.
    if str(parameters.get("spark.sql.catalogImplementation", "hive")) == "hive":
        builder = builder.enableHiveSupport()
    warehouse_folder().mkdir(parents=True, exist_ok=True)
    default = builder.getOrCreate()
    default.sparkContext.setLogLevel("ERROR")
    _default_session = default
    _session = default.newSession()
    _session.conf.set("spark.sql.ansi.enabled", "true")
    _session.conf.set("spark.sql.ansi.doubleQuotedIdentifiers", "true")
    return _session


def _spark_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_int64(arrow_type):
        return "bigint"
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type):
        return "double"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_timestamp(arrow_type):
        # Spark's `timestamp` is an instant (shown in the session's time zone, UTC); `timestamp_ntz` is a wall time.
        return "timestamp" if arrow_type.tz else "timestamp_ntz"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision}, {arrow_type.scale})"
    raise WarehouseError(f"no Spark type for Arrow type {arrow_type}")


class SparkWarehouseSession(Session):
    """The jobs' operations on a Spark session. `begin`, `commit` and `rollback` do nothing: see the module."""

    kind = "spark"
    transactional = False

    def __init__(self, spark: SparkSession) -> None:
        self._spark = spark

    def begin(self) -> None:
        # dbt (the driver's default session) may have rebuilt a table since this session last read it: forget
        # the files this session knew, or it reads ones dbt's overwrite deleted.
        self._spark._jsparkSession.sessionState().catalog().invalidateAllCachedTables()

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        # The session outlives the block: starting Spark again would cost tens of seconds.
        pass

    def _sql(self, sql: str, params: Sequence[Any] | None) -> DataFrame:
        from pyspark.errors import PySparkException

        try:
            # Spark binds `?` markers positionally, as the other targets do.
            return self._spark.sql(sql, args=list(params)) if params else self._spark.sql(sql)
        except PySparkException as error:
            first_line = next((line for line in str(error).splitlines() if line.strip()), repr(error))
            raise WarehouseError(f"Spark refused the statement: {first_line}") from error

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self._sql(sql, params).collect()

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return [tuple(row) for row in self._sql(sql, params).collect()]

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        return self._sql(sql, params).toArrow()

    def table_exists(self, schema: str, table: str) -> bool:
        return self._spark.catalog.tableExists(f"{_name(schema)}.{_name(table)}")

    def ensure_schema(self, schema: str) -> None:
        self.execute(f"create database if not exists {quote_identifier(schema)}")

    def column_names(self, schema: str, table: str) -> list[str]:
        if not self.table_exists(schema, table):
            return []
        return list(self._spark.table(f"{_name(schema)}.{_name(table)}").columns)

    def create_table(self, schema: str, table: str, columns: pa.Schema) -> None:
        definition = ", ".join(
            f"{quote_identifier(column.name)} {_spark_type(column.type)}" for column in columns
        )
        self.execute(
            f"create table {quote_identifier(schema)}.{quote_identifier(table)} ({definition}) using parquet"
        )

    def column_type(self, arrow_type: pa.DataType) -> str:
        return _spark_type(arrow_type)

    def epoch_seconds(self, expression: str) -> str:
        return f"unix_micros({expression}) / 1000000.0"

    def update_rows(
        self, schema: str, table: str, values: Mapping[str, Any], where: Mapping[str, Any]
    ) -> None:
        """Spark's file tables take no `update`: the table is read, changed and written back in one overwrite.
        Made for the runs tables (a row per run); Spark cannot overwrite a table from a query reading it, so the
        rows go through Arrow."""
        data = self.fetch_arrow(f"select * from {quote_identifier(schema)}.{quote_identifier(table)}")
        matches = pa.array([True] * data.num_rows, pa.bool_())
        for column, value in where.items():
            equal = pc.equal(data[column], pa.scalar(value, data.schema.field(column).type))
            matches = pc.and_(matches, pc.fill_null(equal, False))
        for column, value in values.items():
            index = data.schema.get_field_index(column)
            field = data.schema.field(index)
            data = data.set_column(
                index, field, pc.if_else(matches, pa.scalar(value, field.type), data[column])
            )
        self._insert(schema, table, data, overwrite=True)

    def delete_rows(self, schema: str, table: str, condition: str, params: Sequence[Any] = ()) -> None:
        """Spark's file tables take no `delete`: the other rows are written back in one overwrite (a condition
        that is null keeps its row, as `delete` would)."""
        kept = self.fetch_arrow(
            f"select * from {quote_identifier(schema)}.{quote_identifier(table)} "
            f"where not coalesce(({condition}), false)",
            list(params),
        )
        self._insert(schema, table, kept, overwrite=True)

    def ensure_unique_index(self, schema: str, table: str, name: str, columns: Sequence[str]) -> None:
        """Spark tables have no indexes: the writers keep the columns unique themselves."""

    def replace_table(self, schema: str, table: str, data: pa.Table) -> None:
        """Spark's file tables take no `delete`: the rows are overwritten in one statement instead."""
        self.ensure_schema(schema)
        if not (self.table_exists(schema, table) and self.column_names(schema, table) == data.schema.names):
            self.drop_table(schema, table)
            self.create_table(schema, table, data.schema)
        self._insert(schema, table, data, overwrite=True)

    def insert_arrow(self, schema: str, table: str, data: pa.Table) -> None:
        self._insert(schema, table, data, overwrite=False)

    def _insert(self, schema: str, table: str, data: pa.Table, *, overwrite: bool) -> None:
        view = "_segments_arrow_input"
        columns = ", ".join(quote_identifier(name) for name in data.schema.names)
        # An Arrow table with no rows still carries its columns, which is what the insert needs.
        self._spark.createDataFrame(data).createOrReplaceTempView(view)
        try:
            verb = "overwrite" if overwrite else "into"
            self.execute(
                f"insert {verb} {quote_identifier(schema)}.{quote_identifier(table)} ({columns}) "
                f"select {columns} from {view}"
            )
        finally:
            self._spark.catalog.dropTempView(view)
        # dbt's session on the same driver keeps its own cache of the table's files, stale after an overwrite.
        for session in (self._spark, _default_session):
            if session is not None:
                session.catalog.refreshTable(f"{_name(schema)}.{_name(table)}")


def _name(identifier: str) -> str:
    """A checked identifier as Spark's catalog API takes it (backticks, not SQL's double quotes)."""
    return f"`{quote_identifier(identifier)[1:-1]}`"
