"""`segments load-products`: a shop's product catalogue CSV into `raw.products`.

The file is read and checked whole before anything is written; one bad line (a missing column, a product id that
is empty, longer than 256 characters, holds a control character or appears twice, an empty title, a price that
does not parse or is too large for the warehouse) refuses the file with its name, line and column, and the
warehouse stays as it was. A good file replaces `raw.products` in one transaction and creates the other raw
tables, empty, where they do not exist yet, so `segments build` has every source it reads.

Product ids are text, as catalogues have them (`B07XJ8C8F5`, `SKU-0042-BLK`, or a shop system's `42`), stored
trimmed and otherwise as written: `007` and `7` are two products, as they would be two SKUs. Only the id and the
title are required; the category, brand, price and description columns are optional, and an empty cell in them
loads as null. Values are stored trimmed; staging does the rest of the cleaning. The form of the file (encoding,
quoting, line breaks) is checked by `checked_csv`; only the description may span lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from python_jobs.ingest.checked_csv import CheckedCsv
from python_jobs.ingest.raw_loading import LoadError, replace_raw_tables
from python_jobs.ingest.transactions import MAX_AMOUNT
from python_jobs.product_segmentation.product_ids import id_problem
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import RAW_TABLES

PRODUCTS_TABLE = "products"
# A price is money like an amount: numeric(18, 2) in the warehouse, a double in the raw table.
MAX_PRICE = MAX_AMOUNT
# Plain ASCII numbers only: Python's float() would also take "1_000", "1e3", "inf" or other scripts' digits.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


@dataclass(frozen=True)
class ProductColumns:
    """The CSV column holding each field of `raw.products`; None for a field the file does not have."""

    id: str
    title: str
    category: str | None = None
    description: str | None = None
    brand: str | None = None
    price: str | None = None

    def wanted(self) -> list[str]:
        fields = (self.id, self.title, self.category, self.description, self.brand, self.price)
        return list(dict.fromkeys(name for name in fields if name))


def _optional_text(row: dict[str, str], column: str | None) -> str | None:
    if column is None:
        return None
    return row[column].strip() or None


def read_products(path: Path, columns: ProductColumns, delimiter: str = ",") -> pa.Table:
    """Parse and check the whole file; return the `raw.products` table."""
    text_columns = frozenset([columns.description]) if columns.description else frozenset()
    source = CheckedCsv(Path(path), delimiter, columns.wanted(), text_columns)
    position = source.position
    products: list[dict] = []
    first_line_of: dict[str, int] = {}
    for line, fields in source:
        row = {name: fields[index] for name, index in position.items()}

        product_id = row[columns.id].strip()
        problem = id_problem(product_id)
        if problem is not None:
            raise source.error(line, columns.id, problem)
        if product_id in first_line_of:
            raise source.error(
                line,
                columns.id,
                f"duplicate product id {product_id!r} (first on line {first_line_of[product_id]})",
            )
        first_line_of[product_id] = line

        title = row[columns.title].strip()
        if not title:
            raise source.error(line, columns.title, "empty title")

        price = None
        if columns.price:
            raw_price = row[columns.price].strip()
            if raw_price:
                if not _NUMBER.fullmatch(raw_price):
                    raise source.error(
                        line, columns.price, f"cannot parse price {raw_price!r} as a number (like 19.99)"
                    )
                if abs(Decimal(raw_price)) > MAX_PRICE:
                    raise source.error(
                        line,
                        columns.price,
                        f"price {raw_price!r} is beyond the largest the warehouse stores ({MAX_PRICE:,})",
                    )
                price = float(raw_price)

        products.append(
            {
                "product_id": product_id,
                "title": title,
                "category": _optional_text(row, columns.category),
                "brand": _optional_text(row, columns.brand),
                "price": price,
                "description": _optional_text(row, columns.description),
            }
        )
    if not products:
        raise LoadError(f"{source.path}: no products after the header")
    return pa.Table.from_pylist(products, schema=RAW_TABLES[PRODUCTS_TABLE])


def write_products(warehouse: Warehouse, table: pa.Table) -> dict[str, int]:
    """Replace `raw.products` in one transaction; the other raw tables are created empty if missing."""
    return replace_raw_tables(warehouse, {PRODUCTS_TABLE: table})
