"""Support tickets: how often, through which channel, how hard and how fast resolved."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from python_jobs.ingest.generate.accounts import MergePlan, Population, attribute_to_duplicates
from python_jobs.ingest.generate.archetypes import ARCHETYPES, archetype_column
from python_jobs.ingest.generate.draws import draw_codes, draw_codes_by_group, poisson_by_group
from python_jobs.ingest.generate.orders import Orders
from python_jobs.ingest.generate.window import (
    END_US,
    US_PER_DAY,
    US_PER_HOUR,
    US_PER_SECOND,
    keep_in_window,
    sample_times,
)
from python_jobs.warehouse.raw_tables import CONTACT_CHANNELS

TOPIC_PROBABILITIES = (0.30, 0.22, 0.22, 0.14, 0.12)

_COMPLEXITY_HOURS_FACTOR = (0.5, 1.0, 2.5)  # low, medium, high
_PREFERRED_CHANNEL_PROBABILITY = 0.7


@dataclass(frozen=True)
class Tickets:
    identity: np.ndarray
    opened_at: np.ndarray
    resolved_at: np.ndarray
    is_unresolved: np.ndarray
    channel: np.ndarray
    complexity: np.ndarray
    topic: np.ndarray
    satisfaction: np.ndarray
    has_satisfaction: np.ndarray


def _channel_table() -> np.ndarray:
    others = (1 - _PREFERRED_CHANNEL_PROBABILITY) / (len(CONTACT_CHANNELS) - 1)
    table = np.full((len(ARCHETYPES), len(CONTACT_CHANNELS)), others)
    for code, archetype in enumerate(ARCHETYPES):
        table[code, CONTACT_CHANNELS.index(archetype.preferred_channel)] = _PREFERRED_CHANNEL_PROBABILITY
    return table


def _ticket_open_times(
    rng: np.random.Generator, population: Population, orders: Orders, owner: np.ndarray
) -> np.ndarray:
    """Most tickets follow an order by a few days (late, broken); the rest come any time."""
    opened_at = sample_times(rng, population.archetype[owner])
    after_order = (orders.per_owner[owner] > 0) & (rng.random(len(owner)) < 0.75)
    order = orders.random_order_of(rng, owner[after_order])
    delay = ((0.5 + rng.random(len(order)) * 20) * US_PER_DAY).astype(np.int64)
    opened_at[after_order] = keep_in_window(orders.ordered_at[order] + delay, opened_at[after_order])
    return opened_at


def generate_tickets(
    rng: np.random.Generator, population: Population, orders: Orders, plan: MergePlan
) -> Tickets:
    per_owner = poisson_by_group(rng, population.archetype, archetype_column("tickets_mean"))
    per_owner[population.is_cycle_account] = 0
    owner = np.repeat(np.arange(population.size), per_owner)
    opened_at = _ticket_open_times(rng, population, orders, owner)
    chronological = np.argsort(opened_at, kind="stable")
    owner, opened_at = owner[chronological], opened_at[chronological]
    archetype = population.archetype[owner]
    identity = attribute_to_duplicates(rng, plan, owner, opened_at)

    channel = draw_codes_by_group(rng, archetype, _channel_table())
    complexity = draw_codes_by_group(rng, archetype, np.array(archetype_column("complexity_mix")))
    topic = draw_codes(rng, TOPIC_PROBABILITIES, len(owner))
    median_hours = (
        archetype_column("resolution_hours")[archetype] * np.array(_COMPLEXITY_HOURS_FACTOR)[complexity]
    )
    hours = rng.lognormal(np.log(median_hours), 0.6)
    resolved_at = opened_at + (hours * US_PER_HOUR).astype(np.int64) // US_PER_SECOND * US_PER_SECOND
    # Still open: some stalled, and anything not resolved by the end of the window.
    is_unresolved = (rng.random(len(owner)) < 0.05) | (resolved_at >= END_US)

    # Only some customers answer the survey; slow answers make for unhappy ones.
    has_satisfaction = ~is_unresolved & (rng.random(len(owner)) < 0.6)
    score = 4.2 - 0.45 * np.log(hours / 12) + rng.normal(0, 0.9, size=len(owner))
    satisfaction = np.clip(np.round(score), 1, 5).astype(np.int64)
    return Tickets(
        identity=identity,
        opened_at=opened_at,
        resolved_at=resolved_at,
        is_unresolved=is_unresolved,
        channel=channel,
        complexity=complexity,
        topic=topic,
        satisfaction=satisfaction,
        has_satisfaction=has_satisfaction,
    )
