"""The generated behaviour as Arrow tables in the raw contract's columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from python_jobs.ingest.generate.accounts import MergePlan, Population
from python_jobs.ingest.generate.dirt import (
    NULL_CUSTOMER_SHARE,
    messy_enum,
    random_rows,
    with_stray_spaces,
)
from python_jobs.ingest.generate.draws import draw_codes
from python_jobs.ingest.generate.orders import Categories, Items, Orders, order_totals
from python_jobs.ingest.generate.refunds import plan_refunds
from python_jobs.ingest.generate.support import Tickets
from python_jobs.ingest.generate.web import WebEvents
from python_jobs.ingest.generate.window import US_PER_DAY, US_PER_SECOND
from python_jobs.warehouse.raw_tables import (
    COMPLEXITIES,
    CONTACT_CHANNELS,
    DEVICE_TYPES,
    EVENT_TYPES,
    ORDER_STATUSES,
    PAGE_TYPES,
    RAW_TABLES,
    SALES_CHANNELS,
    TICKET_TOPICS,
)

ORDER_STATUS_PROBABILITIES = (0.96, 0.03, 0.01)
SALES_CHANNEL_PROBABILITIES = (0.55, 0.33, 0.12)
COUNTRY_CODES = ("US", "GB", "DE", "FR", "NL", "ES", "IT", "CA", "AU", "SE", "PL", "BE")
COUNTRY_PROBABILITIES = (0.30, 0.14, 0.12, 0.09, 0.06, 0.06, 0.06, 0.05, 0.04, 0.03, 0.03, 0.02)
ACQUISITION_CHANNELS = ("organic", "paid_search", "social", "referral", "email")
ACQUISITION_PROBABILITIES = (0.35, 0.25, 0.20, 0.10, 0.10)
EMAIL_DOMAINS = ("example.com", "mail.example", "inbox.example", "post.example")
MARKETING_OPT_IN_RATE = 0.55


def _format_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _timestamps(micros: np.ndarray, is_null: np.ndarray | None = None) -> pa.Array:
    return pa.array(micros, type=pa.timestamp("us", tz="UTC"), mask=is_null)


def _activity_customer_ids(
    rng: np.random.Generator,
    identity_ids: pa.Array,
    identity: np.ndarray,
    is_null: np.ndarray | None,
) -> pa.Array:
    ids = identity_ids.take(pa.array(identity, mask=is_null))
    return with_stray_spaces(rng, ids)


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    schema = RAW_TABLES[name]
    return pa.Table.from_arrays([columns[field.name] for field in schema], schema=schema)


def identity_id_column(population: Population, plan: MergePlan) -> pa.Array:
    """Real customers C00000000…, looping accounts X00000001…, then duplicates D00000001…."""
    cycle_accounts = population.size - population.customers
    return pa.concat_arrays(
        [
            _format_ids("C", np.arange(population.customers), 8),
            _format_ids("X", np.arange(1, cycle_accounts + 1), 8),
            _format_ids("D", np.arange(1, plan.duplicates + 1), 8),
        ]
    )


def first_activity_times(
    identities: int, plan: MergePlan, orders: Orders, web: WebEvents, tickets: Tickets
) -> np.ndarray:
    """Each account's first trace: an order, a visit, a ticket, or the day before its merge."""
    first = np.full(identities, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, orders.identity, orders.ordered_at)
    np.minimum.at(first, web.session_identity, web.session_started_at)
    np.minimum.at(first, tickets.identity, tickets.opened_at)
    np.minimum.at(first, plan.source, plan.merged_at - US_PER_DAY)
    # The original account is the oldest: it signed up before anything the person did elsewhere.
    np.minimum.at(first, plan.duplicate_owner, first[len(first) - plan.duplicates :])
    return first


def customers_table(
    rng: np.random.Generator,
    population: Population,
    plan: MergePlan,
    identity_ids: pa.Array,
    first_activity: np.ndarray,
) -> pa.Table:
    identities = len(identity_ids)
    is_duplicate = np.arange(identities) >= population.size
    # A duplicate account is the same person: same country, and an e-mail address they tagged.
    person = np.arange(identities)
    person[is_duplicate] = plan.duplicate_owner
    country = draw_codes(rng, COUNTRY_PROBABILITIES, identities)[person]
    suffix = pc.if_else(
        pa.array(is_duplicate),
        pc.binary_join_element_wise("+", pc.utf8_lower(identity_ids), ""),
        "",
    )
    domain = pa.array(EMAIL_DOMAINS).take(pa.array(rng.integers(0, len(EMAIL_DOMAINS), identities)))
    local_part = pc.utf8_lower(identity_ids.take(pa.array(person)))
    email = pc.binary_join_element_wise(local_part, suffix, "@", domain, "")

    # People sign up right before they first do something, or a little earlier.
    lag = np.where(rng.random(identities) < 0.35, 0.0, rng.exponential(7 * US_PER_DAY, identities))
    signed_up_at = (first_activity - lag.astype(np.int64)) // US_PER_SECOND * US_PER_SECOND
    return _table(
        "customers",
        {
            "customer_id": identity_ids,
            "email": email,
            "signed_up_at": _timestamps(signed_up_at),
            "country_code": pa.array(COUNTRY_CODES).take(pa.array(country)),
            "acquisition_channel": pa.array(ACQUISITION_CHANNELS).take(
                pa.array(draw_codes(rng, ACQUISITION_PROBABILITIES, identities))
            ),
            "marketing_opt_in": pa.array(rng.random(identities) < MARKETING_OPT_IN_RATE),
        },
    )


