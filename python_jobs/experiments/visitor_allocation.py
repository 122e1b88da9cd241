"""One visitor's variant, from the warehouse: what `segments experiments allocate` prints.

A visitor already in `raw.experiment_assignments` keeps their variant (sticky). A new visitor's segment key is
computed from the context with the segmentation config in force (`python_jobs.experiments.context`, the SQL
models' rules); in auto mode, once the experiment has a clustering model, it is the visitor's nearest cluster
under its latest model (`cluster:3`, encoded and compared as `int_experiment_cluster_assignments` does), the key
the weights were learnt under. The variant is drawn from the weights in force (the experiment's latest weight
run, equal weights over its variants when it has none yet) by `python_jobs.experiments.allocation`'s
deterministic hash, so asking twice gives the same answer. Nothing is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np

from python_jobs.experiments.allocation import EXPERIMENT_WIDE, Allocator, WeightsInForce
from python_jobs.experiments.config import SegmentationConfig, _latest
from python_jobs.experiments.context import (
    ContextError,
    context_segment_key,
    parse_context_json,
    uniform_context,
)
from python_jobs.experiments.definitions import CHANNEL_FIELDS, HOUR_BUCKETS, cluster_segment_key
from python_jobs.experiments.tables import ML_SCHEMA, RUNS_TABLE, WEIGHTS_IN_FORCE_QUERY
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import RAW_SCHEMA


class AllocationError(ValueError):
    """A request that cannot be answered; the message names the bad value."""


@dataclass(frozen=True)
class VisitorAllocation:
    experiment_id: str
    visitor_id: str
    variant_id: str
    segment_key: str
    is_new: bool  # False when the visitor already had this variant
    weights_from: str  # the weight run used, `equal weights`, or `existing assignment`

    def as_dict(self) -> dict[str, object]:
        return {
            "experiment_id": self.experiment_id,
            "visitor_id": self.visitor_id,
            "variant_id": self.variant_id,
            "segment_key": self.segment_key,
            "is_new": self.is_new,
            "weights_from": self.weights_from,
        }


def _parse_user_agent(user_agent: str) -> tuple[str, str | None, str | None]:
    from python_jobs.experiments.user_agents import parse_user_agent

    parsed = parse_user_agent(user_agent)
    return parsed.device, parsed.os, parsed.browser


_LATEST_CLUSTER_MODEL = (
    f"select model_version from {ML_SCHEMA}.experiment_cluster_models where experiment_id = ? "
    "order by trained_at desc, model_version desc limit 1"
)


def _cluster_model(session, experiment_id: str) -> tuple[list, list[int], np.ndarray] | None:
    """The experiment's latest clustering model (features, cluster ids, centroids), or None when it has none."""
    from python_jobs.experiments.clustering import Feature

    if not session.table_exists(ML_SCHEMA, "experiment_cluster_models"):
        return None
    latest = session.fetchone(_LATEST_CLUSTER_MODEL, [experiment_id])
    if latest is None:
        return None
    features = [
        Feature(*row)
        for row in session.fetchall(
            f"select field, encoding, field_value, center, scale from {ML_SCHEMA}.experiment_cluster_features "
            "where model_version = ? order by feature_index",
            latest,
        )
    ]
    centroid_rows = session.fetchall(
        f"select cluster_id, feature_index, centroid_value from {ML_SCHEMA}.experiment_cluster_centroids "
        "where model_version = ?",
        latest,
    )
    clusters = sorted({cluster_id for cluster_id, _index, _value in centroid_rows})
    centroids = np.zeros((len(clusters), len(features)))
    for cluster_id, feature_index, value in centroid_rows:
        centroids[clusters.index(cluster_id), feature_index] = value
    return features, clusters, centroids


