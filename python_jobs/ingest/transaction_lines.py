"""The values of a transactions file's lines, checked a chunk of lines at a time into Arrow columns.

Each line's raw fields are collected as they are read; at the end of a chunk the plain, common forms (an id of
printable characters, an amount like `12.50`, an ISO 8601 time like `2024-03-01T10:00:00+01:00`, a quantity
like `3`) are checked and converted by Arrow in one go. Anything else (an unusual but valid form such as
`1_000` or `2024-W09-5`, or a bad value) goes through the Python checks, one value at a time, which have the
last word: they convert it or refuse the file, naming the line and column, checking a line's columns in the
order customer, date, amount, quantity, order.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from python_jobs.ingest.checked_csv import MAX_ID_CHARACTERS, CheckedCsv, control_character

# The warehouse keeps money as numeric(18, 2) and the raw tables as double precision: up to 10^12 an amount
# keeps its cents exactly through the double, and even thousands of such amounts summed still fit numeric(18, 2).
MAX_AMOUNT = Decimal("999999999999.99")
# Quantities are counts: a 32-bit range, so that even their sums over many lines stay in the warehouse's bigint.
MAX_QUANTITY = 2**31 - 1
CHUNK_LINES = 16_384
TIMESTAMP = pa.timestamp("us", tz="UTC")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_MICROSECOND = dt.timedelta(microseconds=1)
_PLAIN_ID = rf"^[^\x00-\x1f\x7f-\x9f]{{1,{MAX_ID_CHARACTERS}}}$"
_PLAIN_AMOUNT = r"^[+-]?(?:[0-9]{1,11}(?:\.[0-9]*)?|\.[0-9]+)$"  # below 10^11: no rounding question
_PLAIN_QUANTITY = r"^[+-]?[0-9]{1,9}$"
_ISO_DATE = r"^(?:19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}"  # far-off years go through Python's range checks
_ISO_TIME = r"(?:[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?)"
_PLAIN_NAIVE_TIME = f"{_ISO_DATE}{_ISO_TIME}?$"
_PLAIN_ZONED_TIME = f"{_ISO_DATE}{_ISO_TIME}(?:Z|[+-][0-9]{{2}}:[0-9]{{2}})$"


def parse_timestamp(value: str, date_format: str | None) -> dt.datetime:
    parsed = dt.datetime.strptime(value, date_format) if date_format else dt.datetime.fromisoformat(value)
    # A time without a zone is taken as UTC, the warehouse's zone.
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


class LineValues:
    """Collects lines (`add`), and turns each chunk of them into checked Arrow columns (`take_chunk`)."""

    def __init__(
        self,
        source: CheckedCsv,
        customer: str,
        date: str,
        amount: str,
        order: str | None,
        quantity: str | None,
        date_format: str | None,
    ) -> None:
        self.source, self.date_format = source, date_format
        self.names = {
            "customer": customer,
            "date": date,
            "amount": amount,
            "order": order,
            "quantity": quantity,
        }
        self.at = {key: source.position[name] for key, name in self.names.items() if name}
        self.dates: dict[str, dt.datetime] = {}
        self._ones = pa.array(
            np.ones(CHUNK_LINES, np.int64)
        )  # the quantity without a column: one buffer for all
        self._reset()

    def _reset(self) -> None:
        self.lines: list[int] = []
        self.raw: dict[str, list[str]] = {key: [] for key in self.at}
        self.fingerprints: list[int] = []

    def __len__(self) -> int:
        return len(self.lines)

    def add(self, line: int, fields: list[str]) -> None:
        self.lines.append(line)
        for key, index in self.at.items():
            self.raw[key].append(fields[index])
        self.fingerprints.append(hash(tuple(fields)))

    # ------------------------------------------------------------------------------ one value, in Python

    def error(self, line: int, key: str, problem: str):
        return self.source.error(line, self.names[key] or "", problem)

    def check_id(self, line: int, key: str, value: str, what: str) -> str:
        if not value:
            raise self.error(line, key, f"empty {what}")
        if len(value) > MAX_ID_CHARACTERS:
            raise self.error(
                line, key, f"{what} of {len(value):,} characters, longer than the {MAX_ID_CHARACTERS} allowed"
            )
        if (control := control_character(value)) is not None:
            raise self.error(line, key, f"{what} {value[:40]!r} holds a control character ({control})")
        return value

    def date(self, line: int, raw: str) -> dt.datetime:
        parsed = self.dates.get(raw)
        if parsed is not None:
            return parsed
        try:
            parsed = parse_timestamp(raw, self.date_format)
        except (ValueError, OverflowError):
            fmt = self.date_format
            expected = f"format {fmt!r}" if fmt else "ISO 8601 (or pass --date-format)"
            raise self.error(line, "date", f"cannot parse date {raw!r} as {expected}") from None
        if len(self.dates) >= 8_192:  # exports repeat dates: a date-only file has a few hundred
            self.dates.clear()
        self.dates[raw] = parsed
        return parsed

    def amount(self, line: int, raw: str) -> float:
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise self.error(line, "amount", f"cannot parse amount {raw!r} as a number") from None
        if not value.is_finite():
            raise self.error(line, "amount", f"amount {raw!r} is not a finite number")
        if abs(value) > MAX_AMOUNT:
            raise self.error(
                line, "amount", f"amount {raw!r} is beyond the largest the warehouse stores (±{MAX_AMOUNT:,})"
            )
        return float(value)

    def quantity(self, line: int, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise self.error(line, "quantity", f"cannot parse quantity {raw!r} as an integer") from None
        if abs(value) > MAX_QUANTITY:
            raise self.error(
                line, "quantity", f"quantity {raw!r} is beyond the largest allowed ({MAX_QUANTITY:,})"
            )
        return value

    def check_line(self, line: int, values: dict[str, str]) -> dict[str, object]:
        """All of one line's values through the Python checks, in the order a person reads the message."""
        checked: dict[str, object] = {
            "customer": self.check_id(line, "customer", values["customer"], "customer id")
        }
        checked["date"] = self.date(line, values["date"])
        checked["amount"] = self.amount(line, values["amount"])
        if "quantity" in values:
            checked["quantity"] = self.quantity(line, values["quantity"])
        if "order" in values:
            checked["order"] = self.check_id(line, "order", values["order"], "order id")
        return checked

    # ------------------------------------------------------------------------------ a chunk, in Arrow

    def _dates_in_arrow(self, raw: pa.Array) -> tuple[pa.Array, pa.Array]:
        """The plain ISO times converted; returns (timestamps with zeros where not plain, plain mask)."""
        if self.date_format:
            # strptime in Python, once per distinct value of the chunk; values that fail go the Python way.
            distinct, micros = [], []
            for value in pc.unique(raw).to_pylist():
                try:
                    parsed = parse_timestamp(value, self.date_format)
                except (ValueError, OverflowError):
                    continue
                distinct.append(value)
                micros.append((parsed - _EPOCH) // _ONE_MICROSECOND)
            position = pc.index_in(raw, pa.array(distinct, pa.string()))
            found = pc.is_valid(position)
            times = pa.array(micros, pa.int64()).take(pc.fill_null(position, 0)) if micros else None
            if times is None:
                times = pa.array(np.zeros(len(raw), np.int64))
            return times.cast(TIMESTAMP), found
        naive = pc.match_substring_regex(raw, _PLAIN_NAIVE_TIME)
        zoned = pc.match_substring_regex(raw, _PLAIN_ZONED_TIME)
        filler = pa.scalar("1970-01-01")
        try:
            as_naive = pc.cast(pc.if_else(naive, raw, filler), pa.timestamp("us")).cast(TIMESTAMP)
            as_zoned = pc.cast(pc.if_else(zoned, raw, pa.scalar("1970-01-01T00:00:00Z")), TIMESTAMP)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # Looks plain but is not a date (2024-02-30): the Python checks find and name it.
            return pa.array(np.zeros(len(raw), np.int64)).cast(TIMESTAMP), pa.array(np.zeros(len(raw), bool))
        return pc.if_else(naive, as_naive, as_zoned), pc.or_(naive, zoned)

    def take_chunk(self) -> pa.Table:
        lines = pa.array(self.lines, pa.int64())
        raw = {
            key: pc.utf8_trim_whitespace(pa.array(values, pa.string())) for key, values in self.raw.items()
        }
        plain = pc.match_substring_regex(raw["customer"], _PLAIN_ID)
        if "order" in raw:
            plain = pc.and_(plain, pc.match_substring_regex(raw["order"], _PLAIN_ID))
        times, plain_date = self._dates_in_arrow(raw["date"])
        plain = pc.and_(plain, plain_date)
        plain_amount = pc.match_substring_regex(raw["amount"], _PLAIN_AMOUNT)
        plain = pc.and_(plain, plain_amount)
        amounts = pc.cast(pc.if_else(plain_amount, raw["amount"], pa.scalar("0")), pa.float64())
        quantities = None
        if "quantity" in raw:
            plain_quantity = pc.match_substring_regex(raw["quantity"], _PLAIN_QUANTITY)
            plain = pc.and_(plain, plain_quantity)
            quantities = pc.cast(pc.if_else(plain_quantity, raw["quantity"], pa.scalar("1")), pa.int64())

        others = np.flatnonzero(~plain.to_numpy(zero_copy_only=False))
        if len(others):
            # The rare values in other forms, or bad ones: Python decides, line by line in file order.
            times_us = times.cast(pa.int64()).to_numpy().copy()
            amounts_np = amounts.to_numpy().copy()
            quantities_np = quantities.to_numpy().copy() if quantities is not None else None
            for index in others:
                values = {key: column[index].as_py() for key, column in raw.items()}
                checked = self.check_line(self.lines[index], values)
                times_us[index] = (checked["date"] - _EPOCH) // _ONE_MICROSECOND
                amounts_np[index] = checked["amount"]
                if quantities_np is not None:
                    quantities_np[index] = checked["quantity"]
            times = pa.array(times_us).cast(TIMESTAMP)
            amounts = pa.array(amounts_np)
            quantities = pa.array(quantities_np) if quantities_np is not None else None

        if "order" in raw:
            order_ids = raw["order"]
        else:
            order_ids = pc.binary_join_element_wise("line-", pc.cast(lines, pa.string()), "")
        chunk = pa.table(
            {
                "line": lines,
                "order_item_id": pc.binary_join_element_wise(order_ids, pc.cast(lines, pa.string()), "#"),
                "order_id": order_ids,
                "customer_id": raw["customer"],
                "ordered_at": times,
                "amount": amounts,
                "quantity": quantities if quantities is not None else self._ones.slice(0, len(lines)),
                "fingerprint": pa.array(self.fingerprints, pa.int64()),
            }
        )
        self._reset()
        return chunk
