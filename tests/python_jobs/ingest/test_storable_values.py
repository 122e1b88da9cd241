"""Values that read fine but that the warehouse cannot store are refused by the loaders, with line and column.

On both targets: a refused file leaves the warehouse exactly as it was, and a file right at every limit loads
and builds (dbt's staging and the customer marts), so the limits are the warehouse's, not stricter.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from python_jobs.cli import main
from python_jobs.ingest.checked_csv import MAX_ID_CHARACTERS
from python_jobs.ingest.transactions import MAX_AMOUNT, MAX_QUANTITY
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.dbt_runner import run_dbt
from python_jobs.warehouse.ml_tables import CLV_TABLES, ML_SCHEMA
from python_jobs.warehouse.raw_tables import RAW_SCHEMA

TRANSACTION_ARGS = [
    "--customer-col", "customer", "--date-col", "date", "--amount-col", "amount",
    "--order-col", "order", "--quantity-col", "qty",
]  # fmt: skip
PRODUCT_ARGS = [
    "--id-col",
    "id",
    "--title-col",
    "title",
    "--price-col",
    "price",
    "--description-col",
    "description",
]
GOOD_TRANSACTIONS = ["customer,date,amount,order,qty", "c1,2024-03-01,10.00,o1,1", "c2,2024-03-02,20.00,o2,2"]
GOOD_PRODUCTS = ["id,title,price,description", "1,Lamp,12.50,A lamp.", "2,Fan,30.00,A fan."]
LONG_ID = "c" * (MAX_ID_CHARACTERS + 1)

BAD_TRANSACTIONS = {
    "amount-1e20": ("c3,2024-03-03,1e20,o3,1", "line 4, column 'amount': amount '1e20' is beyond"),
    "amount-just-over": ("c3,2024-03-03,1000000000000.00,o3,1", "line 4, column 'amount'"),
    "long-customer-id": (f"{LONG_ID},2024-03-03,1,o3,1", "line 4, column 'customer': customer id of 257"),
    "100kb-order-id": (f"c3,2024-03-03,1,{'o' * 100_000},1", "line 4, column 'order': order id of 100,000"),
    "control-in-id": ('"c\x073",2024-03-03,1,o3,1', "line 4, column 'customer'"),
    "tab-in-order-id": ('c3,2024-03-03,1,"o\t3",1', "line 4, column 'order'"),
    "nul": ("c3,2024-03-03,1,o\x003,1", "line 4, column 'order': a NUL character"),
    "quantity-overflow": ("c3,2024-03-03,1,o3,99999999999999999999", "line 4, column 'qty'"),
    "quantity-just-over": ("c3,2024-03-03,1,o3,2147483648", "line 4, column 'qty'"),
    "year-1-east-of-utc": ("c3,0001-01-01T00:00:00+05:00,1,o3,1", "line 4, column 'date'"),
    "order-total-over": (
        "c1,2024-03-03,999999999999.99,o1,1",  # o1 already has 10.00 on line 2
        "line 4, column 'amount': order 'o1' comes to",
    ),
}
BAD_PRODUCTS = {
    "price-beyond": ("3,Bulb,99999999999999999999,A bulb.", "line 4, column 'price': price"),
    "nul-in-description": ("3,Bulb,1.00,A b\x00ulb.", "line 4, column 'description': a NUL character"),
}


def write(directory: Path, name: str, lines: list[str]) -> Path:
    path = directory / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def invoke(command: str, path: Path, args: list[str], warehouse: Warehouse):
    return CliRunner().invoke(main, [command, str(path), *args, "--target", warehouse.target])


def snapshot(warehouse: Warehouse) -> dict[str, list[tuple]]:
    with warehouse.session() as session:
        return {
            name: sorted(session.fetchall(f"select * from {RAW_SCHEMA}.{name}"), key=repr)
            for name in ("orders", "order_items", "products")
        }


@pytest.fixture
def loaded(tmp_path, warehouse) -> Warehouse:
    """A warehouse holding a good transactions file and a good catalogue."""
    assert (
        invoke(
            "load-transactions", write(tmp_path, "t.csv", GOOD_TRANSACTIONS), TRANSACTION_ARGS, warehouse
        ).exit_code
        == 0
    )
    assert (
        invoke("load-products", write(tmp_path, "p.csv", GOOD_PRODUCTS), PRODUCT_ARGS, warehouse).exit_code
        == 0
    )
    return warehouse


@pytest.mark.parametrize("case", BAD_TRANSACTIONS)
def test_unstorable_transaction_values_are_refused_and_nothing_changes(tmp_path, loaded, case):
    bad_line, expected = BAD_TRANSACTIONS[case]
    before = snapshot(loaded)
    path = write(tmp_path, "bad.csv", [*GOOD_TRANSACTIONS, bad_line])

    result = invoke("load-transactions", path, TRANSACTION_ARGS, loaded)

    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: refused: {path}: {expected}"), result.output
    assert result.output.rstrip().endswith("Nothing was loaded.")
    assert snapshot(loaded) == before


@pytest.mark.parametrize("case", BAD_PRODUCTS)
def test_unstorable_product_values_are_refused_and_nothing_changes(tmp_path, loaded, case):
    bad_line, expected = BAD_PRODUCTS[case]
    before = snapshot(loaded)
    path = write(tmp_path, "bad.csv", [*GOOD_PRODUCTS, bad_line])

    result = invoke("load-products", path, PRODUCT_ARGS, loaded)

    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: refused: {path}: {expected}"), result.output
    assert snapshot(loaded) == before


def test_files_at_every_limit_load_and_build(tmp_path, warehouse):
    longest = "c" * MAX_ID_CHARACTERS
    order = "o" * (MAX_ID_CHARACTERS - 1) + "é"  # 256 characters, 257 bytes
    transactions = write(
        tmp_path,
        "limits.csv",
        [
            "customer,date,amount,order,qty",
            f"{longest},2024-03-01T10:00:00,{MAX_AMOUNT},{order},1",
            f"c2,2024-03-02,-{MAX_AMOUNT},o2,1",
            f"{longest},2024-03-03,0.01,o3,{MAX_QUANTITY}",
        ],
    )
    product = "p" * (MAX_ID_CHARACTERS - 1) + "é"  # product ids are text too, and as long
    products = write(
        tmp_path, "catalogue.csv", ["id,title,price,description", f"{product},Lamp,{MAX_AMOUNT},A lamp."]
    )

    loaded = invoke("load-transactions", transactions, TRANSACTION_ARGS, warehouse)
    assert loaded.exit_code == 0, loaded.output
    loaded = invoke("load-products", products, PRODUCT_ARGS, warehouse)
    assert loaded.exit_code == 0, loaded.output

    # The profiles read the CLV job's tables; empty, as before any fit (`segments build` runs the job first).
    with warehouse.session() as session:
        session.ensure_schema(ML_SCHEMA)
        for name, schema in CLV_TABLES.items():
            if not session.table_exists(ML_SCHEMA, name):
                session.create_table(ML_SCHEMA, name, schema)
    # `run` builds no seeds; the profiles' order lines read the product_categories seed.
    for command in ("seed", "run"):
        run = run_dbt(
            [command, "--select", "+customer_profiles", "+stg_raw__products"], target=warehouse.target
        )
        assert run.ok, run.problem_summary()
    with warehouse.session() as session:
        profile = session.fetchone(
            "select lifetime_value from marts.customer_profiles where customer_id = ?", [longest]
        )
        price = session.fetchone(
            "select price from staging.stg_raw__products where product_id = ?", [product]
        )
    assert float(profile[0]) == pytest.approx(float(MAX_AMOUNT) + 0.01)
    assert float(price[0]) == pytest.approx(float(MAX_AMOUNT))