def _nearest_cluster(model: tuple[list, list[int], np.ndarray], uniform: dict[str, object]) -> str:
    """The visitor's cluster key under the model."""
    from python_jobs.experiments.clustering import (
        CATEGORICAL_FIELDS,
        NUMERIC_FIELDS,
        encode,
        nearest_centroid,
    )

    features, clusters, centroids = model
    hour = int(uniform["hour"])
    bucket = next(name for name, first, last in HOUR_BUCKETS if first <= hour <= last)
    columns = {"visitor_id": ["new"], "hour_bucket": [bucket]}
    columns |= {
        field: [uniform.get(field)] for field in CATEGORICAL_FIELDS + NUMERIC_FIELDS if field != "hour_bucket"
    }
    nearest = int(nearest_centroid(encode(columns, features), centroids)[0])
    return cluster_segment_key(clusters[nearest])


@dataclass(frozen=True)
class ExperimentState:
    """What allocating any visitor of one experiment reads from the warehouse, read once: the experiment's time
    zone, the weights in force (and where they come from), the segmentation config and, in auto mode, the latest
    clustering model. A service may keep it for a moment and allocate many visitors from it (`allocate_with`);
    only the visitor's own earlier assignment must be read per visitor."""

    experiment_id: str
    time_zone: str
    weights: WeightsInForce
    weights_from: str
    config: SegmentationConfig
    cluster_model: tuple[list, list[int], np.ndarray] | None  # features, cluster ids, centroids


def _checked_request(visitor_id: str, channel: str, context_json: str) -> dict[str, object]:
    if not visitor_id:
        raise AllocationError("--visitor is empty")
    if channel not in CHANNEL_FIELDS:
        raise AllocationError(f"--channel {channel!r} is not one of {', '.join(CHANNEL_FIELDS)}")
    try:
        return parse_context_json(context_json)
    except ContextError as error:
        raise AllocationError(str(error)) from None


def load_experiment_state(session, experiment_id: str) -> ExperimentState:
    """The experiment's allocation inputs, from one session; AllocationError when it cannot be allocated."""
    if not session.table_exists(RAW_SCHEMA, "experiments"):
        raise AllocationError(f"no {RAW_SCHEMA}.experiments table: load or generate experiments first")
    found = session.fetchone(
        f"select time_zone from {RAW_SCHEMA}.experiments where trim(experiment_id) = ?", [experiment_id]
    )
    if found is None:
        raise AllocationError(f"no experiment {experiment_id!r} in {RAW_SCHEMA}.experiments")
    rows = []
    run_id = None
    if session.table_exists(ML_SCHEMA, RUNS_TABLE):
        rows = [row for row in session.fetchall(WEIGHTS_IN_FORCE_QUERY) if row[0] == experiment_id]
        found_run = session.fetchone(
            f"select run_id from {ML_SCHEMA}.{RUNS_TABLE} where experiment_id = ? "
            "order by computed_at desc, run_id desc limit 1",
            [experiment_id],
        )
        run_id = found_run[0] if found_run else None
    weights_from = f"weight run {run_id}" if rows else "equal weights"
    if not rows:
        variants = [
            row[0]
            for row in session.fetchall(
                f"select distinct trim(variant_id) from {RAW_SCHEMA}.experiment_variants "
                "where trim(experiment_id) = ? order by 1",
                [experiment_id],
            )
        ]
        if not variants:
            raise AllocationError(
                f"experiment {experiment_id!r} has no variants in {RAW_SCHEMA}.experiment_variants"
            )
        rows = [(experiment_id, EXPERIMENT_WIDE, variant, 1 / len(variants)) for variant in variants]
    config = _latest(session, experiment_id) or SegmentationConfig(experiment_id)
    cluster_model = _cluster_model(session, experiment_id) if config.mode == "auto" else None
    return ExperimentState(
        experiment_id, found[0], WeightsInForce.from_rows(rows), weights_from, config, cluster_model
    )


def existing_variant(session, experiment_id: str, visitor_id: str) -> str | None:
    """The variant the visitor was first assigned in the experiment, or None for a new visitor."""
    existing = session.fetchone(
        f"select trim(variant_id) from {RAW_SCHEMA}.experiment_assignments "
        "where trim(experiment_id) = ? and trim(visitor_id) = ? order by assigned_at limit 1",
        [experiment_id, visitor_id],
    )
    return existing[0] if existing else None


