"""`segments load-transactions`: a shop's transactions CSV into `raw.orders` and `raw.order_items`.

The file is read and checked whole before anything is written; one bad line (a missing column, a date or amount
that does not parse, an empty customer id) refuses the file with its name, line and column, and the warehouse
stays as it was. A good file replaces the raw orders and order lines in one transaction.

Each CSV line becomes an order line. With `--order-col`, lines sharing an order id make one order (its total is
the sum of its lines, its time the earliest line's); without it, every line is an order of its own.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa

from python_jobs.ingest.raw_loading import LoadError, replace_raw_tables
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import RAW_TABLES


@dataclass(frozen=True)
class TransactionColumns:
    customer: str
    date: str
    amount: str
    order: str | None = None
    quantity: str | None = None


def _parse_timestamp(value: str, date_format: str | None) -> dt.datetime:
    parsed = dt.datetime.strptime(value, date_format) if date_format else dt.datetime.fromisoformat(value)
    # A time without a zone is taken as UTC, the warehouse's zone.
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def read_transactions(
    path: Path,
    columns: TransactionColumns,
    *,
    date_format: str | None = None,
    delimiter: str = ",",
) -> dict[str, pa.Table]:
    """Parse and check the whole file; return the raw `orders` and `order_items` tables."""
    if not path.exists():
        raise LoadError(f"{path}: no such file")
    if len(delimiter) != 1:
        raise LoadError(f"--delimiter must be one character, got {delimiter!r}")

    orders: dict[str, dict] = {}
    items: list[dict] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        header = reader.fieldnames or []
        wanted = [
            c for c in (columns.customer, columns.date, columns.amount, columns.order, columns.quantity) if c
        ]
        missing = [name for name in wanted if name not in header]
        if missing:
            found = ", ".join(header) if header else "no header at all"
            raise LoadError(
                f"{path}: line 1: missing column {', '.join(repr(m) for m in missing)} (found: {found})"
            )
        for row in reader:
            line = reader.line_num

            def bad(column: str, problem: str, line: int = line) -> LoadError:
                return LoadError(f"{path}: line {line}, column {column!r}: {problem}")

            extra_fields = row.get(None) or []
            missing_fields = sum(1 for key, value in row.items() if key is not None and value is None)
            if extra_fields or missing_fields:
                found = len(header) + len(extra_fields) - missing_fields
                raise LoadError(f"{path}: line {line}: expected {len(header)} fields, found {found}")
            customer_id = row[columns.customer].strip()
            if not customer_id:
                raise bad(columns.customer, "empty customer id")
            raw_date = row[columns.date].strip()
            try:
                ordered_at = _parse_timestamp(raw_date, date_format)
            except ValueError:
                expected = f"format {date_format!r}" if date_format else "ISO 8601 (or pass --date-format)"
                raise bad(columns.date, f"cannot parse date {raw_date!r} as {expected}") from None
            raw_amount = row[columns.amount].strip()
            try:
                amount = Decimal(raw_amount)
            except InvalidOperation:
                raise bad(columns.amount, f"cannot parse amount {raw_amount!r} as a number") from None
            if not amount.is_finite():
                raise bad(columns.amount, f"amount {raw_amount!r} is not a finite number")
            quantity = 1
            if columns.quantity:
                raw_quantity = row[columns.quantity].strip()
                try:
                    quantity = int(raw_quantity)
                except ValueError:
                    raise bad(
                        columns.quantity, f"cannot parse quantity {raw_quantity!r} as an integer"
                    ) from None

            order_id = row[columns.order].strip() if columns.order else f"line-{line}"
            if not order_id:
                raise bad(columns.order or "", "empty order id")
            order = orders.get(order_id)
            if order is None:
                orders[order_id] = {
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "ordered_at": ordered_at,
                    "order_status": "completed",
                    "sales_channel": None,
                    "order_total": amount,
                }
            else:
                if order["customer_id"] != customer_id:
                    raise bad(
                        columns.customer,
                        f"order {order_id!r} belongs to customer {order['customer_id']!r} on an earlier "
                        f"line, not {customer_id!r}",
                    )
                order["ordered_at"] = min(order["ordered_at"], ordered_at)
                order["order_total"] += amount
            items.append(
                {
                    "order_item_id": f"{order_id}#{line}",
                    "order_id": order_id,
                    "product_category": None,
                    "quantity": quantity,
                    "unit_price": float(amount / quantity) if quantity else float(amount),
                    "discount_amount": 0.0,
                    "is_returned": False,
                }
            )
    if not items:
        raise LoadError(f"{path}: no transactions after the header")
    for order in orders.values():
        order["order_total"] = float(order["order_total"])
    return {
        "orders": pa.Table.from_pylist(list(orders.values()), schema=RAW_TABLES["orders"]),
        "order_items": pa.Table.from_pylist(items, schema=RAW_TABLES["order_items"]),
    }


def write_transactions(warehouse: Warehouse, tables: dict[str, pa.Table]) -> dict[str, int]:
    """Replace the raw orders and lines in one transaction; the other raw tables are created empty if missing."""
    return replace_raw_tables(warehouse, tables)
