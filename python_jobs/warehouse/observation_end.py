"""`--observation-end` checked against the loaded orders before anything is rebuilt.

A date before the first order would rebuild every customer mart to zero rows and leave the clustering job with
nothing to fit, so the build refuses it before its first step. A date far past the last order is allowed (a
shop may really have gone quiet) but warned about loudly: every customer then looks lapsed.
"""

from __future__ import annotations

import datetime as dt

from python_jobs.warehouse.connection import Warehouse, WarehouseError

# Past this many days after the last order, an observation_end is most likely a typo.
FAR_PAST_LAST_ORDER_DAYS = 365


class ObservationEndError(ValueError):
    """The requested observation_end cannot give meaningful profiles; the message says why and what to do."""


def order_date_range(warehouse: Warehouse) -> tuple[dt.date, dt.date] | None:
    """The first and last order dates (UTC) in raw.orders, leaving out orders dated after now (staging sets
    those aside); None when there are no dated orders."""
    try:
        with warehouse.session(read_only=True) as session:
            if not session.table_exists("raw", "orders"):
                return None
            row = session.fetch_arrow(
                "select min(ordered_at) as first_order, max(ordered_at) as last_order from raw.orders "
                "where ordered_at is not null and ordered_at <= current_timestamp"
            ).to_pylist()[0]
    except WarehouseError:  # no warehouse yet: the build itself says so
        return None
    if row["first_order"] is None:
        return None
    return _utc_date(row["first_order"]), _utc_date(row["last_order"])


def _utc_date(value: dt.datetime) -> dt.date:
    return (value.astimezone(dt.UTC) if value.tzinfo else value).date()


def check_observation_end(warehouse: Warehouse, observation_end: str | None) -> list[str]:
    """Raise ObservationEndError for a date before the first order; return warnings (a date far past the last
    order). No date, or no orders yet, is nothing to check."""
    if not observation_end:
        return []
    dates = order_date_range(warehouse)
    if dates is None:
        return []
    first, last = dates
    end = dt.date.fromisoformat(observation_end)
    if end < first:
        raise ObservationEndError(
            f"--observation-end {end.isoformat()} is before the first order in the data ({first.isoformat()}): "
            "every customer mart would be empty. Choose a date from "
            f"{first.isoformat()} to {last.isoformat()} (the last order), or leave it out to use the last order date."
        )
    if (end - last).days > FAR_PAST_LAST_ORDER_DAYS:
        return [
            f"--observation-end {end.isoformat()} is {(end - last).days:,} days after the last order in the data "
            f"({last.isoformat()}): every customer will look lapsed. Leave it out to use the last order date."
        ]
    return []
