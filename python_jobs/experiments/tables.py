"""The `ml` tables of per-segment Thompson sampling (posteriors and allocation weights), their writer and the
reader of the weights in force.

One update of one experiment's weights is a run: a row of `experiment_weight_runs`, one row per segment and
variant in `experiment_posteriors` (the counts, the Beta posterior, the probability of being best) and in
`experiment_weights` (the allocation weight). All three are written in one transaction, the run row marked
`succeeded` with them, so a reader (dbt, the allocator) taking the latest succeeded run of an experiment never sees
half a run. Each run also holds the experiment as a whole under the segment key `EXPERIMENT_WIDE`, which the
allocator uses for segments without weights of their own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from python_jobs.experiments.allocation import EXPERIMENT_WIDE, WeightsInForce
from python_jobs.experiments.bandit import (
    DEFAULT_BURN_IN_PER_VARIANT,
    DEFAULT_DRAWS,
    DEFAULT_FLOOR,
    DEFAULT_MIN_SAMPLES_PER_SEGMENT,
    SegmentWeights,
    segment_weights,
)

if TYPE_CHECKING:
    from python_jobs.warehouse.connection import Session, Warehouse

ML_SCHEMA = "ml"
RUNS_TABLE = "experiment_weight_runs"
POSTERIORS_TABLE = "experiment_posteriors"
WEIGHTS_TABLE = "experiment_weights"
SAMPLE_RATIO_TABLE = "experiment_sample_ratio_checks"

_TS = pa.timestamp("us", tz="UTC")

EXPERIMENT_ML_TABLES: dict[str, pa.Schema] = {
    # One row per update of one experiment's weights; only succeeded runs are written.
    RUNS_TABLE: pa.schema(
        [
            ("run_id", pa.string()),
            ("experiment_id", pa.string()),
            ("computed_at", _TS),
            ("status", pa.string()),  # succeeded
            (
                "parameters",
                pa.string(),
            ),  # JSON: draws, seed, floor, burn_in_per_variant, min_samples_per_segment
            ("segment_count", pa.int64()),  # segments with counts, the experiment as a whole not included
            ("assignments", pa.int64()),
            ("conversions", pa.int64()),
        ]
    ),
    # One row per run, segment and variant: what the weights were learnt from.
    POSTERIORS_TABLE: pa.schema(
        [
            ("run_id", pa.string()),
            ("experiment_id", pa.string()),
            ("segment_key", pa.string()),
            ("variant_id", pa.string()),
            ("assignments", pa.int64()),
            ("conversions", pa.int64()),
            ("posterior_alpha", pa.float64()),  # 1 + conversions
            ("posterior_beta", pa.float64()),  # 1 + assignments - conversions
            ("probability_best", pa.float64()),  # under the posterior the segment learns from
            ("learns_from_experiment", pa.bool_()),  # too small: takes the experiment-wide weights
            ("is_burn_in", pa.bool_()),  # equal weights: too few assignments to learn from yet
        ]
    ),
    # One row per run, segment and variant: the allocation weight (at least the floor; a segment's add up to 1).
    WEIGHTS_TABLE: pa.schema(
        [
            ("run_id", pa.string()),
            ("experiment_id", pa.string()),
            ("segment_key", pa.string()),
            ("variant_id", pa.string()),
            ("weight", pa.float64()),
            ("computed_at", _TS),
        ]
    ),
    # One row per update, segment (`all`: the experiment) and local day: the sample-ratio check of the day's
    # assignments against the weights in force that day (python_jobs/experiments/sample_ratio.py).
    SAMPLE_RATIO_TABLE: pa.schema(
        [
            ("run_id", pa.string()),  # the update that made the check
            ("experiment_id", pa.string()),
            ("segment_key", pa.string()),
            ("assigned_on", pa.date32()),
            ("weights_run_id", pa.string()),  # the weights in force that day; null: equal weights
            ("assignments", pa.int64()),
            ("chi_square", pa.float64()),
            ("p_value", pa.float64()),
            ("is_testable", pa.bool_()),  # enough expected assignments in every variant for a verdict
            ("is_mismatch", pa.bool_()),  # testable and p < 0.001
        ]
    ),
}


@dataclass(frozen=True)
class WeightRun:
    """One update of one experiment's weights, ready to be written."""

    run_id: str
    experiment_id: str
    computed_at: dt.datetime
    segment_keys: tuple[str, ...]  # rows of the counts
    variant_ids: tuple[str, ...]  # columns of the counts
    assignments: np.ndarray  # (S, V)
    conversions: np.ndarray  # (S, V)
    result: SegmentWeights
    parameters: dict[str, Any]

    def __post_init__(self) -> None:
        segments, variants = np.shape(self.assignments)
        if (segments, variants) != (len(self.segment_keys), len(self.variant_ids)):
            raise ValueError(
                f"experiment {self.experiment_id!r}: counts of {segments} segments x {variants} variants for "
                f"{len(self.segment_keys)} segment keys and {len(self.variant_ids)} variant ids"
            )
        if EXPERIMENT_WIDE in self.segment_keys and not self.is_unsegmented:
            raise ValueError(
                f"experiment {self.experiment_id!r}: {EXPERIMENT_WIDE!r} is the key of the experiment as a whole, "
                "not a segment"
            )
        for name, values in (("segment key", self.segment_keys), ("variant id", self.variant_ids)):
            repeated = sorted({value for value in values if values.count(value) > 1})
            if repeated:
                raise ValueError(f"experiment {self.experiment_id!r}: {name} {repeated[0]!r} appears twice")

    @property
    def is_unsegmented(self) -> bool:
        """The experiment segments by nothing: its one row of counts, under `EXPERIMENT_WIDE`, is the experiment."""
        return self.segment_keys == (EXPERIMENT_WIDE,)

    @classmethod
    def from_counts(
        cls,
        experiment_id: str,
        segment_keys: Sequence[str],
        variant_ids: Sequence[str],
        assignments: np.ndarray,
        conversions: np.ndarray,
        computed_at: dt.datetime,
        seed: int,
        min_samples_per_segment: int = DEFAULT_MIN_SAMPLES_PER_SEGMENT,
        floor: float = DEFAULT_FLOOR,
        draws: int = DEFAULT_DRAWS,
    ) -> WeightRun:
        """Compute the weights of one experiment from its counts (segments x variants) and record how."""
        parameters = {
            "draws": draws,
            "seed": seed,
            "floor": floor,
            "burn_in_per_variant": DEFAULT_BURN_IN_PER_VARIANT,
            "min_samples_per_segment": min_samples_per_segment,
        }
        digest = hashlib.sha256(f"{experiment_id}|{uuid.uuid4().hex}".encode()).hexdigest()[:8]
        assignments = np.asarray(assignments)
        conversions = np.asarray(conversions)
        return cls(
            run_id=f"weights_{computed_at.astimezone(dt.UTC):%Y%m%dT%H%M%S}_{digest}",
            experiment_id=experiment_id,
            computed_at=computed_at,
            segment_keys=tuple(segment_keys),
            variant_ids=tuple(variant_ids),
            assignments=assignments,
            conversions=conversions,
            result=segment_weights(
                assignments,
                conversions,
                min_samples_per_segment=min_samples_per_segment,
                floor=floor,
                draws=draws,
                seed=seed,
            ),
            parameters=parameters,
        )


