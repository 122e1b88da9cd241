"""Who behaves (customers and looping accounts) and the duplicate accounts merged into them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from python_jobs.ingest.generate.archetypes import CYCLE_ARCHETYPE, archetype_column
from python_jobs.ingest.generate.dirt import GUARANTEED_DIRT_MIN_CUSTOMERS
from python_jobs.ingest.generate.draws import draw_codes, pick_uniform
from python_jobs.ingest.generate.window import END_US, START_US, US_PER_DAY, whole_seconds

DUPLICATE_CUSTOMER_SHARE = 0.03
CHAIN_LENGTH_PROBABILITIES = (0.75, 0.20, 0.05)  # a duplicate chain of 1, 2 or 3 duplicate accounts
DUPLICATE_ACTIVITY_SHARE = 0.5  # of a customer's activity before the merge, carried by a duplicate
CUSTOMERS_PER_MERGE_CYCLE = 2_000


@dataclass(frozen=True)
class Population:
    """Everyone who behaves: the real customers, then the accounts caught in circular merges.

    Identities (the ids in the raw tables) are laid out as real customers, cycle accounts, then
    duplicates, so a behaving account's index is also its identity index.
    """

    archetype: np.ndarray
    is_browser: np.ndarray
    is_cycle_account: np.ndarray
    customers: int

    @property
    def size(self) -> int:
        return len(self.archetype)


def build_population(
    rng: np.random.Generator, customer_archetypes: np.ndarray, cycle_accounts: int
) -> Population:
    customers = len(customer_archetypes)
    archetype = np.concatenate(
        [customer_archetypes, np.full(cycle_accounts, CYCLE_ARCHETYPE, dtype=np.int8)]
    ).astype(np.int64)
    is_cycle_account = np.arange(len(archetype)) >= customers
    is_browser = (rng.random(len(archetype)) < archetype_column("browser_share")[archetype]) & (
        ~is_cycle_account
    )
    return Population(archetype, is_browser, is_cycle_account, customers)


def merge_cycle_sizes(rng: np.random.Generator, customers: int) -> np.ndarray:
    guaranteed = customers >= GUARANTEED_DIRT_MIN_CUSTOMERS
    cycles = max(round(customers / CUSTOMERS_PER_MERGE_CYCLE), 1 if guaranteed else 0)
    return np.where(rng.random(cycles) < 0.7, 2, 3).astype(np.int64)


@dataclass(frozen=True)
class MergePlan:
    """Duplicate accounts and the merges that fold them (and the looping accounts) together."""

    source: np.ndarray  # identity index per merge row
    target: np.ndarray
    merged_at: np.ndarray
    # Per behaving account: its first duplicate identity (-1 when it has none), how many, and the
    # earliest merge of its chain (activity before it may sit on a duplicate).
    chain_start: np.ndarray
    chain_length: np.ndarray
    first_merge_at: np.ndarray
    duplicate_owner: np.ndarray  # per duplicate: the real customer it belongs to

    @property
    def duplicates(self) -> int:
        return len(self.duplicate_owner)


@dataclass(frozen=True)
class _Links:
    source: np.ndarray
    target: np.ndarray
    merged_at: np.ndarray


def _chain_links(
    rng: np.random.Generator, owners: np.ndarray, lengths: np.ndarray, first_duplicate: int
) -> _Links:
    """Link j of a chain merges duplicate j into duplicate j + 1, the last one into the customer.

    Earlier links happened earlier: a duplicate already merged away could not be merged into.
    """
    starts = first_duplicate + np.cumsum(lengths) - lengths
    link_chain = np.repeat(np.arange(len(owners)), lengths)
    link_position = np.arange(len(link_chain)) - (starts - first_duplicate)[link_chain]
    steps_before_last = lengths[link_chain] - 1 - link_position
    source = starts[link_chain] + link_position
    target = np.where(steps_before_last == 0, owners[link_chain], source + 1)
    # The last merge comes at least two months in, so duplicates have time to be used.
    last_merge_span = END_US - START_US - 61 * US_PER_DAY
    last_merge_at = START_US + 60 * US_PER_DAY + (rng.random(len(owners)) * last_merge_span)
    merged_at = last_merge_at[link_chain].astype(np.int64) - (
        steps_before_last * 15 * US_PER_DAY + (rng.random(len(link_chain)) * 14 * US_PER_DAY).astype(np.int64)
    )
    return _Links(source, target, whole_seconds(merged_at))


def _cycle_links(rng: np.random.Generator, first_member: int, cycle_sizes: np.ndarray) -> _Links:
    """Each looping account merges into the next of its cycle, the last one back into the first."""
    members = first_member + np.arange(cycle_sizes.sum())
    cycle = np.repeat(np.arange(len(cycle_sizes)), cycle_sizes)
    cycle_first = first_member + np.cumsum(cycle_sizes) - cycle_sizes
    is_last = members == cycle_first[cycle] + cycle_sizes[cycle] - 1
    target = np.where(is_last, cycle_first[cycle], members + 1)
    merged_at = START_US + (rng.random(len(members)) * (END_US - START_US)).astype(np.int64)
    return _Links(members, target, whole_seconds(merged_at))


def plan_merges(rng: np.random.Generator, population: Population, cycle_sizes: np.ndarray) -> MergePlan:
    customers = population.customers
    duplicated = round(customers * DUPLICATE_CUSTOMER_SHARE)
    owners = np.sort(rng.choice(customers, size=duplicated, replace=False))
    lengths = draw_codes(rng, CHAIN_LENGTH_PROBABILITIES, len(owners)) + 1
    chains = _chain_links(rng, owners, lengths, first_duplicate=population.size)
    cycles = _cycle_links(rng, customers, cycle_sizes)

    chain_start = np.full(population.size, -1, dtype=np.int64)
    chain_start[owners] = population.size + np.cumsum(lengths) - lengths
    chain_length = np.zeros(population.size, dtype=np.int64)
    chain_length[owners] = lengths
    first_merge_at = np.full(population.size, np.iinfo(np.int64).min, dtype=np.int64)
    # Links are numbered like the duplicates they start from.
    first_merge_at[owners] = chains.merged_at[chain_start[owners] - population.size]
    return MergePlan(
        source=np.concatenate([chains.source, cycles.source]),
        target=np.concatenate([chains.target, cycles.target]),
        merged_at=np.concatenate([chains.merged_at, cycles.merged_at]),
        chain_start=chain_start,
        chain_length=chain_length,
        first_merge_at=first_merge_at,
        duplicate_owner=np.repeat(owners, lengths),
    )


def attribute_to_duplicates(
    rng: np.random.Generator, plan: MergePlan, owner: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """The identity each row is recorded under: before the first merge, maybe a duplicate."""
    on_duplicate = (
        (plan.chain_start[owner] >= 0)
        & (times < plan.first_merge_at[owner])
        & (rng.random(len(owner)) < DUPLICATE_ACTIVITY_SHARE)
    )
    identity = owner.copy()
    moved = owner[on_duplicate]
    identity[on_duplicate] = plan.chain_start[moved] + pick_uniform(rng, plan.chain_length[moved])
    return identity
