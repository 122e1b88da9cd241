"""The clustering sample: stratified by tiers of net lifetime value, drawn inside the warehouse.

Only the sample leaves the warehouse: one query counts the customers per tier, Python turns the counts into
integer quotas, and a second query returns each tier's first `quota` customers in a seeded pseudo-random order
(`md5(seed || customer_id)`). md5, percent_rank and row_number behave the same on DuckDB and PostgreSQL, so the
same data and seed give the same customers on both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from python_jobs.definitions import Axis, feature_names, requirement_flags
from python_jobs.warehouse.connection import Session, quote_identifier

# The value tiers, highest first, each with the lowest percent_rank of lifetime value it takes (net of returns and
# refunds, see customer_profiles): the top 5% are `vip`, the next 15% `high`, the next 30% `mid`, the rest `low`.
# The SQL below and the shares are both made from this one table.
VALUE_TIER_FLOORS = (("vip", 0.95), ("high", 0.80), ("mid", 0.50), ("low", 0.0))
VALUE_TIERS = tuple(tier for tier, _ in VALUE_TIER_FLOORS)


def value_tier_shares() -> dict[str, float]:
    """Each tier's share of the customers, from the floors: {"vip": 0.05, "high": 0.15, ...}."""
    ceilings = (1.0, *(floor for _, floor in VALUE_TIER_FLOORS[:-1]))
    return {
        tier: round(ceiling - floor, 10)
        for (tier, floor), ceiling in zip(VALUE_TIER_FLOORS, ceilings, strict=True)
    }


def _value_tier_case() -> str:
    *ranked, (lowest, _) = VALUE_TIER_FLOORS
    whens = "\n".join(f"            when tier_rank >= {floor!r} then '{tier}'" for tier, floor in ranked)
    return f"case\n{whens}\n            else '{lowest}'\n        end"


def _tiered_customers(session: Session) -> str:
    # Numerics are cast to double so every backend ranks the same values (DuckDB decimals, PostgreSQL numeric).
    return f"""
    select
        customer_id,
        {_value_tier_case()} as value_tier
    from (
        select
            cast(customer_id as {session.column_type(pa.string())}) as customer_id,
            percent_rank() over (order by cast(lifetime_value as {session.column_type(pa.float64())})) as tier_rank
        from marts.customer_profiles
    ) as ranked
"""


@dataclass(frozen=True)
class CustomerSample:
    """The drawn sample and what it was drawn from.

    `table` has customer_id, value_tier, first_seen_days (days since 1970-01-01, a float), every feature column
    (null where the feature does not exist for the customer) and every requirement flag, sorted by customer_id so
    the row order does not depend on the backend.
    """

    table: pa.Table
    population_size: int
    tier_population: dict[str, int]
    tier_sample: dict[str, int]

    def features(self, names: list[str]) -> np.ndarray:
        """The named feature columns as one float64 matrix, rows in `table` order; NaN where a feature is NULL."""
        return np.column_stack(
            [self.table.column(name).to_numpy(zero_copy_only=False).astype(np.float64) for name in names]
        )

    def placeable(self, axis: Axis) -> np.ndarray:
        """Which rows the axis can place: those with every requirement of its features (a boolean mask)."""
        mask = np.ones(self.table.num_rows, dtype=bool)
        for requirement in axis.requirements:
            mask &= self.table.column(requirement.flag).to_numpy(zero_copy_only=False).astype(bool)
        return mask

    def population_weights(self) -> np.ndarray:
        """How many customers of the population each sampled row stands for: its tier's population / its sample.

        The quotas are proportional, so the weights are nearly equal; weighting makes "where does this value sit
        in the population" exact per tier rather than up to the rounding of the quotas.
        """
        weight = {
            tier: self.tier_population[tier] / drawn for tier, drawn in self.tier_sample.items() if drawn > 0
        }
        return np.array(
            [weight[tier] for tier in self.table.column("value_tier").to_pylist()], dtype=np.float64
        )

    def first_seen_days(self) -> np.ndarray:
        """When each sampled customer was first seen; a missing date takes the median, as neither old nor new."""
        days = self.table.column("first_seen_days").to_numpy(zero_copy_only=False).astype(np.float64)
        if np.isnan(days).all():
            return np.zeros_like(days)
        return np.where(np.isnan(days), np.nanmedian(days), days)


