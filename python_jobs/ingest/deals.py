"""`segments load-deals`: enriched programmatic deals, one JSON object a line, into `raw.deals`.

The file is read and checked whole before anything is written: a line that is not a JSON object, lacks a
required field, has a value of the wrong type or outside its allowed values, or repeats a deal id refuses the
file with its name and line, and the warehouse stays as it was. A good file replaces `raw.deals` in one
transaction.

Required: `deal_id` and `deal_name`. Everything else is optional (null when absent): `ssp`, `format`,
`taxonomy_tier1`..`taxonomy_tier3`, `concepts`, `inferred_audiences`, `publishers` (lists of strings),
`garm_risk_rating`, `family_safe` (true/false), `demographic_hint`, `quality_tier`, `volume_tier`, `floor_price`
(a number, CPM). Enums are matched case-insensitively and stored lower-case.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa

from python_jobs.ingest.raw_loading import LoadError, replace_raw_tables
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import (
    DEAL_FORMATS,
    DEAL_QUALITY_TIERS,
    DEAL_VOLUME_TIERS,
    GARM_RISK_RATINGS,
    RAW_TABLES,
)

DEALS_TABLE = "deals"
_TEXT_FIELDS = ("ssp", "taxonomy_tier1", "taxonomy_tier2", "taxonomy_tier3", "demographic_hint")
_LIST_FIELDS = ("concepts", "inferred_audiences", "publishers")
_ENUM_FIELDS = {
    "format": DEAL_FORMATS,
    "garm_risk_rating": GARM_RISK_RATINGS,
    "quality_tier": DEAL_QUALITY_TIERS,
    "volume_tier": DEAL_VOLUME_TIERS,
}
_MAX_FLOOR_PRICE = 10_000.0
_KNOWN = frozenset(RAW_TABLES[DEALS_TABLE].names)


def _refuse(path: Path, line: int, message: str) -> LoadError:
    return LoadError(f"{path}, line {line}: {message}")


def _deal(path: Path, line: int, record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise _refuse(path, line, "not a JSON object")
    deal: dict[str, Any] = dict.fromkeys(_KNOWN)
    for field in ("deal_id", "deal_name"):
        value = record.get(field)
        if not isinstance(value, str) or not value.strip():
            raise _refuse(path, line, f"`{field}` is missing or not a non-empty string")
        deal[field] = value.strip()
    for field in _TEXT_FIELDS:
        value = record.get(field)
        if value is not None and not isinstance(value, str):
            raise _refuse(path, line, f"`{field}` must be a string")
        deal[field] = value.strip() or None if isinstance(value, str) else None
    for field, allowed in _ENUM_FIELDS.items():
        value = record.get(field)
        if value is None:
            continue
        if not isinstance(value, str) or value.strip().lower() not in allowed:
            raise _refuse(path, line, f"`{field}` must be one of {', '.join(allowed)} (got {value!r:.40})")
        deal[field] = value.strip().lower()
    for field in _LIST_FIELDS:
        value = record.get(field)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise _refuse(path, line, f"`{field}` must be a list of strings")
        deal[field] = json.dumps([item.strip() for item in value if item.strip()])
    family_safe = record.get("family_safe")
    if family_safe is not None and not isinstance(family_safe, bool):
        raise _refuse(path, line, "`family_safe` must be true or false")
    deal["family_safe"] = family_safe
    price = record.get("floor_price")
    if price is not None:
        if isinstance(price, bool) or not isinstance(price, int | float) or not math.isfinite(price):
            raise _refuse(path, line, f"`floor_price` must be a number (got {price!r:.40})")
        if not 0 <= price <= _MAX_FLOOR_PRICE:
            raise _refuse(path, line, f"`floor_price` {price} is outside 0..{_MAX_FLOOR_PRICE:,.0f}")
        deal["floor_price"] = float(price)
    return deal


def read_deals(path: Path) -> pa.Table:
    """Parse and check the whole file; return the `raw.deals` table."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LoadError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise LoadError(f"{path}: not UTF-8 ({error.reason} at byte {error.start})") from None
    deals: list[dict[str, Any]] = []
    first_line_of: dict[str, int] = {}
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        try:
            record = json.loads(content)
        except json.JSONDecodeError as error:
            raise _refuse(path, line, f"not valid JSON ({error.msg} at column {error.colno})") from None
        deal = _deal(path, line, record)
        if deal["deal_id"] in first_line_of:
            raise _refuse(
                path,
                line,
                f"duplicate deal id {deal['deal_id']!r} (first on line {first_line_of[deal['deal_id']]})",
            )
        first_line_of[deal["deal_id"]] = line
        deals.append(deal)
    if not deals:
        raise LoadError(f"{path}: no deals in the file")
    return pa.Table.from_pylist(deals, schema=RAW_TABLES[DEALS_TABLE])


def write_deals(warehouse: Warehouse, table: pa.Table) -> dict[str, int]:
    """Replace `raw.deals` in one transaction; the other raw tables are created empty if missing."""
    return replace_raw_tables(warehouse, {DEALS_TABLE: table})
