"""`segments load-products`: a shop's product catalogue CSV into `raw.products`.

The file is read and checked whole before anything is written; one bad line (a missing column, a product id that
is not an integer or appears twice, an empty title, a price that does not parse) refuses the file with its name,
line and column, and the warehouse stays as it was. A good file replaces `raw.products` in one transaction and
creates the other raw tables, empty, where they do not exist yet, so `segments build` has every source it reads.

Only the id and the title are required; the category, brand, price and description columns are optional, and
an empty cell in them loads as null. Values are stored trimmed; staging does the rest of the cleaning.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from python_jobs.ingest.raw_loading import LoadError, replace_raw_tables
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import RAW_TABLES

PRODUCTS_TABLE = "products"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Plain ASCII numbers only: Python's int() and float() would also take "1_000", "1e3", "inf" or other scripts' digits.
_INTEGER = re.compile(r"[+-]?[0-9]+")
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
    path = Path(path)
    if not path.exists():
        raise LoadError(f"{path}: no such file")
    if len(delimiter) != 1:
        raise LoadError(f"--delimiter must be one character, got {delimiter!r}")

    products: list[dict] = []
    first_line_of: dict[int, int] = {}
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise LoadError(f"{path}: line {line}: not UTF-8 text (byte {data[error.start]:#04x})") from None
    with io.StringIO(text, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader, [])
        except csv.Error as error:
            raise LoadError(f"{path}: line 1: cannot read the header ({error})") from None
        missing = [name for name in columns.wanted() if name not in header]
        if missing:
            found = ", ".join(header) if header else "no header at all"
            raise LoadError(
                f"{path}: line 1: missing column {', '.join(repr(m) for m in missing)} (found: {found})"
            )
        position = {name: header.index(name) for name in columns.wanted()}
        while True:
            # A quoted description may span lines: a record is named by the line it starts on.
            line = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                raise LoadError(f"{path}: line {line}: {error}") from None
            if not fields:
                continue  # a blank line
            if len(fields) != len(header):
                raise LoadError(f"{path}: line {line}: expected {len(header)} fields, found {len(fields)}")
            row = {name: fields[index] for name, index in position.items()}

            def bad(column: str, problem: str, line: int = line) -> LoadError:
                return LoadError(f"{path}: line {line}, column {column!r}: {problem}")

            raw_id = row[columns.id].strip()
            if not raw_id:
                raise bad(columns.id, "empty product id")
            if not _INTEGER.fullmatch(raw_id):
                raise bad(columns.id, f"cannot parse product id {raw_id!r} as an integer")
            product_id = int(raw_id)
            if not _INT64_MIN <= product_id <= _INT64_MAX:
                raise bad(columns.id, f"product id {raw_id!r} does not fit in a 64-bit integer")
            if product_id in first_line_of:
                raise bad(
                    columns.id,
                    f"duplicate product id {product_id} (first on line {first_line_of[product_id]})",
                )
            first_line_of[product_id] = line

            title = row[columns.title].strip()
            if not title:
                raise bad(columns.title, "empty title")

            price = None
            if columns.price:
                raw_price = row[columns.price].strip()
                if raw_price:
                    if not _NUMBER.fullmatch(raw_price):
                        raise bad(columns.price, f"cannot parse price {raw_price!r} as a number (like 19.99)")
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
        raise LoadError(f"{path}: no products after the header")
    return pa.Table.from_pylist(products, schema=RAW_TABLES[PRODUCTS_TABLE])


def write_products(warehouse: Warehouse, table: pa.Table) -> dict[str, int]:
    """Replace `raw.products` in one transaction; the other raw tables are created empty if missing."""
    return replace_raw_tables(warehouse, {PRODUCTS_TABLE: table})
