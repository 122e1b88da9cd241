"""The one way Python reaches the warehouse: the same behaviour on DuckDB and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

import duckdb
import psycopg2
import pyarrow as pa
import pytest

from python_jobs.warehouse.connection import Session, Warehouse, WarehouseError, quote_identifier

UTC = dt.UTC

MIXED = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "label": pa.array(["plain", "", None, 'a,b "quoted"\nnext line \\N ünï'], pa.string()),
        "at": pa.array(
            [
                dt.datetime(2024, 2, 29, 23, 30, tzinfo=UTC),
                None,
                dt.datetime(1999, 12, 31, 23, 59, 59, 123456, tzinfo=UTC),
                dt.datetime(2024, 7, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            ],
            pa.timestamp("us", tz="UTC"),
        ),
        "flag": pa.array([True, False, None, True], pa.bool_()),
        "amount": pa.array([0.1 + 0.2, None, -1.5e300, 1 / 3], pa.float64()),
    }
)


def select_all(warehouse: Warehouse, qualified: str, order_by: str = "id") -> list[tuple]:
    with warehouse.session() as session:
        return session.fetchall(f"select * from {qualified} order by {order_by}")


def run_in_session(warehouse: Warehouse, work: Callable[[Session], None]) -> None:
    with warehouse.session() as session:
        work(session)


def columns(warehouse: Warehouse, schema: str, table: str) -> list[str]:
    with warehouse.session() as session:
        return session.column_names(schema, table)


def test_replace_table_round_trip_preserves_values(warehouse):
    with warehouse.session() as session:
        session.replace_table("scratch", "mixed", MIXED)

    result = select_all(warehouse, "scratch.mixed")

    assert columns(warehouse, "scratch", "mixed") == ["id", "label", "at", "flag", "amount"]
    assert [row[0] for row in result] == [1, 2, 3, 4]
    # Empty strings stay empty strings; nulls stay null; odd characters survive the bulk path.
    assert [row[1] for row in result] == ["plain", "", None, 'a,b "quoted"\nnext line \\N ünï']
    # Timestamps are the same instants (the +02:00 one is 06:00 UTC); the database may show them in any zone.
    assert [row[2] for row in result] == [
        dt.datetime(2024, 2, 29, 23, 30, tzinfo=UTC),
        None,
        dt.datetime(1999, 12, 31, 23, 59, 59, 123456, tzinfo=UTC),
        dt.datetime(2024, 7, 1, 6, 0, tzinfo=UTC),
    ]
    assert all(row[2] is None or row[2].utcoffset() is not None for row in result)
    assert [row[3] for row in result] == [True, False, None, True]
    # Floats are exact, not rounded to a printed precision.
    assert [row[4] for row in result] == [0.30000000000000004, None, -1.5e300, 1 / 3]


def test_replace_table_twice_replaces_rows(warehouse):
    second = pa.table({"id": pa.array([7, 8], pa.int64()), "name": ["seven", "eight"]})
    with warehouse.session() as session:
        session.replace_table(
            "scratch", "t", pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": list("abc")})
        )
    with warehouse.session() as session:
        session.replace_table("scratch", "t", second)
        session.replace_table("scratch", "t", second)

    assert select_all(warehouse, "scratch.t") == [(7, "seven"), (8, "eight")]


def test_replace_table_with_other_columns_replaces_the_shape(warehouse):
    with warehouse.session() as session:
        session.replace_table("scratch", "t", pa.table({"id": pa.array([1], pa.int64()), "old": ["x"]}))

    with warehouse.session() as session:
        session.replace_table(
            "scratch",
            "t",
            pa.table({"id": pa.array([5, 6], pa.int64()), "new_text": ["p", "q"], "new_flag": [True, False]}),
        )

    assert columns(warehouse, "scratch", "t") == ["id", "new_text", "new_flag"]
    assert select_all(warehouse, "scratch.t") == [(5, "p", True), (6, "q", False)]


def test_replace_tables_replaces_each_table(warehouse):
    with warehouse.session() as session:
        session.replace_tables(
            "scratch",
            {
                "a": pa.table({"id": pa.array([1], pa.int64())}),
                "b": pa.table({"id": pa.array([2, 3], pa.int64())}),
            },
        )

    assert select_all(warehouse, "scratch.a") == [(1,)]
    assert select_all(warehouse, "scratch.b") == [(2,), (3,)]


def test_an_error_inside_a_session_rolls_everything_back(warehouse):
    original = pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["one", "two"]})
    with warehouse.session() as session:
        session.replace_table("scratch", "kept", original)

    def failing_job(session: Session) -> None:
        session.replace_table(
            "scratch", "kept", pa.table({"id": pa.array([9], pa.int64()), "name": ["nine"]})
        )
        session.replace_table("scratch", "kept", pa.table({"other": ["changed shape"]}))
        session.replace_table("scratch", "created_then_undone", original)
        session.execute("create schema if not exists undone_schema")
        raise RuntimeError("job failed")

    with pytest.raises(RuntimeError, match="job failed"):
        run_in_session(warehouse, failing_job)

    assert columns(warehouse, "scratch", "kept") == ["id", "name"]
    assert select_all(warehouse, "scratch.kept") == [(1, "one"), (2, "two")]
    with warehouse.session() as session:
        assert not session.table_exists("scratch", "created_then_undone")
        assert session.fetchone(
            "select count(*) from information_schema.schemata where schema_name = ?", ["undone_schema"]
        ) == (0,)


def test_a_failing_statement_rolls_the_session_back(warehouse):
    with warehouse.session() as session:
        session.replace_table("scratch", "kept", pa.table({"id": pa.array([1], pa.int64())}))

    def failing_job(session: Session) -> None:
        session.execute("delete from scratch.kept")
        session.execute("select * from scratch.no_such_table")

    with pytest.raises((duckdb.Error, psycopg2.Error)):
        run_in_session(warehouse, failing_job)

    assert select_all(warehouse, "scratch.kept") == [(1,)]


def test_fetch_arrow_binds_question_mark_parameters(warehouse):
    with warehouse.session() as session:
        session.replace_table("scratch", "mixed", MIXED)

    with warehouse.session() as session:
        result = session.fetch_arrow(
            "select id, label as text_value, amount from scratch.mixed where id >= ? and label = ? order by id",
            [2, "plain'); drop table scratch.mixed; --"],
        )
        assert result.column_names == ["id", "text_value", "amount"]
        assert result.num_rows == 0
        result = session.fetch_arrow(
            "select id, label as text_value, amount * 2 as doubled from scratch.mixed "
            "where id <= ? and label like ? order by id",
            [3, "pl%"],
        )
        # The injection attempt above was a value, not SQL.
        assert session.table_exists("scratch", "mixed")

    assert result.column_names == ["id", "text_value", "doubled"]
    assert result.to_pylist() == [{"id": 1, "text_value": "plain", "doubled": pytest.approx(0.6)}]


def test_fetch_arrow_keeps_nulls_apart_from_empty_strings(warehouse):
    with warehouse.session() as session:
        session.replace_table("scratch", "mixed", MIXED)

    with warehouse.session() as session:
        result = session.fetch_arrow("select id, label from scratch.mixed where id > ? order by id", [1])

    assert result.to_pylist() == [
        {"id": 2, "label": ""},
        {"id": 3, "label": None},
        {"id": 4, "label": 'a,b "quoted"\nnext line \\N ünï'},
    ]


def test_fetch_arrow_keeps_column_types(warehouse):
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "code": pa.array(["00123", "042"], pa.string()),
            "flag": pa.array([True, False], pa.bool_()),
        }
    )
    with warehouse.session() as session:
        session.replace_table("scratch", "typed", table)

    with warehouse.session() as session:
        result = session.fetch_arrow("select code, flag from scratch.typed where id >= ? order by id", [1])

    assert result.to_pylist() == [{"code": "00123", "flag": True}, {"code": "042", "flag": False}]
    assert pa.types.is_string(result.schema.field("code").type)
    assert pa.types.is_boolean(result.schema.field("flag").type)


def test_fetch_arrow_of_no_rows_keeps_the_column_names(warehouse):
    with warehouse.session() as session:
        session.replace_table("scratch", "mixed", MIXED)

    with warehouse.session() as session:
        result = session.fetch_arrow("select id, flag from scratch.mixed where id > ?", [100])

    assert result.num_rows == 0
    assert result.column_names == ["id", "flag"]


@pytest.mark.parametrize(
    "name", ["a;drop", 'A"b', "Customers", "", "1st", "a b", "a-b", "raw.orders", 'x"; drop table y; --']
)
def test_quote_identifier_refuses_unsafe_names(name):
    with pytest.raises(WarehouseError, match="unsafe SQL identifier"):
        quote_identifier(name)


@pytest.mark.parametrize("name", ["orders", "order_items", "_private", "t2"])
def test_quote_identifier_quotes_plain_names(name):
    assert quote_identifier(name) == f'"{name}"'


def test_replace_table_refuses_an_unsafe_table_name(duckdb_warehouse):
    with pytest.raises(WarehouseError, match="unsafe"), duckdb_warehouse.session() as session:
        session.replace_table("scratch", "t; drop schema main", pa.table({"id": [1]}))


def test_unknown_target_is_named():
    with pytest.raises(WarehouseError) as caught:
        Warehouse.from_profile("nope")

    message = str(caught.value)
    assert "'nope'" in message
    assert "local" in message
    assert "postgres" in message


def test_describe_names_the_database(warehouse):
    description = warehouse.describe()

    if warehouse.kind == "duckdb":
        assert os.environ["SEGMENTS_DUCKDB_PATH"] in description
        assert description.startswith("DuckDB")
    else:
        assert description.startswith("PostgreSQL")
        assert description.endswith(f"/{os.environ['PGDATABASE']}")


def test_relative_duckdb_path_is_under_the_project(monkeypatch):
    from python_jobs import PROJECT_ROOT

    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", "somewhere/w.duckdb")

    warehouse = Warehouse.from_profile("local")

    assert warehouse.duckdb_path == PROJECT_ROOT / "somewhere" / "w.duckdb"


def test_fetch_dicts_gives_what_fetch_arrow_gives(warehouse):
    with warehouse.session() as session:
        session.replace_table("scratch", "mixed", MIXED)
        session.execute(
            "create table scratch.numbers as select cast(12.5 as numeric(18, 2)) as money, "
            "cast(1.25 as numeric) as unscaled, cast('2024-03-01' as date) as day"
        )

    with warehouse.session() as session:
        queries = [
            ("select * from scratch.mixed where id <> ? order by id", [2]),
            ("select * from scratch.numbers", None),
            ("select id from scratch.mixed where id > ?", [100]),
        ]
        for sql, params in queries:
            assert session.fetch_dicts(sql, params) == session.fetch_arrow(sql, params).to_pylist(), sql


def test_table_exists_sees_tables_and_views_only_where_they_are(warehouse):
    with warehouse.session() as session:
        session.replace_table("scratch", "present", pa.table({"id": pa.array([1], pa.int64())}))
        session.execute("create view scratch.present_view as select * from scratch.present")

    with warehouse.session(read_only=True) as session:
        assert session.table_exists("scratch", "present")
        assert session.table_exists("scratch", "present_view")
        assert not session.table_exists("scratch", "absent")
        assert not session.table_exists("no_such_schema", "present")
