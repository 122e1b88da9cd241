"""`segments load-products`: a shop's product catalogue CSV into `raw.products`.

A bad file is refused whole, naming the file, the line and the column, and the warehouse is left exactly as it
was; a good file replaces `raw.products`, creates the other raw tables empty when they are missing, and leaves
them alone when they are there.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from python_jobs.cli.data import load_products_command
from python_jobs.ingest.products import (
    LoadError,
    ProductColumns,
    read_products,
    write_products,
)
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import RAW_SCHEMA, RAW_TABLES

COLUMNS = ProductColumns(id="id", title="title")
ALL_COLUMNS = ProductColumns(
    id="id", title="title", category="category", description="description", brand="brand", price="price"
)
ALL_ARGS = [
    "--id-col",
    "id",
    "--title-col",
    "title",
    "--category-col",
    "category",
    "--description-col",
    "description",
    "--brand-col",
    "brand",
    "--price-col",
    "price",
]
HEADER = "id,title,category,brand,price,description"


def write_csv(directory: Path, name: str, lines: list[str]) -> Path:
    path = directory / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def load(warehouse: Warehouse, path: Path, *args: str) -> object:
    """Run the command against the warehouse's target (its env vars are set by the fixture)."""
    return CliRunner().invoke(load_products_command, [str(path), *args, "--target", warehouse.target])


def products(warehouse: Warehouse) -> list[tuple]:
    names = ", ".join(RAW_TABLES["products"].names)
    with warehouse.session() as session:
        return session.fetchall(f"select {names} from {RAW_SCHEMA}.products order by product_id")


def refusal(path: Path, columns: ProductColumns = ALL_COLUMNS, **options: str) -> str:
    with pytest.raises(LoadError) as caught:
        read_products(path, columns, **options)
    message = str(caught.value)
    assert str(path) in message
    return message


GOOD_LINES = [
    HEADER,
    '100001,Rotary Dimmer Switch,Dimmer Switches,Lumenwell,14.99,"Turn to dim, push to switch."',
    "100002,  Smart Bulb A19  , Smart Bulbs ,,9.5,",
    "100003,Garden Hose,Dimmer Switches,Yardly,,A hose.",
]


# ------------------------------------------------------------------------------------------------ good files


def test_a_good_file_becomes_the_products_table(tmp_path):
    path = write_csv(tmp_path, "catalogue.csv", GOOD_LINES)

    table = read_products(path, ALL_COLUMNS)

    assert table.schema.equals(RAW_TABLES["products"])
    assert table.to_pylist() == [
        {
            "product_id": "100001",
            "title": "Rotary Dimmer Switch",
            "category": "Dimmer Switches",
            "brand": "Lumenwell",
            "price": 14.99,
            "description": "Turn to dim, push to switch.",
        },
        # Values are trimmed; an empty optional cell is null.
        {
            "product_id": "100002",
            "title": "Smart Bulb A19",
            "category": "Smart Bulbs",
            "brand": None,
            "price": 9.5,
            "description": None,
        },
        {
            "product_id": "100003",
            "title": "Garden Hose",
            "category": "Dimmer Switches",
            "brand": "Yardly",
            "price": None,
            "description": "A hose.",
        },
    ]


def test_only_id_and_title_are_required(tmp_path):
    path = write_csv(tmp_path, "catalogue.csv", ["sku,name,colour", "7,Lamp,red", "-3,Fan,blue"])

    table = read_products(path, ProductColumns(id="sku", title="name"))

    assert table.to_pylist() == [
        {
            "product_id": "7",
            "title": "Lamp",
            "category": None,
            "brand": None,
            "price": None,
            "description": None,
        },
        {
            "product_id": "-3",
            "title": "Fan",
            "category": None,
            "brand": None,
            "price": None,
            "description": None,
        },
    ]


def test_another_delimiter_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "catalogue.csv"
    path.write_text("\ufeffid;title;price\n1;Lamp, brass;12,5\n".replace("12,5", "12.5"), encoding="utf-8")

    table = read_products(path, ProductColumns(id="id", title="title", price="price"), delimiter=";")

    assert table.column("title").to_pylist() == ["Lamp, brass"]
    assert table.column("price").to_pylist() == [12.5]


def test_blank_lines_are_skipped(tmp_path):
    path = write_csv(tmp_path, "catalogue.csv", ["id,title", "", "1,Lamp", "", "2,Fan"])

    assert read_products(path, COLUMNS).column("product_id").to_pylist() == ["1", "2"]


