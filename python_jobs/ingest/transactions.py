"""`segments load-transactions`: a shop's transactions CSV into `raw.orders` and `raw.order_items`.

The file is read and checked whole before anything is written; one bad line (a missing column, a date or amount
that does not parse, an empty customer id, a value the warehouse cannot store) refuses the file with its name,
line and column, and the warehouse stays as it was. A good file replaces the raw orders and order lines in one
transaction.

Each CSV line becomes an order line. With `--order-col`, lines sharing an order id make one order (its total is
the sum of its lines, its time the earliest line's); without it, every line is an order of its own.

The file is read as a stream (`checked_csv`): each line's values are checked and kept in compact Arrow columns,
a chunk of lines at a time, so memory grows with the values kept, not with Python objects per line. What needs
every line (orders, duplicate lines, an order's total) is then computed on those columns.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from python_jobs.ingest.checked_csv import CheckedCsv
from python_jobs.ingest.raw_loading import LoadError, replace_raw_tables
from python_jobs.ingest.transaction_lines import CHUNK_LINES, MAX_AMOUNT, MAX_QUANTITY, TIMESTAMP, LineValues
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import RAW_TABLES

__all__ = [
    "MAX_AMOUNT",
    "MAX_QUANTITY",
    "LoadError",
    "TransactionColumns",
    "check_transactions",
    "read_transactions",
    "write_transactions",
]

ON_DUPLICATE = ("error", "keep", "drop")


@dataclass(frozen=True)
class TransactionColumns:
    customer: str
    date: str
    amount: str
    order: str | None = None
    quantity: str | None = None

    def wanted(self) -> list[str]:
        return list(
            dict.fromkeys(c for c in (self.customer, self.date, self.amount, self.order, self.quantity) if c)
        )


@dataclass
class DuplicateLines:
    """Groups of exact duplicate lines (every field equal as read), each group's lines in file order."""

    groups: list[list[int]] = field(default_factory=list)
    action: str = "error"

    @property
    def extra_lines(self) -> int:
        """Lines that repeat an earlier line: what `drop` leaves out."""
        return sum(len(group) - 1 for group in self.groups)

    def describe(self, limit: int = 3) -> str:
        pairs = [f"line {later} repeats line {group[0]}" for group in self.groups for later in group[1:]]
        shown = "; ".join(pairs[:limit]) + ("; …" if len(pairs) > limit else "")
        return f"{self.extra_lines:,} exact duplicate line(s) {self.action}: {shown}"


@dataclass
class CheckedTransactions:
    tables: dict[str, pa.Table]
    duplicates: DuplicateLines


def _constant(value: object, type_: pa.DataType, length: int) -> pa.ChunkedArray:
    """A column of one value, its chunks all views of one small buffer, so it costs no memory per row."""
    block = pa.array([value] * min(length, CHUNK_LINES), type_)
    whole, rest = divmod(length, CHUNK_LINES)
    return pa.chunked_array([block] * whole + ([block.slice(0, rest)] if rest else []), type_)


def _release_unused() -> None:
    """Hand the memory Arrow's allocator keeps for reuse back to the system: a chunk's temporaries are many and
    short-lived, and without this the allocator holds on to about as much again as the columns kept."""
    pa.default_memory_pool().release_unused()


def _read_lines(source: CheckedCsv, columns: TransactionColumns, date_format: str | None) -> pa.Table:
    values = LineValues(
        source, columns.customer, columns.date, columns.amount, columns.order, columns.quantity, date_format
    )
    chunks: list[pa.Table] = []
    for line, fields in source:
        values.add(line, fields)
        if len(values) >= CHUNK_LINES:
            chunks.append(values.take_chunk())
            if len(chunks) % 16 == 0:
                _release_unused()
    chunks.append(values.take_chunk())
    return pa.concat_tables(chunks)


