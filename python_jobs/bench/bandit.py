"""`segments bench-bandit`: per-segment Thompson sampling against one experiment-wide sampler and a uniform split,
on simulated traffic (python_jobs/experiments/simulate.py), and the in-process allocation latency."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from python_jobs.experiments.allocation import EXPERIMENT_WIDE, Allocator, WeightsInForce
from python_jobs.experiments.simulate import Comparison, Scenario, compare_policies

POLICY_LABELS = {
    "per_segment": "per-segment Thompson",
    "experiment_wide": "experiment-wide Thompson",
    "uniform": "uniform split",
}
TARGET_RATIO_TO_UNIFORM = 0.25


@dataclass(frozen=True)
class Latency:
    calls: int
    median_microseconds: float
    p99_microseconds: float


def allocation_latency(calls: int = 100_000, returning_share: float = 0.5) -> Latency:
    """Time `Allocator.allocate` call by call: 20 experiments of 4 variants and 12 segments each, 100,000 visitors
    already assigned, `returning_share` of the calls for one of them (sticky), the others for new visitors."""
    variants = ("A", "B", "C", "D")
    rows = []
    rng = np.random.default_rng(0)
    segments = [EXPERIMENT_WIDE] + [f"source:s{number}|device:d{number % 3}" for number in range(12)]
    for experiment in range(20):
        for segment in segments:
            weights = rng.dirichlet(np.ones(len(variants)))
            rows += [
                (f"exp-{experiment}", segment, variant, weight)
                for variant, weight in zip(variants, weights, strict=True)
            ]
    existing = {(f"exp-{number % 20}", f"old-{number}"): variants[number % 4] for number in range(100_000)}
    allocator = Allocator(WeightsInForce.from_rows(rows), existing=existing)
    timings = np.empty(calls, dtype=np.int64)
    returning = rng.random(calls) < returning_share
    for call in range(calls):
        visitor = f"old-{call}" if returning[call] else f"new-{call}"
        experiment = f"exp-{call % 20}"
        segment = segments[call % len(segments)]
        started = time.perf_counter_ns()
        allocator.allocate(experiment, visitor, segment)
        timings[call] = time.perf_counter_ns() - started
    return Latency(calls, float(np.median(timings)) / 1_000, float(np.percentile(timings, 99)) / 1_000)


def _scenario_lines(comparison: Comparison) -> list[str]:
    scenario: Scenario = comparison.scenario
    rates = scenario.conversion_rates
    lines = [f"{scenario.name}:"]
    for name, share, row in zip(scenario.segment_names, scenario.traffic_shares, rates, strict=True):
        shown = "  ".join(f"{'ABCDEFGH'[index]} {rate:.1%}" for index, rate in enumerate(row))
        lines.append(f"  {name:<20} {share:4.0%} of traffic   {shown}   best {'ABCDEFGH'[int(row.argmax())]}")
    lines.append(
        f"  {'policy':<26} {'cumulative regret':>20} {'x uniform':>10} {'conversion rate':>16} {'lift':>8}"
    )
    seeds = len(comparison.regret["uniform"])
    for policy, label in POLICY_LABELS.items():
        regret = comparison.regret[policy]
        error = regret.std(ddof=1) / np.sqrt(seeds) if seeds > 1 else 0.0
        rate = comparison.expected_conversions[policy].mean() / comparison.visitors
        lift = comparison.lift_over_uniform(policy).mean()
        lines.append(
            f"  {label:<26} {regret.mean():>12,.1f} ± {error:>5.1f} "
            f"{comparison.regret_ratio(policy, 'uniform'):>10.3f} {rate:>16.3%} {lift:>+8.1%}"
        )
    to_uniform = comparison.regret_ratio("per_segment", "uniform")
    to_wide = comparison.regret_ratio("per_segment", "experiment_wide")
    if scenario.segments_differ:
        met = "met" if to_uniform <= TARGET_RATIO_TO_UNIFORM else "NOT met"
        below = "below" if to_wide < 1 else "NOT below"
        lines.append(
            f"  per-segment regret: {to_uniform:.3f}x uniform (target at most {TARGET_RATIO_TO_UNIFORM}: {met}), "
            f"{to_wide:.3f}x experiment-wide (target below it: {below})"
        )
    else:
        lines.append(
            f"  per-segment regret: {to_uniform:.3f}x uniform, {to_wide:.3f}x experiment-wide (the control: one "
            "variant is best everywhere, so learning per segment only splits the data)"
        )
    return lines


def run_bench(
    scenarios: list[Scenario],
    seeds: int,
    visitors: int,
    batch_size: int,
    workers: int,
    latency_calls: int = 100_000,
    echo: Callable[[str], None] = print,
) -> str:
    started = time.perf_counter()
    lines = [
        f"{visitors:,} visitors, weights updated every {batch_size:,}, {seeds} seeds, 10,000 Monte Carlo draws per "
        f"update; regret = expected conversions lost against each segment's best variant (mean ± standard error)"
    ]
    for scenario in scenarios:
        echo(f"simulating {scenario.name} ({seeds} seeds on {workers} worker{'s' if workers > 1 else ''})...")
        comparison = compare_policies(scenario, seeds, visitors, batch_size, workers=workers)
        lines += ["", *_scenario_lines(comparison)]
    simulated = time.perf_counter() - started
    echo(f"timing {latency_calls:,} allocations...")
    latency = allocation_latency(latency_calls)
    lines += [
        "",
        f"allocation in process: {latency.calls:,} calls (half returning visitors), median "
        f"{latency.median_microseconds:.1f} µs, p99 {latency.p99_microseconds:.1f} µs",
        f"simulation time: {simulated:.1f} s on {workers} worker{'s' if workers > 1 else ''}",
    ]
    return "\n".join(lines)
