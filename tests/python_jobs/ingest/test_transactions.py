"""`segments load-transactions`: a shop's CSV export into `raw.orders` and `raw.order_items`.

A bad file is refused whole, naming the file, the line and the column, and the warehouse is left exactly as it
was; a good file replaces the raw orders and lines, and leaves the other raw tables alone.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import duckdb
import psycopg2
import pyarrow as pa
import pytest
from click.testing import CliRunner

from python_jobs.cli import main
from python_jobs.ingest.transactions import (
    LoadError,
    TransactionColumns,
    read_transactions,
    write_transactions,
)
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import RAW_SCHEMA, RAW_TABLES

COLUMNS = TransactionColumns(customer="customer", date="date", amount="amount")
ORDER_COLUMNS = TransactionColumns(customer="customer", date="date", amount="amount", order="order")
BASE_ARGS = ["--customer-col", "customer", "--date-col", "date", "--amount-col", "amount"]


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def write_csv(directory: Path, name: str, lines: list[str]) -> Path:
    path = directory / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def load(warehouse: Warehouse, path: Path, *extra: str) -> object:
    """Run the CLI command against the warehouse's target (its env vars are set by the fixture)."""
    return CliRunner().invoke(
        main, ["load-transactions", str(path), *BASE_ARGS, *extra, "--target", warehouse.target]
    )


def rows(warehouse: Warehouse, table: str) -> list[tuple]:
    with warehouse.session() as session:
        return sorted(session.fetchall(f"select * from {RAW_SCHEMA}.{table}"), key=repr)


def orders_by_id(warehouse: Warehouse) -> dict[str, tuple]:
    with warehouse.session() as session:
        result = session.fetchall(
            "select order_id, customer_id, ordered_at, order_status, sales_channel, order_total from raw.orders"
        )
    return {row[0]: row[1:] for row in result}


def items(warehouse: Warehouse) -> list[dict]:
    names = RAW_TABLES["order_items"].names
    with warehouse.session() as session:
        result = session.fetchall(f"select {', '.join(names)} from raw.order_items")
    return [dict(zip(names, row, strict=True)) for row in result]


# ------------------------------------------------------------------------------------------------ bad files


def refusal(path: Path, columns: TransactionColumns = COLUMNS, **options: str) -> str:
    with pytest.raises(LoadError) as caught:
        read_transactions(path, columns, **options)
    message = str(caught.value)
    assert str(path) in message
    return message


def test_missing_column_is_named_on_line_1_with_the_columns_found(tmp_path):
    path = write_csv(tmp_path, "export.csv", ["customer,when,amount", "c1,2024-01-01,10"])

    message = refusal(path)

    assert "line 1:" in message
    assert "missing column 'date'" in message
    assert "(found: customer, when, amount)" in message
    # Only the absent column is called missing.
    assert "'customer'" not in message.split("(found")[0]


def test_every_missing_column_is_named(tmp_path):
    path = write_csv(tmp_path, "export.csv", ["who,when,how_much", "c1,2024-01-01,10"])

    message = refusal(path, ORDER_COLUMNS)

    for column in ("customer", "date", "amount", "order"):
        assert repr(column) in message
    assert "(found: who, when, how_much)" in message


def test_unparseable_iso_date_names_line_column_and_value(tmp_path):
    path = write_csv(
        tmp_path,
        "export.csv",
        [
            "customer,date,amount",  # line 1
            "c1,2024-01-01,10",  # line 2
            "c2,2024-01-02T10:00:00,11",  # line 3
            "c3,2024-13-01,12",  # line 4: month 13
            "c4,2024-01-04,13",  # line 5
        ],
    )

    message = refusal(path)

    assert "line 4, column 'date'" in message
    assert "'2024-13-01'" in message
    assert "ISO 8601" in message