# PostgreSQL records a new visitor's assignment in one round trip, with no lock held in the service: a transaction
# advisory lock on the (experiment, visitor) pair makes two requests for the same visitor, from any process of the
# service, take turns, and the insert happens only when the visitor has no assignment yet. The caller computes the
# new visitor's variant first (a pure function of the held state and the visitor); the statement answers the
# variant in force and whether it was recorded now.
# The commit does not wait for the write-ahead log to reach the disk (`synchronous_commit` off, for this
# transaction only): that wait is most of an allocation's time. A database crash may lose the last fraction of a
# second of assignments; those visitors are drawn again by the same hash, so they keep their variant unless the
# weights changed in between.
_RECORD_FIRST_ASSIGNMENT = f"""
set local synchronous_commit to off;
select pg_advisory_xact_lock(hashtextextended(? || chr(31) || ?, 0));
with earlier as (
    select trim(variant_id) as variant_id from {RAW_SCHEMA}.experiment_assignments
    where trim(experiment_id) = ? and trim(visitor_id) = ?
    order by assigned_at
    limit 1
),
recorded as (
    insert into {RAW_SCHEMA}.experiment_assignments
        (experiment_id, variant_id, visitor_id, assigned_at, channel, context)
    select ?, ?, ?, ?, ?, ?
    where not exists (select from earlier)
    returning variant_id
)
select variant_id, false from earlier
union all
select variant_id, true from recorded
"""


def record_first_assignment(
    session, allocation: VisitorAllocation, assigned_at: dt.datetime, channel: str, context_json: str
) -> VisitorAllocation:
    """On PostgreSQL: record `allocation` (computed for a new visitor) unless the visitor already has a variant;
    the allocation in force either way (the earlier variant, `is_new` False, when there was one)."""
    experiment_id, visitor_id = allocation.experiment_id, allocation.visitor_id
    variant_id, is_new = session.fetchone(
        _RECORD_FIRST_ASSIGNMENT,
        [
            experiment_id,
            visitor_id,
            experiment_id,
            visitor_id,
            experiment_id,
            allocation.variant_id,
            visitor_id,
            assigned_at.replace(tzinfo=None),
            channel,
            context_json,
        ],
    )
    if is_new:
        return allocation
    return replace(allocation, variant_id=variant_id, is_new=False, weights_from="existing assignment")


def allocate_with(
    state: ExperimentState,
    visitor_id: str,
    channel: str,
    context_json: str,
    existing: str | None,
    now: dt.datetime | None = None,
) -> VisitorAllocation:
    """One visitor's allocation from the experiment's state and the visitor's earlier variant (if any)."""
    visitor_id = visitor_id.strip()
    context = _checked_request(visitor_id, channel, context_json)
    uniform = uniform_context(
        channel, context, now or dt.datetime.now(dt.UTC), state.time_zone, _parse_user_agent
    )
    cluster = _nearest_cluster(state.cluster_model, uniform) if state.cluster_model is not None else None
    key = cluster or context_segment_key(uniform, state.config.segment_by)
    allocator = Allocator(state.weights, {(state.experiment_id, visitor_id): existing} if existing else None)
    allocation = allocator.allocate(state.experiment_id, visitor_id, key)
    weights_from = state.weights_from if allocation.is_new else "existing assignment"
    return VisitorAllocation(
        state.experiment_id, visitor_id, allocation.variant_id, key, allocation.is_new, weights_from
    )


def allocate_visitor(
    warehouse: Warehouse,
    experiment_id: str,
    visitor_id: str,
    channel: str,
    context_json: str,
    now: dt.datetime | None = None,
) -> VisitorAllocation:
    experiment_id, visitor_id = experiment_id.strip(), visitor_id.strip()
    _checked_request(visitor_id, channel, context_json)
    with warehouse.session(read_only=True) as session:
        state = load_experiment_state(session, experiment_id)
        existing = existing_variant(session, experiment_id, visitor_id)
    return allocate_with(state, visitor_id, channel, context_json, existing, now)