def value_tier_quotas(tier_counts: Mapping[str, int], sample_size: int) -> dict[str, int]:
    """Proportional integer quotas per tier that add up to `sample_size`, by largest remainder.

    Exact integer arithmetic, so quotas never depend on float rounding. Remainders that tie go to the tier listed
    first (highest value), then by name, which keeps the allocation deterministic. A sample at least as large as
    the population takes everyone.
    """
    if sample_size < 0:
        raise ValueError(f"sample size must not be negative, got {sample_size}")
    population = sum(tier_counts.values())
    if sample_size >= population:
        return dict(tier_counts)
    quotas = {tier: count * sample_size // population for tier, count in tier_counts.items()}
    remainders = {tier: count * sample_size % population for tier, count in tier_counts.items()}
    leftover = sample_size - sum(quotas.values())
    order = sorted(tier_counts, key=lambda tier: (-remainders[tier], _tier_position(tier), tier))
    # A tier with a non-zero remainder is below its count, so one more customer always exists there.
    for tier in order[:leftover]:
        quotas[tier] += 1
    return quotas


def _tier_position(tier: str) -> int:
    return VALUE_TIERS.index(tier) if tier in VALUE_TIERS else len(VALUE_TIERS)


def count_value_tiers(session: Session) -> dict[str, int]:
    """Customers per lifetime-value tier; tiers without customers are absent."""
    sql = f"select value_tier, count(*) as customers from ({_tiered_customers(session)}) as tiered group by value_tier"
    return {tier: int(count) for tier, count in session.fetchall(sql)}


def _sample_sql(session: Session, features: list[str]) -> str:
    double, text = session.column_type(pa.float64()), session.column_type(pa.string())
    feature_columns = ",\n        ".join(
        [
            *(
                f"cast(features.{quote_identifier(name)} as {double}) as {quote_identifier(name)}"
                for name in features
            ),
            *(f"features.{quote_identifier(flag)}" for flag in requirement_flags()),
        ]
    )
    quota_case = " ".join(f"when '{tier}' then cast(? as bigint)" for tier in VALUE_TIERS)
    return f"""
    with numbered as (
        select
            customer_id,
            value_tier,
            row_number() over (
                partition by value_tier
                order by md5(cast(? as {text}) || customer_id), customer_id
            ) as draw_order
        from ({_tiered_customers(session)}) as tiered
    )
    select
        numbered.customer_id,
        numbered.value_tier,
        cast({session.epoch_seconds("profiles.first_seen_at")} as {double}) / 86400.0 as first_seen_days,
        {feature_columns}
    from numbered
    inner join marts.customer_features as features
        on cast(features.customer_id as {text}) = numbered.customer_id
    inner join marts.customer_profiles as profiles
        on cast(profiles.customer_id as {text}) = numbered.customer_id
    where numbered.draw_order <= case numbered.value_tier {quota_case} else 0 end
    """


def draw_sample(session: Session, sample_size: int, seed: str) -> CustomerSample:
    """The stratified sample of `sample_size` customers (everyone when fewer), reproducible from `seed`."""
    tier_population = count_value_tiers(session)
    quotas = value_tier_quotas(tier_population, sample_size)
    params = [seed, *(quotas.get(tier, 0) for tier in VALUE_TIERS)]
    table = session.fetch_arrow(_sample_sql(session, feature_names()), params)
    # Sorted here rather than in SQL: text collation differs between the backends, Arrow's byte order does not.
    table = table.sort_by("customer_id")
    drawn = table.column("value_tier").to_pylist()
    tier_sample = {tier: drawn.count(tier) for tier in VALUE_TIERS if tier in tier_population}
    return CustomerSample(
        table=table,
        population_size=sum(tier_population.values()),
        tier_population=tier_population,
        tier_sample=tier_sample,
    )
