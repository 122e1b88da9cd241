"""Web sessions and their events: visits around orders, page types by archetype."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from python_jobs.ingest.generate.accounts import MergePlan, Population, attribute_to_duplicates
from python_jobs.ingest.generate.archetypes import ARCHETYPES, archetype_column
from python_jobs.ingest.generate.draws import (
    draw_codes,
    draw_codes_by_group,
    poisson_by_group,
    segment_cumsum,
)
from python_jobs.ingest.generate.orders import Orders
from python_jobs.ingest.generate.window import (
    END_US,
    US_PER_HOUR,
    US_PER_SECOND,
    keep_in_window,
    sample_times,
)
from python_jobs.warehouse.raw_tables import (
    EVENT_TYPES,
    PAGE_TYPES,
)

DEVICE_PROBABILITIES = (0.45, 0.45, 0.10)

# Page types other than deals and guides, in the proportions every archetype shares.
_ORDINARY_PAGE_WEIGHTS = {
    "home": 0.22,
    "category": 0.20,
    "product": 0.33,
    "search": 0.15,
    "cart": 0.10,
}


@dataclass(frozen=True)
class WebEvents:
    session_identity: np.ndarray  # per session, chronological
    session_started_at: np.ndarray
    session_device: np.ndarray
    session: np.ndarray  # per event
    event_type: np.ndarray
    page_type: np.ndarray
    occurred_at: np.ndarray


def _page_type_table() -> np.ndarray:
    """Per archetype, the probability of each page type: deals and guides set, the rest shared."""
    table = np.zeros((len(ARCHETYPES), len(PAGE_TYPES)))
    ordinary_total = sum(_ORDINARY_PAGE_WEIGHTS.values())
    for code, archetype in enumerate(ARCHETYPES):
        remaining = 1.0 - archetype.deals_share - archetype.guide_share
        for page, weight in _ORDINARY_PAGE_WEIGHTS.items():
            table[code, PAGE_TYPES.index(page)] = remaining * weight / ordinary_total
        table[code, PAGE_TYPES.index("deals")] = archetype.deals_share
        table[code, PAGE_TYPES.index("guide")] = archetype.guide_share
    return table


def _session_start_times(
    rng: np.random.Generator, population: Population, orders: Orders, owner: np.ndarray
) -> np.ndarray:
    """Most visits of buyers lead up to (or follow) an order; the rest follow their calendar."""
    started_at = sample_times(rng, population.archetype[owner])
    # Leave room for the session's later events inside the window.
    started_at = np.where(started_at >= END_US - US_PER_HOUR, started_at - US_PER_HOUR, started_at)
    near_order = (orders.per_owner[owner] > 0) & (rng.random(len(owner)) < 0.6)
    order = orders.random_order_of(rng, owner[near_order])
    offset = ((rng.random(len(order)) * 50 - 48) * US_PER_HOUR).astype(np.int64)
    started_at[near_order] = keep_in_window(
        orders.ordered_at[order] + offset, started_at[near_order], margin_us=US_PER_HOUR
    )
    return started_at


def _session_counts(rng: np.random.Generator, population: Population) -> np.ndarray:
    """Visits per account: browsers visit at least once, looping accounts never."""
    counts = poisson_by_group(rng, population.archetype, archetype_column("sessions_mean"))
    counts = np.where(population.is_browser, np.maximum(counts, 1), counts)
    return np.where(population.is_cycle_account, 0, counts)


def _session_events(
    rng: np.random.Generator, session_archetype: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lay out each session's events: a start, page views, an add-to-cart after some product views.

    Returns per event its session, event type code and page type code, sessions one after another.
    """
    sessions = len(session_archetype)
    extra_views = poisson_by_group(rng, session_archetype, archetype_column("page_views_per_session") - 1)
    views_per_session = 1 + np.minimum(extra_views, 7)
    view_session = np.repeat(np.arange(sessions), views_per_session)
    view_archetype = session_archetype[view_session]
    view_page = draw_codes_by_group(rng, view_archetype, _page_type_table())
    adds_to_cart = (view_page == PAGE_TYPES.index("product")) & (
        rng.random(len(view_session)) < archetype_column("add_to_cart_rate")[view_archetype]
    )

    # Where each page view lands: after the session start and the earlier views and add-to-carts.
    events_per_view = 1 + adds_to_cart.astype(np.int64)
    events_per_session = 1 + np.bincount(view_session, weights=events_per_view, minlength=sessions).astype(
        np.int64
    )
    session_offset = np.cumsum(events_per_session) - events_per_session
    view_position = 1 + segment_cumsum(events_per_view, views_per_session) - events_per_view
    view_event = session_offset[view_session] + view_position
    cart_event = view_event[adds_to_cart] + 1

    events = int(events_per_session.sum())
    event_type = np.full(events, EVENT_TYPES.index("session_start"), dtype=np.int64)
    page_type = np.empty(events, dtype=np.int64)
    # A session starts on the page of its first view (the landing page).
    page_type[session_offset] = view_page[np.cumsum(views_per_session) - views_per_session]
    event_type[view_event] = EVENT_TYPES.index("page_view")
    page_type[view_event] = view_page
    event_type[cart_event] = EVENT_TYPES.index("add_to_cart")
    page_type[cart_event] = PAGE_TYPES.index("product")
    return np.repeat(np.arange(sessions), events_per_session), event_type, page_type


def _event_times(
    rng: np.random.Generator, started_at: np.ndarray, session: np.ndarray, event_type: np.ndarray
) -> np.ndarray:
    """Each event a few seconds to minutes after the previous one of its session."""
    is_start = event_type == EVENT_TYPES.index("session_start")
    gap_seconds = np.where(is_start, 0, rng.integers(5, 240, size=len(session)))
    events_per_session = np.bincount(session, minlength=len(started_at))
    return started_at[session] + segment_cumsum(gap_seconds, events_per_session) * US_PER_SECOND


def generate_web_events(
    rng: np.random.Generator, population: Population, orders: Orders, plan: MergePlan
) -> WebEvents:
    owner = np.repeat(np.arange(population.size), _session_counts(rng, population))
    started_at = _session_start_times(rng, population, orders, owner)
    chronological = np.argsort(started_at, kind="stable")
    owner, started_at = owner[chronological], started_at[chronological]
    identity = attribute_to_duplicates(rng, plan, owner, started_at)
    device = draw_codes(rng, DEVICE_PROBABILITIES, len(owner))
    session, event_type, page_type = _session_events(rng, population.archetype[owner])
    occurred_at = _event_times(rng, started_at, session, event_type)
    return WebEvents(identity, started_at, device, session, event_type, page_type, occurred_at)
