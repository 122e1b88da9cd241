"""A traffic simulator for comparing allocation policies on segments whose best variants differ.

Visitors arrive in batches (5,000 by default); each belongs to a segment drawn from the scenario's traffic shares
and is placed in a variant drawn from the weights its policy has in force for that segment; each converts with the
scenario's true rate for its segment and variant (a Bernoulli draw). After each batch the policy recomputes its
weights from all counts so far. Three policies:

- `per_segment`: Thompson sampling per segment (`bandit.segment_weights`, small segments pooled);
- `experiment_wide`: one Thompson sampler on the pooled counts, its weights used in every segment;
- `uniform`: an even split, never updated.

Regret is the expected conversions lost against always showing each segment its best variant:
sum over visitors of (best rate of the segment - rate of the variant shown). It is computed from the counts and
the true rates, so it carries no conversion noise. Every policy sees the same arrivals for a given seed.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from python_jobs.experiments.bandit import DEFAULT_DRAWS, DEFAULT_MIN_SAMPLES_PER_SEGMENT, segment_weights

POLICIES = ("per_segment", "experiment_wide", "uniform")


@dataclass(frozen=True)
class Scenario:
    name: str
    segment_names: tuple[str, ...]
    traffic_shares: np.ndarray  # (S,), adds up to 1
    conversion_rates: np.ndarray  # (S, V), true rates

    @property
    def segments_differ(self) -> bool:
        """Whether the segments' best variants differ (learning per segment can pay)."""
        return len(set(self.conversion_rates.argmax(axis=1).tolist())) > 1

    @property
    def best_rates(self) -> np.ndarray:
        return self.conversion_rates.max(axis=1)


def _scenario(name: str, segments: dict[str, tuple[float, list[float]]]) -> Scenario:
    shares = np.array([share for share, _rates in segments.values()])
    return Scenario(
        name=name,
        segment_names=tuple(segments),
        traffic_shares=shares / shares.sum(),
        conversion_rates=np.array([rates for _share, rates in segments.values()]),
    )


# Four segments, four variants A-D, and each segment has a different best variant, converting 40-50% better than
# its second best (the "B best on Instagram mobile, A best on Google desktop" of the issue). The experiment-wide
# best (A) is best in one segment only.
SEGMENTS_DIFFER = _scenario(
    "segments differ",
    {
        "instagram · mobile": (0.34, [0.030, 0.045, 0.032, 0.028]),
        "google · desktop": (0.28, [0.060, 0.044, 0.046, 0.042]),
        "email · desktop": (0.22, [0.050, 0.048, 0.070, 0.046]),
        "facebook · mobile": (0.16, [0.024, 0.026, 0.025, 0.036]),
    },
)

# The same four segments converting alike: B is best everywhere, 30% better than the second best. Learning per
# segment can only split the data here; this is the control.
SEGMENTS_ALIKE = _scenario(
    "segments alike",
    {
        name: (share, [0.040, 0.052, 0.040, 0.038])
        for name, share in zip(SEGMENTS_DIFFER.segment_names, SEGMENTS_DIFFER.traffic_shares, strict=True)
    },
)

SCENARIOS = {"differ": SEGMENTS_DIFFER, "alike": SEGMENTS_ALIKE}


@dataclass(frozen=True)
class SimulationRun:
    policy: str
    assignments: np.ndarray  # (S, V)
    conversions: np.ndarray  # (S, V), realised
    expected_conversions: float  # sum of assignments x true rates
    regret: float


def simulate(
    scenario: Scenario,
    policy: str,
    visitors: int = 100_000,
    batch_size: int = 5_000,
    seed: int = 0,
    min_samples_per_segment: int = DEFAULT_MIN_SAMPLES_PER_SEGMENT,
    draws: int = DEFAULT_DRAWS,
) -> SimulationRun:
    """One run of `visitors` visitors under `policy`; the arrivals depend on the seed only, not on the policy."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; one of {', '.join(POLICIES)}")
    rates = scenario.conversion_rates
    segments, variants = rates.shape
    arrivals = np.random.default_rng([seed, 0])
    outcomes = np.random.default_rng([seed, 1 + POLICIES.index(policy)])
    assignments = np.zeros((segments, variants), dtype=np.int64)
    conversions = np.zeros((segments, variants), dtype=np.int64)
    weights = np.full((segments, variants), 1.0 / variants)
    remaining = visitors
    while remaining > 0:
        batch = min(batch_size, remaining)
        remaining -= batch
        per_segment = arrivals.multinomial(batch, scenario.traffic_shares)
        shown = outcomes.multinomial(per_segment, weights)
        assignments += shown
        conversions += outcomes.binomial(shown, rates)
        if remaining > 0 and policy != "uniform":
            weights = _updated_weights(
                policy, assignments, conversions, min_samples_per_segment, draws, outcomes
            )
    return SimulationRun(
        policy=policy,
        assignments=assignments,
        conversions=conversions,
        expected_conversions=float((assignments * rates).sum()),
        regret=float((assignments * (scenario.best_rates[:, None] - rates)).sum()),
    )


def _updated_weights(
    policy: str,
    assignments: np.ndarray,
    conversions: np.ndarray,
    min_samples_per_segment: int,
    draws: int,
    rng: np.random.Generator,
) -> np.ndarray:
    if policy == "per_segment":
        return segment_weights(
            assignments, conversions, min_samples_per_segment=min_samples_per_segment, draws=draws, seed=rng
        ).weights
    pooled = segment_weights(
        assignments.sum(axis=0, keepdims=True), conversions.sum(axis=0, keepdims=True), draws=draws, seed=rng
    )
    return np.tile(pooled.experiment_weights, (assignments.shape[0], 1))


@dataclass(frozen=True)
class Comparison:
    """Per-seed figures of each policy, arrays of one value per seed."""

    scenario: Scenario
    visitors: int
    regret: dict[str, np.ndarray]
    expected_conversions: dict[str, np.ndarray]

    def lift_over_uniform(self, policy: str) -> np.ndarray:
        return self.expected_conversions[policy] / self.expected_conversions["uniform"] - 1.0

    def regret_ratio(self, policy: str, against: str) -> float:
        return float(self.regret[policy].mean() / self.regret[against].mean())


def _run_seed(
    scenario: Scenario, seed: int, visitors: int, batch_size: int, draws: int
) -> dict[str, SimulationRun]:
    return {
        policy: simulate(scenario, policy, visitors, batch_size, seed, draws=draws) for policy in POLICIES
    }


def compare_policies(
    scenario: Scenario,
    seeds: int = 50,
    visitors: int = 100_000,
    batch_size: int = 5_000,
    first_seed: int = 0,
    draws: int = DEFAULT_DRAWS,
    workers: int = 1,
) -> Comparison:
    """Run every policy on seeds first_seed, first_seed + 1...; with several workers the seeds are shared among
    processes, and the figures are the same as with one."""
    seed_list = range(first_seed, first_seed + seeds)
    arguments = [(scenario, seed, visitors, batch_size, draws) for seed in seed_list]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            runs = list(pool.map(_run_seed, *zip(*arguments, strict=True)))
    else:
        runs = [_run_seed(*argument) for argument in arguments]
    return Comparison(
        scenario=scenario,
        visitors=visitors,
        regret={policy: np.array([run[policy].regret for run in runs]) for policy in POLICIES},
        expected_conversions={
            policy: np.array([run[policy].expected_conversions for run in runs]) for policy in POLICIES
        },
    )