def test_unparseable_date_with_date_format_names_the_format(tmp_path):
    path = write_csv(
        tmp_path,
        "export.csv",
        [
            "customer,date,amount",  # line 1
            "c1,05/03/2024,10",  # line 2
            "c2,2024-03-06,11",  # line 3: ISO, not the day-first format asked for
        ],
    )

    message = refusal(path, date_format="%d/%m/%Y")

    assert "line 3, column 'date'" in message
    assert "'2024-03-06'" in message
    assert "'%d/%m/%Y'" in message


@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        ("abc", "cannot parse amount 'abc'"),
        ("", "cannot parse amount ''"),
        ("12.50.1", "cannot parse amount '12.50.1'"),
        ("NaN", "not a finite number"),
        ("Infinity", "not a finite number"),
    ],
)
def test_unparseable_amount_names_line_and_column(tmp_path, amount, problem):
    path = write_csv(
        tmp_path,
        "export.csv",
        ["customer,date,amount", "c1,2024-01-01,10", "c2,2024-01-02,20", f"c3,2024-01-03,{amount}"],
    )

    message = refusal(path)

    assert "line 4, column 'amount'" in message
    assert problem in message


def test_empty_customer_id_names_line_and_column(tmp_path):
    path = write_csv(
        tmp_path,
        "export.csv",
        ["customer,date,amount", "c1,2024-01-01,10", "   ,2024-01-02,20", "c3,2024-01-03,30"],
    )

    message = refusal(path)

    assert "line 3, column 'customer'" in message
    assert "empty customer id" in message


def test_line_numbers_count_blank_lines(tmp_path):
    path = write_csv(
        tmp_path,
        "export.csv",
        [
            "customer,date,amount",  # line 1
            "c1,2024-01-01,10",  # line 2
            "",  # line 3: blank, skipped by the reader but still a line of the file
            "c2,2024-01-02,20",  # line 4
            ",2024-01-03,30",  # line 5
        ],
    )

    assert "line 5, column 'customer'" in refusal(path)


@pytest.mark.parametrize(
    ("bad_line", "fields"),
    [("c2,2024-01-02", 2), ("c2,2024-01-02,20,extra", 4)],
    ids=["too-few", "too-many"],
)
def test_wrong_field_count_is_refused_with_its_line(tmp_path, bad_line, fields):
    path = write_csv(tmp_path, "export.csv", ["customer,date,amount", "c1,2024-01-01,10", bad_line])

    message = refusal(path)

    assert "line 3:" in message
    assert "expected 3 fields" in message


@pytest.mark.parametrize(
    ("bad_line", "fields"),
    [("c2,2024-01-02", 2), ("c2,2024-01-02,20,extra,more", 5)],
    ids=["too-few", "two-extra"],
)
def test_wrong_field_count_message_states_the_fields_found(tmp_path, bad_line, fields):
    path = write_csv(tmp_path, "export.csv", ["customer,date,amount", "c1,2024-01-01,10", bad_line])

    assert f"expected 3 fields, found {fields}" in refusal(path)


def test_order_id_reused_by_another_customer_is_refused(tmp_path):
    path = write_csv(
        tmp_path,
        "export.csv",
        [
            "customer,date,amount,order",  # line 1
            "c1,2024-01-01,10,o1",  # line 2
            "c2,2024-01-02,20,o2",  # line 3
            "c1,2024-01-01,5,o1",  # line 4: same customer, fine
            "c2,2024-01-03,30,o1",  # line 5: o1 belongs to c1
        ],
    )

    message = refusal(path, ORDER_COLUMNS)

    assert "line 5, column 'customer'" in message
    assert "'o1'" in message
    assert "'c1'" in message
    assert "'c2'" in message


def test_empty_order_id_is_refused(tmp_path):
    path = write_csv(
        tmp_path, "export.csv", ["customer,date,amount,order", "c1,2024-01-01,10,o1", "c1,2024-01-01,5,"]
    )

    message = refusal(path, ORDER_COLUMNS)

    assert "line 3, column 'order'" in message
    assert "empty order id" in message


def test_empty_file_is_refused(tmp_path):
    path = write_csv(tmp_path, "export.csv", [])

    message = refusal(path)

    assert "line 1:" in message
    assert "no header at all" in message


