"""Warehouse values as JSON has them."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any


def plain(value: Any) -> Any:
    """Decimals as floats, dates and times as ISO strings, the rest unchanged."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value
