"""Sample-ratio checks of every experiment, day by day, against the weights in force each day.

The weights in force on a day are those of the experiment's latest update computed before the day began (UTC
midnight of the local day; an update during a day takes effect the next day, a simplification that only matters
on the day the weights change), and equal weights before the first update. A segment without weights of its own
in that update takes the experiment-wide ones, as the allocator does. The experiment's expected count of a
variant on a day is the sum over its segments of the segment's assignments times its weight; each segment is
also checked on its own. The test itself is `python_jobs.experiments.srm` (chi-square, p < 0.001).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa

from python_jobs.experiments.allocation import EXPERIMENT_WIDE
from python_jobs.experiments.srm import sample_ratio_mismatch
from python_jobs.experiments.tables import EXPERIMENT_ML_TABLES, SAMPLE_RATIO_TABLE

# (experiment, day) -> segment -> variant -> assignments
DailyCounts = dict[tuple[str, dt.date], dict[str, dict[str, int]]]


def group_daily_counts(rows: Iterable[Sequence]) -> DailyCounts:
    """Rows (experiment, segment key, variant, day, assignments) by experiment and day."""
    grouped: DailyCounts = defaultdict(lambda: defaultdict(dict))
    for experiment_id, segment_key, variant_id, day, assignments in rows:
        grouped[(experiment_id, day)][segment_key][variant_id] = int(assignments)
    return grouped


class WeightHistory:
    """Every update's weights: run -> segment -> variant -> weight, and each experiment's runs by time."""

    def __init__(self, rows: Iterable[Sequence]) -> None:
        """From rows (run id, computed_at, experiment, segment key, variant, weight)."""
        self._weights: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
        runs: dict[str, set[tuple[dt.datetime, str]]] = defaultdict(set)
        for run_id, computed_at, experiment_id, segment_key, variant_id, weight in rows:
            self._weights[run_id][segment_key][variant_id] = float(weight)
            runs[experiment_id].add((computed_at, run_id))
        self._runs = {experiment_id: sorted(found) for experiment_id, found in runs.items()}

    def run_in_force(self, experiment_id: str, day: dt.date) -> str | None:
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        earlier = [run_id for computed_at, run_id in self._runs.get(experiment_id, []) if computed_at < start]
        return earlier[-1] if earlier else None

    def shares(self, run_id: str | None, segment_key: str, variants: Sequence[str]) -> np.ndarray:
        if run_id is not None:
            segments = self._weights[run_id]
            weights = segments.get(segment_key) or segments.get(EXPERIMENT_WIDE)
            if weights:
                return np.array([weights.get(variant, 0.0) for variant in variants])
        return np.full(len(variants), 1.0 / len(variants))


def sample_ratio_checks(
    daily: DailyCounts,
    history: WeightHistory,
    run_ids: Mapping[str, str],
) -> pa.Table:
    """The checks of the experiments in `run_ids` (experiment -> the update making the check), every day."""
    rows: dict[str, list] = {name: [] for name in EXPERIMENT_ML_TABLES[SAMPLE_RATIO_TABLE].names}

    def add(experiment_id: str, segment_key: str, day: dt.date, in_force, observed, expected) -> None:
        check = sample_ratio_mismatch(observed, expected)
        for name, value in (
            ("run_id", run_ids[experiment_id]),
            ("experiment_id", experiment_id),
            ("segment_key", segment_key),
            ("assigned_on", day),
            ("weights_run_id", in_force),
            ("assignments", int(observed.sum())),
            ("chi_square", float(check.chi_square)),
            ("p_value", float(check.p_value)),
            ("is_testable", bool(check.is_testable)),
            ("is_mismatch", bool(check.is_mismatch)),
        ):
            rows[name].append(value)

    for (experiment_id, day), segments in sorted(daily.items()):
        if experiment_id not in run_ids:
            continue
        variants = sorted({variant for counts in segments.values() for variant in counts})
        if len(variants) < 2:
            continue
        in_force = history.run_in_force(experiment_id, day)
        observed_total = np.zeros(len(variants))
        expected_total = np.zeros(len(variants))
        for segment_key, counts in sorted(segments.items()):
            observed = np.array([counts.get(variant, 0) for variant in variants], dtype=np.float64)
            shares = history.shares(in_force, segment_key, variants)
            observed_total += observed
            expected_total += observed.sum() * shares
            if segment_key != EXPERIMENT_WIDE:
                add(experiment_id, segment_key, day, in_force, observed, shares)
        add(experiment_id, EXPERIMENT_WIDE, day, in_force, observed_total, expected_total)
    return pa.Table.from_pydict(rows, schema=EXPERIMENT_ML_TABLES[SAMPLE_RATIO_TABLE])