def test_header_only_file_is_refused(tmp_path):
    path = write_csv(tmp_path, "export.csv", ["customer,date,amount"])

    assert "no transactions after the header" in refusal(path)


@pytest.mark.parametrize(
    ("lines", "extra", "expected"),
    [
        (["customer,when,amount", "c1,2024-01-01,1"], [], "line 1: missing column 'date'"),
        (["customer,date,amount", "c1,2024-01-01,1", "c1,01/02/2024,1"], [], "line 3, column 'date'"),
        (
            ["customer,date,amount", "c1,01/02/2024,1", "c1,2024-01-01,1"],
            ["--date-format", "%d/%m/%Y"],
            "line 3, column 'date'",
        ),
        (["customer,date,amount", "c1,2024-01-01,1", "c1,2024-01-01,x"], [], "line 3, column 'amount'"),
        (["customer,date,amount", "c1,2024-01-01,1", ",2024-01-01,1"], [], "line 3, column 'customer'"),
        (["customer,date,amount", "c1,2024-01-01,1", "c1,2024-01-01"], [], "line 3: expected 3 fields"),
        (
            ["customer,date,amount,order", "c1,2024-01-01,1,o1", "c2,2024-01-01,1,o1"],
            ["--order-col", "order"],
            "line 3, column 'customer'",
        ),
        ([], [], "no header at all"),
        (["customer,date,amount"], [], "no transactions after the header"),
    ],
    ids=[
        "missing-column",
        "bad-date",
        "bad-date-format",
        "bad-amount",
        "empty-customer",
        "field-count",
        "order-reused",
        "empty",
        "header-only",
    ],
)
def test_cli_refuses_bad_files_and_writes_nothing(tmp_path, duckdb_warehouse, lines, extra, expected):
    path = write_csv(tmp_path, "export.csv", lines)

    result = load(duckdb_warehouse, path, *extra)

    assert result.exit_code != 0
    assert result.output.startswith("Error: refused:"), result.output
    assert str(path) in result.output
    assert expected in result.output
    assert "Nothing was loaded." in result.output
    with duckdb_warehouse.session() as session:
        assert not session.table_exists(RAW_SCHEMA, "orders")
        assert not session.table_exists(RAW_SCHEMA, "order_items")


def test_cli_refuses_a_file_that_does_not_exist(tmp_path, duckdb_warehouse):
    result = load(duckdb_warehouse, tmp_path / "absent.csv")

    assert result.exit_code != 0
    assert result.output.startswith("Error: refused:")
    assert "no such file" in result.output


# ------------------------------------------------------------------------------------------------ atomicity


def test_a_bad_file_leaves_the_loaded_data_as_it_was(tmp_path, warehouse):
    good = write_csv(
        tmp_path,
        "good.csv",
        [
            "customer,date,amount,order",
            "c1,2024-01-01T10:00:00+01:00,10.50,o1",
            "c1,2024-01-01T11:00:00+01:00,4.50,o1",
            "c2,2024-02-01,20,o2",
            "c3,2024-03-01 08:00:00,30,o3",
        ],
    )
    assert load(warehouse, good, "--order-col", "order").exit_code == 0
    orders_before, items_before = rows(warehouse, "orders"), rows(warehouse, "order_items")
    assert (len(orders_before), len(items_before)) == (3, 4)

    # 300 good lines (new customers, new orders), then one bad amount on line 302.
    lines = ["customer,date,amount,order"]
    lines += [f"n{i},2024-04-{1 + i % 28:02d},{i}.25,n-o{i}" for i in range(300)]
    lines += ["n300,2024-05-01,12..5,n-o300"]
    bad = write_csv(tmp_path, "bad.csv", lines)

    result = load(warehouse, bad, "--order-col", "order")

    assert result.exit_code != 0
    assert result.output.startswith("Error: refused:")
    assert "line 302, column 'amount'" in result.output
    assert rows(warehouse, "orders") == orders_before
    assert rows(warehouse, "order_items") == items_before