def weight_run_tables(run: WeightRun) -> dict[str, pa.Table]:
    """The run's rows of the three tables, the experiment as a whole first."""
    result = run.result
    # An unsegmented experiment's one row is the experiment as a whole: written once, as the experiment's.
    segments = slice(0, 0) if run.is_unsegmented else slice(None)
    keys = (EXPERIMENT_WIDE, *run.segment_keys[segments])
    assignments = np.vstack([run.assignments.sum(axis=0), run.assignments[segments]])
    conversions = np.vstack([run.conversions.sum(axis=0), run.conversions[segments]])
    alpha = np.vstack([result.experiment_alpha, result.alpha[segments]])
    beta = np.vstack([result.experiment_beta, result.beta[segments]])
    probability = np.vstack([result.experiment_probability_best, result.probability_best[segments]])
    weights = np.vstack([result.experiment_weights, result.weights[segments]])
    from_experiment = np.concatenate([[False], result.learns_from_pool[segments]])
    burn_in = np.concatenate([[result.experiment_is_burn_in], result.is_burn_in[segments]])

    variants = len(run.variant_ids)
    segment_column = [key for key in keys for _variant in run.variant_ids]
    variant_column = list(run.variant_ids) * len(keys)
    common = {
        "run_id": [run.run_id] * len(segment_column),
        "experiment_id": [run.experiment_id] * len(segment_column),
        "segment_key": segment_column,
        "variant_id": variant_column,
    }
    posteriors = {
        **common,
        "assignments": assignments.ravel().astype(np.int64),
        "conversions": conversions.ravel().astype(np.int64),
        "posterior_alpha": alpha.ravel(),
        "posterior_beta": beta.ravel(),
        "probability_best": probability.ravel(),
        "learns_from_experiment": np.repeat(from_experiment, variants),
        "is_burn_in": np.repeat(burn_in, variants),
    }
    weight_rows = {
        **common,
        "weight": weights.ravel(),
        "computed_at": [run.computed_at] * len(segment_column),
    }
    run_row = {
        "run_id": [run.run_id],
        "experiment_id": [run.experiment_id],
        "computed_at": [run.computed_at],
        "status": ["succeeded"],
        "parameters": [json.dumps(run.parameters, sort_keys=True)],
        "segment_count": [len(keys) - 1],
        "assignments": [int(run.assignments.sum())],
        "conversions": [int(run.conversions.sum())],
    }
    return {
        RUNS_TABLE: pa.Table.from_pydict(run_row, schema=EXPERIMENT_ML_TABLES[RUNS_TABLE]),
        POSTERIORS_TABLE: pa.Table.from_pydict(posteriors, schema=EXPERIMENT_ML_TABLES[POSTERIORS_TABLE]),
        WEIGHTS_TABLE: pa.Table.from_pydict(weight_rows, schema=EXPERIMENT_ML_TABLES[WEIGHTS_TABLE]),
    }


