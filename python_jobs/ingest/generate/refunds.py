"""Refunds: money paid back for a line a customer bought and returned, recorded as an order of its own.

A refund comes some days after the purchase, under the same customer id, with a negative total and one line of
the same category with a negative quantity (the usual retail export) at the price per unit the customer paid.
Staging reads such an order as a refund and its line as a return (`is_refund`, `returned_value`); the purchased
line is flagged returned, so the return counts in the customer's return behaviour too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from python_jobs.ingest.generate.dirt import dirty_count
from python_jobs.ingest.generate.orders import Items, Orders
from python_jobs.ingest.generate.window import END_US, US_PER_DAY, US_PER_SECOND

# Of the returned lines of completed orders, the share paid back by a refund order of its own (the source system
# records the others only as a flag on the line).
REFUNDED_RETURN_SHARE = 0.03
_REFUND_DELAY_DAYS = (3, 30)


@dataclass(frozen=True)
class Refunds:
    """One refund order per row, each paying back one purchased line."""

    item: np.ndarray  # the purchased line (item row) it pays back
    refunded_at: np.ndarray
    quantity: np.ndarray  # units paid back, positive
    unit_refund: np.ndarray  # money paid back per unit: what the customer paid per unit

    @property
    def value(self) -> np.ndarray:
        return np.round(self.quantity * self.unit_refund, 2)


def plan_refunds(
    rng: np.random.Generator,
    orders: Orders,
    items: Items,
    is_completed_order: np.ndarray,
    guaranteed: bool,
) -> Refunds:
    """Pick returned lines of completed orders to pay back; refunds fall inside the window."""
    low, high = _REFUND_DELAY_DAYS
    delay = (low + rng.random(len(items.order)) * (high - low)) * US_PER_DAY
    refunded_at = (orders.ordered_at[items.order] + delay.astype(np.int64)) // US_PER_SECOND * US_PER_SECOND
    candidates = np.flatnonzero(items.is_returned & is_completed_order[items.order] & (refunded_at < END_US))
    count = min(len(candidates), dirty_count(len(candidates), REFUNDED_RETURN_SHARE, guaranteed))
    item = np.sort(rng.choice(candidates, size=count, replace=False))
    # Part of a line of several units may come back.
    quantity = 1 + (rng.random(count) * items.quantity[item]).astype(np.int64)
    paid = items.quantity[item] * items.unit_price[item] - items.discount_amount[item]
    unit_refund = np.round(paid / items.quantity[item], 2)
    return Refunds(item, refunded_at[item], quantity, unit_refund)