def test_a_write_that_fails_halfway_leaves_the_loaded_data_as_it_was(tmp_path, warehouse):
    good = write_csv(tmp_path, "good.csv", ["customer,date,amount", "c1,2024-01-01,10", "c2,2024-01-02,20"])
    write_transactions(warehouse, read_transactions(good, COLUMNS))
    orders_before, items_before = rows(warehouse, "orders"), rows(warehouse, "order_items")

    other = write_csv(tmp_path, "other.csv", ["customer,date,amount", "x1,2024-06-01,1", "x2,2024-06-02,2"])
    tables = read_transactions(other, COLUMNS)
    # raw.orders is replaced first; then order_items fails: its quantities are not numbers.
    order_items = tables["order_items"]
    position = order_items.schema.get_field_index("quantity")
    broken = order_items.set_column(position, "quantity", pa.array(["many"] * order_items.num_rows))

    with pytest.raises((duckdb.Error, psycopg2.Error)):
        write_transactions(warehouse, {"orders": tables["orders"], "order_items": broken})

    assert rows(warehouse, "orders") == orders_before
    assert rows(warehouse, "order_items") == items_before


# ------------------------------------------------------------------------------------------------ good files


def test_order_col_groups_lines_into_orders(tmp_path, duckdb_warehouse):
    path = write_csv(
        tmp_path,
        "export.csv",
        [
            "customer,date,amount,order",
            "c1,2024-03-02T10:00:00,10.00,o1",
            "c1,2024-03-01T09:00:00,5.25,o1",
            "c2,2024-03-05,7.5,o2",
            "c1,2024-03-01T08:00:00,0.10,o1",
            "c1,2024-03-03,1,o3",
        ],
    )

    result = load(duckdb_warehouse, path, "--order-col", "order")

    assert result.exit_code == 0, result.output
    assert "Loaded 5 lines as 3 orders" in result.output
    orders = orders_by_id(duckdb_warehouse)
    assert set(orders) == {"o1", "o2", "o3"}
    customer, ordered_at, status, channel, total = orders["o1"]
    assert customer == "c1"
    assert ordered_at == utc(2024, 3, 1, 8)  # the earliest of its three lines
    assert total == pytest.approx(15.35)  # 10.00 + 5.25 + 0.10
    assert (status, channel) == ("completed", None)
    assert orders["o2"][:2] == ("c2", utc(2024, 3, 5))
    assert orders["o2"][4] == pytest.approx(7.5)
    assert orders["o3"][4] == pytest.approx(1.0)

    lines = items(duckdb_warehouse)
    assert len(lines) == 5
    assert len({line["order_item_id"] for line in lines}) == 5
    by_order: dict[str, list[float]] = {}
    for line in lines:
        by_order.setdefault(line["order_id"], []).append(line["unit_price"])
        assert line["quantity"] == 1
        # A transactions export says nothing of discounts, returns or categories: unknown, not "none".
        assert line["discount_amount"] is None
        assert line["is_returned"] is None
        assert line["product_category"] is None
    assert sorted(by_order["o1"]) == pytest.approx([0.10, 5.25, 10.00])
    assert by_order["o2"] == pytest.approx([7.5])
    assert by_order["o3"] == pytest.approx([1.0])


def test_without_order_col_every_line_is_an_order(tmp_path, duckdb_warehouse):
    path = write_csv(
        tmp_path,
        "export.csv",
        ["customer,date,amount", "c1,2024-03-01,10", "c1,2024-03-01,20", "c2,2024-03-02,30"],
    )

    result = load(duckdb_warehouse, path)

    assert result.exit_code == 0, result.output
    assert "Loaded 3 lines as 3 orders" in result.output
    orders = orders_by_id(duckdb_warehouse)
    assert sorted((o[0], o[4]) for o in orders.values()) == [("c1", 10.0), ("c1", 20.0), ("c2", 30.0)]
    lines = items(duckdb_warehouse)
    assert sorted(line["order_id"] for line in lines) == sorted(orders)
    # Each order's total is its one line.
    for line in lines:
        assert orders[line["order_id"]][4] == pytest.approx(line["unit_price"])


