"""Exact duplicate lines in a transactions file: refused by default, or kept or dropped on request.

An exact duplicate is a line whose fields are all equal to an earlier line's, every column of the file
included, as the CSV reader returns them (quotes removed, nothing trimmed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from python_jobs.cli import main
from python_jobs.ingest.raw_loading import LoadError
from python_jobs.ingest.transactions import TransactionColumns, check_transactions, read_transactions

COLUMNS = TransactionColumns(customer="customer", date="date", amount="amount", order="order")
ARGS = ["--customer-col", "customer", "--date-col", "date", "--amount-col", "amount", "--order-col", "order"]
LINES = [
    "customer,date,amount,order,note",  # line 1
    "c1,2024-03-01,10.00,o1,",  # line 2
    "c1,2024-03-01,5.00,o1,",  # line 3
    "c2,2024-03-02,7.00,o2,gift",  # line 4
    'c1,2024-03-01,"10.00",o1,',  # line 5: line 2 again, quoted
    "c2,2024-03-02,7.0,o2,gift",  # line 6: not a duplicate of line 4 (7.0 is not 7.00 as written)
    "c2,2024-03-02,7.00,o2,gift",  # line 7: line 4 again
]


def write(directory: Path, lines: list[str]) -> Path:
    path = directory / "export.csv"
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def totals(tables) -> dict[str, float]:
    orders = tables["orders"]
    return dict(zip(orders["order_id"].to_pylist(), orders["order_total"].to_pylist(), strict=True))


def test_duplicates_are_refused_by_default_naming_the_first_two_equal_lines(tmp_path):
    with pytest.raises(LoadError) as caught:
        read_transactions(write(tmp_path, LINES), COLUMNS)

    message = str(caught.value)
    assert "line 5: the same as line 2" in message
    assert "2 exact duplicate line(s)" in message
    assert "--on-duplicate" in message


def test_keep_loads_every_line_and_reports_the_duplicates(tmp_path):
    checked = check_transactions(write(tmp_path, LINES), COLUMNS, on_duplicate="keep")

    assert checked.tables["order_items"].num_rows == 6
    assert totals(checked.tables) == pytest.approx({"o1": 25.0, "o2": 21.0})
    assert checked.duplicates.groups == [[2, 5], [4, 7]]


def test_drop_loads_each_duplicate_once(tmp_path):
    checked = check_transactions(write(tmp_path, LINES), COLUMNS, on_duplicate="drop")

    assert checked.tables["order_items"].num_rows == 4
    assert totals(checked.tables) == pytest.approx({"o1": 15.0, "o2": 14.0})
    assert sorted(checked.tables["order_items"]["order_item_id"].to_pylist()) == [
        "o1#2",
        "o1#3",
        "o2#4",
        "o2#6",
    ]


def test_without_order_col_duplicates_are_refused_too(tmp_path):
    path = write(
        tmp_path, ["customer,date,amount", "c1,2024-03-01,10", "c2,2024-03-01,10", "c1,2024-03-01,10"]
    )

    with pytest.raises(LoadError, match="line 4: the same as line 2"):
        read_transactions(path, TransactionColumns("customer", "date", "amount"))


@pytest.mark.parametrize(
    ("choice", "exit_code", "expected"),
    [
        ("error", 1, "Error: refused: {path}: line 5: the same as line 2"),
        ("keep", 0, "2 exact duplicate line(s) kept: line 5 repeats line 2; line 7 repeats line 4."),
        ("drop", 0, "2 exact duplicate line(s) dropped: line 5 repeats line 2; line 7 repeats line 4."),
    ],
)
def test_the_cli_offers_on_duplicate_and_says_what_it_did(
    tmp_path, duckdb_warehouse, choice, exit_code, expected
):
    path = write(tmp_path, LINES)

    result = CliRunner().invoke(main, ["load-transactions", str(path), *ARGS, "--on-duplicate", choice])

    assert result.exit_code == exit_code, result.output
    assert expected.format(path=path) in result.output
    if choice == "drop":
        assert "Loaded 4 lines as 2 orders" in result.output