def _duplicate_groups(lines: pa.Table, source_args: tuple) -> list[list[int]]:
    """Exact duplicates: lines with equal fingerprints, confirmed field by field on a second read of those lines."""
    fingerprints = np.sort(lines["fingerprint"].to_numpy())
    repeated = np.unique(fingerprints[1:][fingerprints[1:] == fingerprints[:-1]])
    del fingerprints
    if len(repeated) == 0:
        return []
    suspects = set(lines.filter(pc.is_in(lines["fingerprint"], pa.array(repeated)))["line"].to_pylist())
    equal: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for line, fields in CheckedCsv(*source_args):
        if line in suspects:
            equal[tuple(fields)].append(line)
    return sorted((group for group in equal.values() if len(group) > 1), key=lambda group: group[0])


def _group_orders(lines: pa.Table) -> pa.Table:
    """One row per order id, in the order of their first lines: its customer, whether all its lines name the
    same one (`one_customer`), its earliest time and its total. Grouped on dictionary indices with
    numpy, which needs a few bytes per line where a hash aggregation needs far more."""
    orders = pc.dictionary_encode(lines["order_id"]).combine_chunks()
    customers = pc.dictionary_encode(lines["customer_id"]).combine_chunks()
    order_of_line = orders.indices.to_numpy()
    customer_of_line = customers.indices.to_numpy()
    count = len(orders.dictionary)
    lowest = np.full(count, np.iinfo(np.int32).max, np.int32)
    highest = np.full(count, -1, np.int32)
    np.minimum.at(lowest, order_of_line, customer_of_line)
    np.maximum.at(highest, order_of_line, customer_of_line)
    earliest = np.full(count, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(earliest, order_of_line, lines["ordered_at"].cast(pa.int64()).to_numpy())
    first_customer = np.full(count, -1, np.int32)
    first_customer[order_of_line[::-1]] = customer_of_line[
        ::-1
    ]  # the last write wins: each order's first line
    return pa.table(
        {
            "order_id": orders.dictionary,
            "customer_id": customers.dictionary.take(pa.array(lowest)),  # its only one, unless refused below
            "one_customer": pa.array(lowest == highest),
            "ordered_at": pa.array(earliest).cast(TIMESTAMP),
            "order_total": pa.array(
                np.bincount(order_of_line, weights=lines["amount"].to_numpy(), minlength=count)
            ),
        }
    )


def _first_lines_where(lines: pa.Table, order_ids: pa.Array, columns: list[str]) -> list[dict]:
    """The lines of the given orders, in file order, as dicts of `columns` (a few orders at a refusal)."""
    picked = lines.filter(pc.is_in(lines["order_id"], order_ids)).select(["line", "order_id", *columns])
    return picked.sort_by("line").to_pylist()


def _check_orders(source: CheckedCsv, columns: TransactionColumns, lines: pa.Table, orders: pa.Table) -> None:
    """Across lines: an order belongs to one customer, and its total fits in the warehouse."""
    mixed = orders.filter(pc.invert(orders["one_customer"]))
    if mixed.num_rows:
        owner: dict[str, str] = {}
        for row in _first_lines_where(lines, mixed["order_id"], ["customer_id"]):
            first = owner.setdefault(row["order_id"], row["customer_id"])
            if row["customer_id"] != first:
                raise source.error(
                    row["line"],
                    columns.customer,
                    f"order {row['order_id']!r} belongs to customer {first!r} on an earlier line, "
                    f"not {row['customer_id']!r}",
                )
    too_large = orders.filter(pc.greater(pc.abs(orders["order_total"]), float(MAX_AMOUNT)))
    if too_large.num_rows:
        totals: dict[str, float] = defaultdict(float)
        for row in _first_lines_where(lines, too_large["order_id"], ["amount"]):
            totals[row["order_id"]] += row["amount"]
            if abs(totals[row["order_id"]]) > MAX_AMOUNT:
                raise source.error(
                    row["line"],
                    columns.amount,
                    f"order {row['order_id']!r} comes to {totals[row['order_id']]:,.2f} with this line, beyond "
                    f"the largest amount the warehouse stores (±{MAX_AMOUNT:,})",
                )


def check_transactions(
    path: Path,
    columns: TransactionColumns,
    *,
    date_format: str | None = None,
    delimiter: str = ",",
    on_duplicate: str = "error",
) -> CheckedTransactions:
    """Read and check the whole file; return the raw `orders` and `order_items` tables and the duplicate lines.

    `on_duplicate`: `error` refuses a file with exact duplicate lines, naming the first two; `keep` loads them
    as they are; `drop` loads each such line once.
    """
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate must be one of {ON_DUPLICATE}, got {on_duplicate!r}")
    source_args = (Path(path), delimiter, columns.wanted())
    source = CheckedCsv(*source_args)
    lines = _read_lines(source, columns, date_format)
    if lines.num_rows == 0:
        raise LoadError(f"{source.path}: no transactions after the header")

    action = {"keep": "kept", "drop": "dropped"}.get(on_duplicate, "refused")
    duplicates = DuplicateLines(_duplicate_groups(lines, source_args), action)
    if duplicates.groups:
        if on_duplicate == "error":
            first, second = duplicates.groups[0][:2]
            raise source.error(
                second,
                None,
                f"the same as line {first}, field for field ({duplicates.extra_lines:,} exact duplicate line(s) "
                "in the file); pass --on-duplicate keep to load them all, or drop to load each once",
            )
        if on_duplicate == "drop":
            dropped = [line for group in duplicates.groups for line in group[1:]]
            lines = lines.filter(pc.invert(pc.is_in(lines["line"], pa.array(dropped, pa.int64()))))

    lines = lines.drop_columns(["fingerprint"])
    _release_unused()
    orders = _group_orders(lines)
    _release_unused()
    _check_orders(source, columns, lines, orders)
    orders = pa.table(
        {
            "order_id": orders["order_id"],
            "customer_id": orders["customer_id"],
            "ordered_at": orders["ordered_at"],
            "order_status": _constant("completed", pa.string(), orders.num_rows),
            "sales_channel": _constant(None, pa.string(), orders.num_rows),
            "order_total": orders["order_total"],
        },
        schema=RAW_TABLES["orders"],
    )
    quantity = lines["quantity"]
    unit_price = pc.if_else(
        pc.equal(quantity, 0),
        lines["amount"],
        pc.divide(lines["amount"], pc.cast(quantity, pa.float64(), safe=False)),
    )
    items = pa.table(
        {
            "order_item_id": lines["order_item_id"],
            "order_id": lines["order_id"],
            "product_category": _constant(None, pa.string(), lines.num_rows),
            "quantity": quantity,
            "unit_price": unit_price,
            # A transactions export says nothing about discounts or returns: unknown (NULL), not "none".
            "discount_amount": _constant(None, pa.float64(), lines.num_rows),
            "is_returned": _constant(None, pa.bool_(), lines.num_rows),
        },
        schema=RAW_TABLES["order_items"],
    )
    del lines, quantity, unit_price
    _release_unused()
    return CheckedTransactions({"orders": orders, "order_items": items}, duplicates)


def read_transactions(
    path: Path,
    columns: TransactionColumns,
    *,
    date_format: str | None = None,
    delimiter: str = ",",
    on_duplicate: str = "error",
) -> dict[str, pa.Table]:
    """Parse and check the whole file; return the raw `orders` and `order_items` tables."""
    return check_transactions(
        path, columns, date_format=date_format, delimiter=delimiter, on_duplicate=on_duplicate
    ).tables


def write_transactions(warehouse: Warehouse, tables: dict[str, pa.Table]) -> dict[str, int]:
    """Replace the raw orders and lines in one transaction; the other raw tables are created empty if missing."""
    return replace_raw_tables(warehouse, tables)