def test_quantity_col_gives_the_unit_price(tmp_path, duckdb_warehouse):
    path = write_csv(
        tmp_path,
        "export.csv",
        [
            "customer,date,amount,order,qty",
            "c1,2024-03-01,30,o1,3",
            "c1,2024-03-01,10,o1,3",
            "c2,2024-03-01,8,o2,1",
        ],
    )

    result = load(duckdb_warehouse, path, "--order-col", "order", "--quantity-col", "qty")

    assert result.exit_code == 0, result.output
    lines = sorted(
        (line["order_id"], line["quantity"], line["unit_price"]) for line in items(duckdb_warehouse)
    )
    assert lines == [("o1", 3, pytest.approx(10 / 3)), ("o1", 3, 10.0), ("o2", 1, 8.0)]
    orders = orders_by_id(duckdb_warehouse)
    assert orders["o1"][4] == pytest.approx(40.0)  # the amounts are what was paid for the lines


def test_unparseable_quantity_is_refused(tmp_path):
    path = write_csv(
        tmp_path, "export.csv", ["customer,date,amount,qty", "c1,2024-03-01,30,3", "c1,2024-03-01,30,2.5"]
    )

    message = refusal(path, TransactionColumns("customer", "date", "amount", quantity="qty"))

    assert "line 3, column 'qty'" in message


def test_date_format_is_day_first(tmp_path, duckdb_warehouse):
    path = write_csv(tmp_path, "export.csv", ["customer,date,amount", "c1,05/03/2024,10", "c2,31/12/2023,20"])

    result = load(duckdb_warehouse, path, "--date-format", "%d/%m/%Y")

    assert result.exit_code == 0, result.output
    dates = sorted((o[0], o[1]) for o in orders_by_id(duckdb_warehouse).values())
    assert dates == [("c1", utc(2024, 3, 5)), ("c2", utc(2023, 12, 31))]


def test_semicolon_delimiter(tmp_path, duckdb_warehouse):
    path = write_csv(
        tmp_path, "export.csv", ["customer;date;amount", "acme, inc;2024-03-01;12.5", "c2;2024-03-02;3"]
    )

    result = load(duckdb_warehouse, path, "--delimiter", ";")

    assert result.exit_code == 0, result.output
    orders = sorted((o[0], o[4]) for o in orders_by_id(duckdb_warehouse).values())
    assert orders == [("acme, inc", 12.5), ("c2", 3.0)]