def _append(session: Session, table: str, data: pa.Table) -> None:
    """The single place the run's rows are written, so a test can make a write fail midway."""
    session.append_table(ML_SCHEMA, table, data)


def ensure_weight_tables(session: Session) -> None:
    """Create, empty, the three tables that do not exist yet."""
    session.ensure_schema(ML_SCHEMA)
    for name, schema in EXPERIMENT_ML_TABLES.items():
        if not session.table_exists(ML_SCHEMA, name):
            session.create_table(ML_SCHEMA, name, schema)


def write_weight_runs(
    warehouse: Warehouse, runs: Sequence[WeightRun], sample_ratio_checks: pa.Table | None = None
) -> None:
    """Write several runs (one per experiment), with their sample-ratio checks, in one transaction: all of them,
    or (on any error) nothing."""
    with warehouse.session() as session:
        ensure_weight_tables(session)
        if not runs:
            return
        every = [weight_run_tables(run) for run in runs]
        if sample_ratio_checks is not None and sample_ratio_checks.num_rows:
            _append(session, SAMPLE_RATIO_TABLE, sample_ratio_checks)
        # The run rows last: they are what readers look for.
        for name in (POSTERIORS_TABLE, WEIGHTS_TABLE, RUNS_TABLE):
            _append(session, name, pa.concat_tables([tables[name] for tables in every]))


def write_weight_run(warehouse: Warehouse, run: WeightRun) -> None:
    """Write one run's posteriors, weights and run row in one transaction: all of it, or (on any error) nothing."""
    write_weight_runs(warehouse, [run])


# The latest succeeded run of each experiment (a later run id breaks a tie of computed_at).
WEIGHTS_IN_FORCE_QUERY = f"""
with ranked_runs as (
    select
        run_id,
        row_number() over (partition by experiment_id order by computed_at desc, run_id desc) as recency
    from {ML_SCHEMA}.{RUNS_TABLE}
    where status = 'succeeded'
)

select
    weights.experiment_id,
    weights.segment_key,
    weights.variant_id,
    weights.weight
from {ML_SCHEMA}.{WEIGHTS_TABLE} as weights
inner join ranked_runs on weights.run_id = ranked_runs.run_id
where ranked_runs.recency = 1
order by weights.experiment_id, weights.segment_key, weights.variant_id
"""


def load_weights_in_force(session: Session) -> WeightsInForce:
    """The weights of every experiment's latest succeeded run, ready for the allocator."""
    if not session.table_exists(ML_SCHEMA, RUNS_TABLE):
        return WeightsInForce({})
    return WeightsInForce.from_rows(session.fetchall(WEIGHTS_IN_FORCE_QUERY))