def merges_table(plan: MergePlan, identity_ids: pa.Array) -> pa.Table:
    chronological = np.argsort(plan.merged_at, kind="stable")
    return _table(
        "customer_id_merges",
        {
            "merge_id": pa.array(np.arange(1, len(chronological) + 1), pa.int64()),
            "source_customer_id": identity_ids.take(pa.array(plan.source[chronological])),
            "target_customer_id": identity_ids.take(pa.array(plan.target[chronological])),
            "merged_at": _timestamps(plan.merged_at[chronological]),
        },
    )


def orders_and_items_tables(
    rng: np.random.Generator,
    orders: Orders,
    items: Items,
    categories: Categories,
    identity_ids: pa.Array,
    guaranteed_dirt: bool,
) -> tuple[pa.Table, pa.Table]:
    """Purchases and refund orders in one table, in time order (ids grow with time), and their lines."""
    purchase_count = len(orders.owner)
    status = draw_codes(rng, ORDER_STATUS_PROBABILITIES, purchase_count)
    refunds = plan_refunds(rng, orders, items, status == ORDER_STATUSES.index("completed"), guaranteed_dirt)
    refund_count = len(refunds.item)
    refund_order = items.order[refunds.item]

    ordered_at = np.concatenate([orders.ordered_at, refunds.refunded_at])
    chronological = np.argsort(ordered_at, kind="stable")
    row_of = np.empty_like(chronological)
    row_of[chronological] = np.arange(len(chronological))
    order_count = purchase_count + refund_count
    order_ids = _format_ids("O", np.arange(1, order_count + 1), 9)

    identity = np.concatenate([orders.identity, orders.identity[refund_order]])[chronological]
    status = np.concatenate([status, np.full(refund_count, ORDER_STATUSES.index("refunded"))])[chronological]
    order_total = np.concatenate([order_totals(items, purchase_count), -refunds.value])[chronological]
    orders_table = _table(
        "orders",
        {
            "order_id": order_ids,
            "customer_id": _activity_customer_ids(
                rng,
                identity_ids,
                identity,
                random_rows(rng, order_count, NULL_CUSTOMER_SHARE, guaranteed_dirt),
            ),
            "ordered_at": _timestamps(ordered_at[chronological]),
            "order_status": messy_enum(rng, status, ORDER_STATUSES),
            "sales_channel": messy_enum(
                rng, draw_codes(rng, SALES_CHANNEL_PROBABILITIES, order_count), SALES_CHANNELS
            ),
            "order_total": pa.array(order_total),
        },
    )

    # A refund line: the purchased line's category, the units paid back as a negative quantity.
    item_order = row_of[np.concatenate([items.order, purchase_count + np.arange(refund_count)])]
    in_order = np.argsort(item_order, kind="stable")
    item_count = len(item_order)
    items_table = _table(
        "order_items",
        {
            "order_item_id": _format_ids("I", np.arange(1, item_count + 1), 10),
            "order_id": order_ids.take(pa.array(item_order[in_order])),
            "product_category": pa.array(categories.names).take(
                pa.array(np.concatenate([items.category, items.category[refunds.item]])[in_order])
            ),
            "quantity": pa.array(np.concatenate([items.quantity, -refunds.quantity])[in_order], pa.int64()),
            "unit_price": pa.array(np.concatenate([items.unit_price, refunds.unit_refund])[in_order]),
            "discount_amount": pa.array(
                np.concatenate([items.discount_amount, np.zeros(refund_count)])[in_order]
            ),
            "is_returned": pa.array(
                np.concatenate([items.is_returned, np.ones(refund_count, bool)])[in_order]
            ),
        },
    )
    return orders_table, items_table


def web_events_table(
    rng: np.random.Generator, web: WebEvents, identity_ids: pa.Array, guaranteed_dirt: bool
) -> pa.Table:
    events = len(web.session)
    session_ids = _format_ids("S", np.arange(1, len(web.session_identity) + 1), 9)
    return _table(
        "web_events",
        {
            "event_id": _format_ids("E", np.arange(1, events + 1), 10),
            "customer_id": _activity_customer_ids(
                rng,
                identity_ids,
                web.session_identity[web.session],
                random_rows(rng, events, NULL_CUSTOMER_SHARE, guaranteed_dirt),
            ),
            "session_id": session_ids.take(pa.array(web.session)),
            "event_type": messy_enum(rng, web.event_type, EVENT_TYPES),
            "page_type": messy_enum(rng, web.page_type, PAGE_TYPES),
            "device_type": messy_enum(rng, web.session_device[web.session], DEVICE_TYPES),
            "occurred_at": _timestamps(web.occurred_at),
        },
    )


def support_tickets_table(rng: np.random.Generator, tickets: Tickets, identity_ids: pa.Array) -> pa.Table:
    count = len(tickets.identity)
    return _table(
        "support_tickets",
        {
            "ticket_id": _format_ids("T", np.arange(1, count + 1), 9),
            "customer_id": _activity_customer_ids(rng, identity_ids, tickets.identity, None),
            "opened_at": _timestamps(tickets.opened_at),
            "resolved_at": _timestamps(tickets.resolved_at, tickets.is_unresolved),
            "contact_channel": messy_enum(rng, tickets.channel, CONTACT_CHANNELS),
            "complexity": messy_enum(rng, tickets.complexity, COMPLEXITIES),
            "topic": messy_enum(rng, tickets.topic, TICKET_TOPICS),
            "satisfaction_score": pa.array(tickets.satisfaction, pa.int64(), mask=~tickets.has_satisfaction),
        },
    )