@pytest.fixture
def local_zone_not_utc(monkeypatch):
    """Run with the process's local zone at +05:30, so "naive means local time" cannot pass for UTC."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    assert time.timezone == -(5 * 3600 + 30 * 60)
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_zone_not_utc")
def test_times_are_stored_in_utc(tmp_path, duckdb_warehouse):
    path = write_csv(
        tmp_path,
        "export.csv",
        [
            "customer,date,amount,order",
            "c1,2024-03-01T01:30:00+02:00,1,east",  # back over midnight, into a leap day
            "c1,2024-03-01T10:00:00-05:00,1,west",
            "c1,2024-03-01T10:00:00Z,1,zulu",
            "c1,2024-03-01 10:00:00,1,naive",  # no zone: taken as UTC
            "c1,2024-03-01,1,date-only",  # midnight UTC
        ],
    )

    result = load(duckdb_warehouse, path, "--order-col", "order")

    assert result.exit_code == 0, result.output
    times = {order_id: order[1] for order_id, order in orders_by_id(duckdb_warehouse).items()}
    assert times == {
        "east": utc(2024, 2, 29, 23, 30),
        "west": utc(2024, 3, 1, 15),
        "zulu": utc(2024, 3, 1, 10),
        "naive": utc(2024, 3, 1, 10),
        "date-only": utc(2024, 3, 1),
    }
    with duckdb_warehouse.session() as session:
        text = session.fetchall(
            "select strftime(timezone('UTC', ordered_at), '%Y-%m-%d %H:%M') from raw.orders where order_id = ?",
            ["east"],
        )
    assert text == [("2024-02-29 23:30",)]


def test_running_the_same_load_twice_gives_the_same_tables(tmp_path, warehouse):
    path = write_csv(
        tmp_path,
        "export.csv",
        ["customer,date,amount,order", "c1,2024-03-01,10,o1", "c1,2024-03-01,5,o1", "c2,2024-03-02,7,o2"],
    )
    assert load(warehouse, path, "--order-col", "order").exit_code == 0
    first = rows(warehouse, "orders"), rows(warehouse, "order_items")

    result = load(warehouse, path, "--order-col", "order")

    assert result.exit_code == 0, result.output
    assert (rows(warehouse, "orders"), rows(warehouse, "order_items")) == first
    assert (len(first[0]), len(first[1])) == (2, 3)


def test_a_new_file_replaces_the_previous_orders(tmp_path, duckdb_warehouse):
    first = write_csv(tmp_path, "first.csv", ["customer,date,amount", "c1,2024-03-01,10", "c2,2024-03-01,20"])
    second = write_csv(tmp_path, "second.csv", ["customer,date,amount", "z9,2024-04-01,99"])
    assert load(duckdb_warehouse, first).exit_code == 0

    assert load(duckdb_warehouse, second).exit_code == 0

    assert [(o[0], o[4]) for o in orders_by_id(duckdb_warehouse).values()] == [("z9", 99.0)]
    assert len(items(duckdb_warehouse)) == 1


def test_other_raw_tables_are_created_empty_when_absent(tmp_path, duckdb_warehouse):
    path = write_csv(tmp_path, "export.csv", ["customer,date,amount", "c1,2024-03-01,10"])

    result = load(duckdb_warehouse, path)

    assert result.exit_code == 0, result.output
    assert "Kept as they were" not in result.output
    with duckdb_warehouse.session() as session:
        for name, schema in RAW_TABLES.items():
            assert session.table_exists(RAW_SCHEMA, name), name
            assert session.column_names(RAW_SCHEMA, name) == schema.names, name
            expected = 1 if name in ("orders", "order_items") else 0
            assert session.fetchone(f"select count(*) from raw.{name}")[0] == expected, name


def test_other_raw_tables_are_left_alone_when_present(tmp_path, duckdb_warehouse):
    customers = pa.Table.from_pylist(
        [
            {
                "customer_id": "c1",
                "email": "a@example.com",
                "signed_up_at": utc(2023, 1, 1),
                "country_code": "DE",
                "acquisition_channel": "Search",
                "marketing_opt_in": True,
            },
            {
                "customer_id": " c2 ",
                "email": None,
                "signed_up_at": utc(2023, 2, 1),
                "country_code": "fr",
                "acquisition_channel": None,
                "marketing_opt_in": None,
            },
        ],
        schema=RAW_TABLES["customers"],
    )
    with duckdb_warehouse.session() as session:
        session.replace_table(RAW_SCHEMA, "customers", customers)
    before = rows(duckdb_warehouse, "customers")
    path = write_csv(tmp_path, "export.csv", ["customer,date,amount", "c1,2024-03-01,10"])

    result = load(duckdb_warehouse, path)

    assert result.exit_code == 0, result.output
    assert "Kept as they were: raw.customers (2 rows)." in result.output
    assert rows(duckdb_warehouse, "customers") == before
    assert rows(duckdb_warehouse, "web_events") == []


def test_write_transactions_returns_the_row_count_of_every_raw_table(tmp_path, duckdb_warehouse):
    path = write_csv(
        tmp_path, "export.csv", ["customer,date,amount,order", "c1,2024-03-01,1,o1", "c1,2024-03-01,2,o1"]
    )

    counts = write_transactions(duckdb_warehouse, read_transactions(path, ORDER_COLUMNS))

    assert counts == dict.fromkeys(RAW_TABLES, 0) | {"orders": 1, "order_items": 2}
