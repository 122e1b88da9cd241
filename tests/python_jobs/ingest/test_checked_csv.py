"""The one checked CSV reader behind both loaders: the file's form (encoding, quoting, line breaks, NUL).

A form problem refuses the file naming the physical line where the bad field began, and the column; a quote
left open never swallows the rest of the file silently.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from python_jobs.cli import main
from python_jobs.ingest.checked_csv import MAX_TEXT_LINES
from python_jobs.ingest.products import ProductColumns, read_products
from python_jobs.ingest.raw_loading import LoadError
from python_jobs.ingest.transactions import TransactionColumns, read_transactions

TRANSACTIONS = TransactionColumns(customer="customer", date="date", amount="amount", order="order")
PRODUCTS = ProductColumns(id="id", title="title", description="description")


def write_bytes(directory: Path, data: bytes, name: str = "export.csv") -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def transactions_file(directory: Path, lines: int = 40) -> list[str]:
    return ["customer,date,amount,order"] + [
        f"c{i},2024-01-{1 + i % 28:02d},{i}.50,o{i}" for i in range(lines - 1)
    ]


def refused(read, path: Path, columns) -> str:
    with pytest.raises(LoadError) as caught:
        read(path, columns)
    assert str(path) in str(caught.value)
    return str(caught.value)


def test_a_quote_left_open_in_the_last_column_refuses_the_file(tmp_path):
    lines = transactions_file(tmp_path)
    lines[4] = 'c3,2024-01-04,3.50,"o3'  # line 5: the quote swallows lines 6 to 40
    path = write_bytes(tmp_path, "\n".join(lines).encode() + b"\n")

    message = refused(read_transactions, path, TRANSACTIONS)

    assert "line 5, column 'order'" in message
    assert "never closed" in message


def test_the_cli_says_nothing_was_loaded_for_a_quote_left_open(tmp_path, duckdb_warehouse):
    lines = transactions_file(tmp_path)
    lines[4] = 'c3,2024-01-04,"3.50,o3'  # line 5, the amount column
    path = write_bytes(tmp_path, "\n".join(lines).encode() + b"\n")
    args = [
        "--customer-col",
        "customer",
        "--date-col",
        "date",
        "--amount-col",
        "amount",
        "--order-col",
        "order",
    ]

    result = CliRunner().invoke(main, ["load-transactions", str(path), *args])

    assert result.exit_code != 0
    assert result.output.startswith(f"Error: refused: {path}: line 5, column 'amount': "), result.output
    assert result.output.rstrip().endswith("Nothing was loaded.")


def test_a_quote_opened_mid_row_is_named_where_it_opened(tmp_path):
    lines = transactions_file(tmp_path)
    lines[4] = 'c3,"2024-01-04,3.50,o3'  # line 5: opens a quote in the date column
    lines[40 - 1] = 'c38,2024-01-11,1.00,"o38"'  # line 40: a later quote closes it
    path = write_bytes(tmp_path, "\n".join(lines).encode() + b"\n")

    message = refused(read_transactions, path, TRANSACTIONS)

    assert "line 5, column 'date'" in message
    assert "line 41" not in message


def test_a_product_description_left_open_refuses_the_catalogue(tmp_path):
    lines = ["id,title,description"] + [f"{i},Lamp {i},A lamp." for i in range(1, 30)]
    lines[3] = '3,Lamp 3,"A lamp.'  # line 4: never closed
    path = write_bytes(tmp_path, "\n".join(lines).encode() + b"\n")

    message = refused(read_products, path, PRODUCTS)

    assert "line 4, column 'description'" in message
    assert "never closed" in message


def test_a_description_may_span_lines_within_the_bound(tmp_path):
    description = "\n".join(f"Paragraph {i}." for i in range(MAX_TEXT_LINES))
    path = write_bytes(tmp_path, f'id,title,description\n1,Lamp,"{description}"\n2,Fan,A fan.\n'.encode())

    table = read_products(path, PRODUCTS)

    assert table.column("description").to_pylist() == [description, "A fan."]


def test_a_description_over_more_lines_than_the_bound_is_refused(tmp_path):
    description = "\n".join(f"Paragraph {i}." for i in range(MAX_TEXT_LINES + 1))
    path = write_bytes(tmp_path, f'id,title,description\n1,Lamp,A lamp.\n2,Fan,"{description}"\n'.encode())

    message = refused(read_products, path, PRODUCTS)

    assert "line 3, column 'description'" in message
    assert f"at most {MAX_TEXT_LINES} lines" in message


def test_a_line_break_in_a_title_is_refused_at_its_line(tmp_path):
    path = write_bytes(tmp_path, b'id,title,description\n1,Lamp,A lamp.\n2,"Fan\nwith a break",A fan.\n')

    assert "line 3, column 'title': a quoted value runs from line 3 to line 4" in refused(
        read_products, path, PRODUCTS
    )


def test_lines_are_physical_lines_after_a_bare_carriage_return_in_a_quoted_value(tmp_path):
    path = write_bytes(
        tmp_path, b'id,title,description\n1,Lamp,"A lamp.\rBright."\n2,Fan,A fan.\n ,Bulb,A bulb.\n'
    )

    assert "line 4, column 'id'" in refused(read_products, path, PRODUCTS)


def test_a_bare_carriage_return_in_an_unquoted_value_is_refused_with_its_line(tmp_path):
    path = write_bytes(tmp_path, b"customer,date,amount,order\nc1,2024-01-01,1,o1\nc2,2024-01-02,2\r5,o2\n")

    message = refused(read_transactions, path, TRANSACTIONS)

    assert "line 3, column 'amount'" in message
    assert "carriage return" in message


def test_invalid_utf8_in_transactions_is_refused_with_its_line(tmp_path):
    path = write_bytes(
        tmp_path, "customer,date,amount\nc1,2024-01-01,1\nc\xe9,2024-01-02,2\n".encode("latin-1")
    )

    message = refused(read_transactions, path, TransactionColumns("customer", "date", "amount"))

    assert "line 3: not UTF-8 text (byte 0xe9" in message


def test_invalid_utf8_far_into_a_file_names_its_line(tmp_path):
    lines = transactions_file(tmp_path, 60_000)
    data = "\n".join(lines).encode() + b"\n"
    position = data.index(b"c59990,")
    path = write_bytes(tmp_path, data[:position] + b"\xff" + data[position:])

    assert "line 59992: not UTF-8 text (byte 0xff at byte 1 of the line" in refused(
        read_transactions, path, TRANSACTIONS
    )


def test_a_byte_order_mark_is_allowed_in_transactions(tmp_path):
    path = write_bytes(tmp_path, b"\xef\xbb\xbfcustomer,date,amount\nc1,2024-01-01,1\n")

    tables = read_transactions(path, TransactionColumns("customer", "date", "amount"))

    assert tables["orders"].column("customer_id").to_pylist() == ["c1"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b"customer,date,amount,order\nc1,2024-01-01,1,o1\nc2,2024-01-02,2,o\x002\n",
            "line 3, column 'order'",
        ),
        (
            b"customer,date,amount,order,note\nc1,2024-01-01,1,o1,ok\nc2,2024-01-02,2,o2,a\x00b\n",
            "column 'note'",
        ),
    ],
    ids=["in-an-id", "in-a-column-not-loaded"],
)
def test_a_nul_character_is_refused_with_line_and_column(tmp_path, data, expected):
    path = write_bytes(tmp_path, data)

    message = refused(read_transactions, path, TRANSACTIONS)

    assert expected in message
    assert "NUL" in message


def test_a_nul_character_in_a_product_title_is_refused(tmp_path):
    path = write_bytes(tmp_path, b"id,title\n1,Lamp\n2,F\x00an\n")

    assert "line 3, column 'title'" in refused(read_products, path, ProductColumns(id="id", title="title"))


def test_text_after_a_closing_quote_is_refused(tmp_path):
    path = write_bytes(tmp_path, b'customer,date,amount,order\nc1,"2024-01-01"x,1,o1\n')

    assert "line 2, column 'date'" in refused(read_transactions, path, TRANSACTIONS)