# ------------------------------------------------------------------------------------------------ bad files


def test_missing_columns_are_named_on_line_1_with_the_columns_found(tmp_path):
    path = write_csv(tmp_path, "catalogue.csv", ["id,name,category", "1,Lamp,Lights"])

    message = refusal(path)

    assert "line 1:" in message
    for name in ("title", "brand", "price", "description"):
        assert repr(name) in message.split("(found")[0]
    assert "'id'" not in message.split("(found")[0]
    assert "(found: id, name, category)" in message


def test_an_empty_file_has_no_header(tmp_path):
    path = write_csv(tmp_path, "catalogue.csv", [])

    assert "no header at all" in refusal(path, COLUMNS)


def test_a_header_without_products_is_refused(tmp_path):
    path = write_csv(tmp_path, "catalogue.csv", ["id,title"])

    assert "no products after the header" in refusal(path, COLUMNS)


def test_a_missing_file_is_named(tmp_path):
    assert "no such file" in refusal(tmp_path / "nowhere.csv", COLUMNS)


def test_text_ids_are_kept_as_written_and_trimmed(tmp_path):
    """ASINs, SKUs, numbers beyond 64 bits and leading zeros: catalogue ids are text, `007` and `7` two products."""
    ids = ["B07XJ8C8F5", "SKU-0042-BLK", "  sku 42/blk#2 ", "007", "7", str(2**63), "12.0", "٣", "x" * 256]
    path = write_csv(tmp_path, "catalogue.csv", ["id,title", *(f"{product_id},Lamp" for product_id in ids)])

    loaded = read_products(path, COLUMNS).column("product_id").to_pylist()

    assert loaded == [product_id.strip() for product_id in ids]


@pytest.mark.parametrize(
    ("bad_id", "problem"),
    [
        ("x" * 257, "a product id of 257 characters, longer than the 256 allowed"),
        ('"SKU\x01-42"', "a control character (\\x01) in product id 'SKU\\x01-42'"),
        ('"SKU\t42"', "a control character (\\t) in product id 'SKU\\t42'"),
    ],
    ids=["too long", "control character", "tab"],
)
def test_a_bad_product_id_names_line_column_and_problem(tmp_path, bad_id, problem):
    path = write_csv(tmp_path, "catalogue.csv", ["id,title", "1,Lamp", "2,Fan", f"{bad_id},Bulb"])

    message = refusal(path, COLUMNS)

    assert f"line 4, column 'id': {problem}" in message
    assert "\n" not in message


def test_an_empty_product_id_is_refused(tmp_path):
    path = write_csv(tmp_path, "catalogue.csv", ["id,title", "1,Lamp", "  ,Fan"])

    assert "line 3, column 'id': empty product id" in refusal(path, COLUMNS)


def test_a_duplicate_product_id_names_both_lines(tmp_path):
    path = write_csv(tmp_path, "catalogue.csv", ["id,title", "5,Lamp", "6,Fan", "7,Bulb", " 5 ,Lamp again"])

    message = refusal(path, COLUMNS)

    assert "line 5, column 'id': duplicate product id '5' (first on line 2)" in message


def test_an_empty_title_is_refused(tmp_path):
    path = write_csv(tmp_path, "catalogue.csv", ["id,title", "1,Lamp", "2,   "])

    assert "line 3, column 'title': empty title" in refusal(path, COLUMNS)


@pytest.mark.parametrize("bad_price", ["$12.99", "12,99", "twelve", "1e3", "nan", "inf", "1_000"])
def test_an_unparseable_price_names_line_column_and_value(tmp_path, bad_price):
    path = write_csv(tmp_path, "catalogue.csv", [HEADER, f'1,Lamp,Lights,Lumo,"{bad_price}",Nice'])

    message = refusal(path)

    assert "line 2, column 'price'" in message
    assert repr(bad_price) in message


def test_a_line_with_too_few_or_too_many_fields_is_refused(tmp_path):
    short = write_csv(tmp_path, "short.csv", ["id,title,brand", "1,Lamp,Lumo", "2,Fan"])
    long = write_csv(tmp_path, "long.csv", ["id,title,brand", "1,Lamp,Lumo,extra"])

    assert "line 3: expected 3 fields, found 2" in refusal(short, COLUMNS)
    assert "line 2: expected 3 fields, found 4" in refusal(long, COLUMNS)


