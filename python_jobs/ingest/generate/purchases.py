"""When customers buy: a BG/NBD-like purchase process, with customers who drop out for good.

A customer makes a first purchase at a random point of the window. While active they buy again as a Poisson
process at a rate of their own, gamma-distributed across the customers of an archetype. After each repeat purchase
they drop out for good with a probability of their own, beta-distributed across the archetype's customers. As in
BG/NBD (Fader, Hardie & Lee 2005), nobody drops out before a first repeat purchase, and a dropped-out customer
never buys again. So a real shop's shape follows: many customers who never come back, a loyal core that keeps
buying, and most customers quiet for months by the window's end.

Time runs on each archetype's calendar (its trend, weekends, holidays and quiet end, see `window`): a rate is
purchases per *calendar position*, the share of the archetype's activity over the window, so a seasonal gifter
buys in November and December, and a churning regular's purchases stop where its calendar goes quiet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from python_jobs.ingest.generate.accounts import Population
from python_jobs.ingest.generate.archetypes import archetype_column

# Gamma shape of the purchase rates within an archetype: below 1, many slow buyers and a few fast ones.
PURCHASE_RATE_SHAPE = 2.0
# a + b of each archetype's beta of drop-out probabilities: small, so some customers are loyal for years and
# others leave after a repeat purchase or two, whatever the archetype's mean.
DROPOUT_CONCENTRATION = 3.0
# Beta parameters must be positive: a mean of 0 or 1 is read as this close to it.
_DROPOUT_MEAN_LIMIT = 0.001


@dataclass(frozen=True)
class Purchases:
    """One row per purchase: the behaving account and its calendar position in [0, 1)."""

    owner: np.ndarray
    position: np.ndarray


def beta_parameters(mean_dropout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) of the beta with this mean and `DROPOUT_CONCENTRATION`."""
    mean = np.clip(mean_dropout, _DROPOUT_MEAN_LIMIT, 1 - _DROPOUT_MEAN_LIMIT)
    return mean * DROPOUT_CONCENTRATION, (1 - mean) * DROPOUT_CONCENTRATION


def draw_purchases(
    rng: np.random.Generator,
    population: Population,
    purchase_rate: np.ndarray | None = None,
    dropout_probability: np.ndarray | None = None,
) -> Purchases:
    """Every purchase of every account; browsers buy nothing, looping accounts an order or two.

    `purchase_rate` and `dropout_probability` are per archetype code, the archetypes' own by default: the mean
    rate of repeat purchases over the whole window while active, and the mean chance of dropping out after one.
    """
    if purchase_rate is None:
        purchase_rate = archetype_column("purchase_rate")
    if dropout_probability is None:
        dropout_probability = archetype_column("dropout_probability")
    archetype, size = population.archetype, population.size
    is_customer = ~population.is_browser & ~population.is_cycle_account

    first = rng.random(size)
    rate = rng.gamma(PURCHASE_RATE_SHAPE, purchase_rate[archetype] / PURCHASE_RATE_SHAPE)
    dropout = rng.beta(*beta_parameters(dropout_probability[archetype]))
    # The repeat purchase after which each customer leaves (1 = right after the first repeat).
    last_repeat = rng.geometric(np.maximum(dropout, np.finfo(float).tiny))
    # The repeat purchases the rest of the window has room for while active; given how many, a Poisson
    # process's arrivals are evenly spread over the rest of the window.
    arrivals = np.where(is_customer, rng.poisson(rate * (1 - first)), 0)
    arrival_owner = np.repeat(np.arange(size), arrivals)
    remaining = 1 - first[arrival_owner]
    arrival_position = first[arrival_owner] + rng.random(len(arrival_owner)) * remaining
    in_time = np.lexsort((arrival_position, arrival_owner))
    arrival_owner, arrival_position = arrival_owner[in_time], arrival_position[in_time]
    repeat_number = 1 + np.arange(len(arrival_owner)) - (np.cumsum(arrivals) - arrivals)[arrival_owner]
    kept = repeat_number <= last_repeat[arrival_owner]

    # Accounts caught in merge loops are nobody in particular: an order or two, any time.
    cycle_orders = np.where(population.is_cycle_account, 1 + rng.integers(0, 2, size=size), 0)
    cycle_owner = np.repeat(np.arange(size), cycle_orders)
    first_owner = np.flatnonzero(is_customer)
    return Purchases(
        owner=np.concatenate([first_owner, arrival_owner[kept], cycle_owner]),
        position=np.concatenate([first[first_owner], arrival_position[kept], rng.random(len(cycle_owner))]),
    )
