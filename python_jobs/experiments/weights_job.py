"""The `update_experiment_weights` job: per-segment Thompson sampling over every experiment's counts.

It reads `intermediate.int_experiment_segment_counts` (its `ml` exposure: per experiment, segment and variant,
the visitors assigned and those who converted), computes each experiment's weights with
`python_jobs.experiments.bandit` (seeded Monte Carlo draws, so the same counts and seed give the same weights)
and writes one run per experiment, all experiments in one transaction (`python_jobs.experiments.tables`): a
failure writes nothing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from python_jobs.experiments.bandit import DEFAULT_DRAWS
from python_jobs.experiments.sample_ratio import WeightHistory, group_daily_counts, sample_ratio_checks
from python_jobs.experiments.tables import (
    ML_SCHEMA,
    RUNS_TABLE,
    WEIGHTS_TABLE,
    WeightRun,
    write_weight_runs,
)
from python_jobs.warehouse.connection import Warehouse

if TYPE_CHECKING:
    from python_jobs.warehouse.jobs import JobContext

JOB_NAME = "update_experiment_weights"
DEFAULT_SEED = 2026
COUNTS_MODEL = "intermediate.int_experiment_segment_counts"
_COUNTS_QUERY = (
    "select experiment_id, segment_key, variant_id, min(min_samples_per_segment), sum(assignments), "
    f"sum(conversions) from {COUNTS_MODEL} group by experiment_id, segment_key, variant_id "
    "order by experiment_id, segment_key, variant_id"
)
_DAILY_COUNTS_QUERY = (
    f"select experiment_id, segment_key, variant_id, assigned_on, assignments from {COUNTS_MODEL} "
    "order by experiment_id, assigned_on, segment_key, variant_id"
)
_WEIGHT_HISTORY_QUERY = (
    "select runs.run_id, runs.computed_at, weights.experiment_id, weights.segment_key, weights.variant_id, "
    f"weights.weight from {ML_SCHEMA}.{WEIGHTS_TABLE} as weights inner join {ML_SCHEMA}.{RUNS_TABLE} as runs "
    "on weights.run_id = runs.run_id"
)


class WeightUpdateError(ValueError):
    """Weights that cannot be computed; the message names the experiment and why."""


@dataclass(frozen=True)
class ExperimentCounts:
    """One experiment's counts, segments x variants, in sorted key order."""

    experiment_id: str
    segment_keys: tuple[str, ...]
    variant_ids: tuple[str, ...]
    assignments: np.ndarray
    conversions: np.ndarray
    min_samples_per_segment: int


def group_counts(rows: Iterable[Sequence]) -> list[ExperimentCounts]:
    """Rows (experiment, segment key, variant, min samples, assignments, conversions) as one matrix per
    experiment; a (segment, variant) without a row counts 0."""
    by_experiment: dict[str, dict[tuple[str, str], tuple[int, int]]] = {}
    min_samples: dict[str, int] = {}
    for experiment_id, segment_key, variant_id, samples, assignments, conversions in rows:
        by_experiment.setdefault(experiment_id, {})[(segment_key, variant_id)] = (
            int(assignments),
            int(conversions),
        )
        min_samples[experiment_id] = int(samples)
    result = []
    for experiment_id in sorted(by_experiment):
        cells = by_experiment[experiment_id]
        segments = tuple(sorted({segment for segment, _variant in cells}))
        variants = tuple(sorted({variant for _segment, variant in cells}))
        assignments = np.zeros((len(segments), len(variants)), dtype=np.int64)
        conversions = np.zeros_like(assignments)
        for (segment, variant), (assigned, converted) in cells.items():
            assignments[segments.index(segment), variants.index(variant)] = assigned
            conversions[segments.index(segment), variants.index(variant)] = converted
        result.append(
            ExperimentCounts(
                experiment_id, segments, variants, assignments, conversions, min_samples[experiment_id]
            )
        )
    return result


def weight_run(
    counts: ExperimentCounts, computed_at: dt.datetime, seed: int, draws: int = DEFAULT_DRAWS
) -> WeightRun:
    if len(counts.variant_ids) < 2:
        raise WeightUpdateError(
            f"experiment {counts.experiment_id!r} has {len(counts.variant_ids)} variant "
            f"({', '.join(counts.variant_ids)}): at least 2 are needed to allocate between them"
        )
    try:
        return WeightRun.from_counts(
            counts.experiment_id,
            counts.segment_keys,
            counts.variant_ids,
            counts.assignments,
            counts.conversions,
            computed_at=computed_at,
            seed=seed,
            min_samples_per_segment=counts.min_samples_per_segment,
            draws=draws,
        )
    except ValueError as error:
        raise WeightUpdateError(f"experiment {counts.experiment_id!r}: {error}") from None


def update_weights(
    warehouse: Warehouse,
    *,
    experiment_ids: Sequence[str] = (),
    seed: int = DEFAULT_SEED,
    draws: int = DEFAULT_DRAWS,
    now: dt.datetime | None = None,
    echo: Callable[[str], object] = print,
) -> list[WeightRun]:
    """Compute and write the weights of every experiment with assignments (or of `experiment_ids` only);
    returns the runs written. An experiment with a single variant is skipped, with a line saying so."""
    started = time.perf_counter()
    with warehouse.session(read_only=True) as session:
        if not session.table_exists("intermediate", "int_experiment_segment_counts"):
            raise WeightUpdateError(f"{COUNTS_MODEL} does not exist: run `segments build` first")
        every = group_counts(session.fetchall(_COUNTS_QUERY))
        daily = group_daily_counts(session.fetchall(_DAILY_COUNTS_QUERY))
        history = WeightHistory(
            session.fetchall(_WEIGHT_HISTORY_QUERY) if session.table_exists(ML_SCHEMA, RUNS_TABLE) else []
        )
    known = {counts.experiment_id for counts in every}
    missing = [experiment_id for experiment_id in experiment_ids if experiment_id not in known]
    if missing:
        raise WeightUpdateError(
            f"no assignments for experiment {missing[0]!r} in {COUNTS_MODEL} "
            f"(experiments with assignments: {', '.join(sorted(known)) or 'none'})"
        )
    chosen = [counts for counts in every if not experiment_ids or counts.experiment_id in experiment_ids]
    computed_at = now or dt.datetime.now(dt.UTC)
    runs = []
    for counts in chosen:
        if len(counts.variant_ids) < 2:
            echo(f"  {counts.experiment_id}: skipped, it has a single variant ({counts.variant_ids[0]})")
            continue
        runs.append(weight_run(counts, computed_at, seed, draws))
    checks = sample_ratio_checks(daily, history, {run.experiment_id: run.run_id for run in runs})
    write_weight_runs(warehouse, runs, checks)
    mismatches = checks.filter(checks["is_mismatch"]).to_pylist()
    for run in runs:
        segments = "not segmented" if run.is_unsegmented else f"{len(run.segment_keys):,} segments"
        days = sorted(
            {str(row["assigned_on"]) for row in mismatches if row["experiment_id"] == run.experiment_id}
        )
        srm = f"sample-ratio mismatch on {', '.join(days)}" if days else "no sample-ratio mismatch"
        echo(
            f"  {run.experiment_id}: {segments}, {int(run.assignments.sum()):,} assignments, "
            f"{int(run.conversions.sum()):,} conversions, {srm}"
        )
    plural = "" if len(runs) == 1 else "s"
    echo(f"  updated the weights of {len(runs)} experiment{plural} in {time.perf_counter() - started:.1f}s")
    return runs


def run_job(context: JobContext) -> list[WeightRun]:
    return update_weights(context.warehouse, echo=context.echo)