def test_lines_are_counted_in_the_file_when_a_description_spans_lines(tmp_path):
    path = write_csv(
        tmp_path,
        "catalogue.csv",
        [
            "id,title,description",  # line 1
            '1,Lamp,"A lamp.',  # line 2
            'It is bright."',  # line 3
            "2,Fan,A fan.",  # line 4
            " ,Bulb,A bulb.",  # line 5
        ],
    )

    message = refusal(path, ProductColumns(id="id", title="title", description="description"))

    assert "line 5, column 'id'" in message


def test_text_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "catalogue.csv"
    path.write_bytes("id,title\n1,Lampe\n2,Ventilateur \xe9t\xe9\n".encode("latin-1"))

    assert "line 3: not UTF-8 text" in refusal(path, COLUMNS)


def test_windows_line_endings_count_lines_the_same(tmp_path):
    path = tmp_path / "catalogue.csv"
    path.write_bytes(b"id,title\r\n1,Lamp\r\n2,\r\n")

    assert "line 3, column 'title': empty title" in refusal(path, COLUMNS)


# ------------------------------------------------------------------------------------------------ the warehouse


def test_refused_file_leaves_the_warehouse_as_it_was(tmp_path, warehouse):
    good = write_csv(tmp_path, "good.csv", GOOD_LINES)
    assert load(warehouse, good, *ALL_ARGS).exit_code == 0
    before = products(warehouse)
    bad = write_csv(tmp_path, "bad.csv", [*GOOD_LINES[:2], "100001,Same id,Dimmer Switches,X,1.00,"])

    result = load(warehouse, bad, *ALL_ARGS)

    assert result.exit_code != 0
    assert result.output.startswith(
        f"Error: refused: {bad}: line 3, column 'id': duplicate product id '100001' (first on line 2)"
    )
    assert result.output.rstrip().endswith("Nothing was loaded.")
    assert products(warehouse) == before


def test_a_good_file_replaces_the_products_and_creates_the_other_raw_tables(tmp_path, warehouse):
    first = write_csv(tmp_path, "first.csv", GOOD_LINES)
    second = write_csv(
        tmp_path, "second.csv", [HEADER, "9,Ceiling Fan,Ceiling Fans,Breezewood,149.00,Quiet."]
    )

    assert load(warehouse, first, *ALL_ARGS).exit_code == 0
    result = load(warehouse, second, *ALL_ARGS)

    assert result.exit_code == 0, result.output
    assert f"Loaded 1 products from {second} into raw.products." in result.output
    assert products(warehouse) == [("9", "Ceiling Fan", "Ceiling Fans", "Breezewood", 149.0, "Quiet.")]
    with warehouse.session() as session:
        for name, schema in RAW_TABLES.items():
            assert session.table_exists(RAW_SCHEMA, name), name
            assert session.column_names(RAW_SCHEMA, name) == schema.names, name
            expected = 1 if name == "products" else 0
            assert session.fetchone(f"select count(*) from {RAW_SCHEMA}.{name}")[0] == expected, name


def test_other_raw_tables_are_left_alone(tmp_path, duckdb_warehouse):
    orders = pa.Table.from_pylist(
        [
            {
                "order_id": "o1",
                "customer_id": "c1",
                "ordered_at": None,
                "order_status": "completed",
                "sales_channel": "web",
                "order_total": 10.0,
            }
        ],
        schema=RAW_TABLES["orders"],
    )
    with duckdb_warehouse.session() as session:
        session.replace_table(RAW_SCHEMA, "orders", orders)
    path = write_csv(tmp_path, "catalogue.csv", GOOD_LINES)

    counts = write_products(duckdb_warehouse, read_products(path, ALL_COLUMNS))

    assert counts == dict.fromkeys(RAW_TABLES, 0) | {"orders": 1, "products": 3}
    result = load(duckdb_warehouse, path, *ALL_ARGS)
    assert "Kept as they were: raw.orders (1 rows)." in result.output


def test_the_command_is_named_load_products_and_requires_id_and_title(tmp_path):
    assert load_products_command.name == "load-products"
    path = write_csv(tmp_path, "catalogue.csv", GOOD_LINES)

    result = CliRunner().invoke(load_products_command, [str(path), "--id-col", "id"])

    assert result.exit_code != 0
    assert "--title-col" in result.output


def test_the_target_must_be_local_or_postgres(tmp_path):
    path = write_csv(tmp_path, "catalogue.csv", GOOD_LINES)

    result = CliRunner().invoke(load_products_command, [str(path), *ALL_ARGS, "--target", "prod"])

    assert result.exit_code != 0
    assert "'local'" in result.output
    assert "'postgres'" in result.output
