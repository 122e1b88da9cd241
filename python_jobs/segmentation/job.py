"""The `cluster_customers` job: sample the customers, segment every axis, write the run to schema `ml`.

A run is all or nothing for its readers. Its `segmentation_runs` row is written first ('running', in its own
short transaction, so a crashed run is visible), no transaction is held open while the models are fitted, and
then every result row is written in ONE transaction together with the switch to 'succeeded'. dbt reads only the
latest succeeded run, so it never sees half a run; a failure marks the run 'failed' and writes nothing else.
The run row names its process (host, pid, start time) and a heartbeat refreshed after every axis; a run whose
process is gone (killed, the machine restarted) is marked 'abandoned' with the reason by the next run.
Models are stored as rows (scaling, centroids), never as pickles, so SQL can assign customers to segments.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from python_jobs.definitions import (
    AXES,
    AXIS_CLUSTERED,
    AXIS_NO_VARIATION,
    AXIS_TOO_FEW_CUSTOMERS,
    MIN_CUSTOMERS_PER_AXIS,
    UNCLUSTERED_AXIS_SEGMENTS,
    Axis,
)
from python_jobs.segmentation.clustering import AxisData, AxisFit, ClusteringParameters, fit_axes
from python_jobs.segmentation.sampling import CustomerSample, draw_sample
from python_jobs.warehouse.connection import Session, Warehouse
from python_jobs.warehouse.ml_tables import ML_SCHEMA, ML_TABLES, add_missing_columns
from python_jobs.warehouse.run_owner import ProcessOwner
from python_jobs.warehouse.run_owner import mark_abandoned_runs as shared_mark_abandoned_runs

if TYPE_CHECKING:
    # Only for the annotation: the orchestrator is what imports and registers this job, not the other way round.
    from python_jobs.warehouse.jobs import JobContext

# The job name the `ml` sources give in `meta.segments_job`; `warehouse.jobs.JOBS` registers `run_job` under it.
JOB_NAME = "cluster_customers"
RUNS_TABLE = "segmentation_runs"
# Written in this order inside the final transaction; the run row is updated after them.
RESULT_TABLES = (
    "segment_axes",
    "segment_feature_scaling",
    "segment_definitions",
    "segment_centroids",
    "segment_robustness",
)

# Fewer customers than this are refused: k-means with up to six segments and a bootstrap need a population to
# describe, and a handful of customers gives segments of one or two people with a meaningless "perfect" stability.
MIN_CUSTOMERS = 50

Echo = Callable[[str], None]
# Frozen, so one shared default instance is safe.
DEFAULT_PARAMETERS = ClusteringParameters()


def parameters_json(params: ClusteringParameters) -> str:
    """The run's parameters as stored in `segmentation_runs.parameters`."""
    return json.dumps(dataclasses.asdict(params), sort_keys=True)


def new_run_id(params: ClusteringParameters, started_at: dt.datetime) -> str:
    """`seg_<UTC start>_<8 hex>`: sortable by time, and unique even for two runs started in the same second."""
    digest = hashlib.sha256(f"{parameters_json(params)}|{uuid.uuid4().hex}".encode()).hexdigest()[:8]
    return f"seg_{started_at.astimezone(dt.UTC):%Y%m%dT%H%M%S}_{digest}"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# The bootstrap is most of the job's time on a small warehouse; a build that does not need the full measure of
# stability (a quick look, a test of something else) can ask for fewer resamples. Stored with the run.
BOOTSTRAP_RESAMPLES_ENV = "SEGMENTS_BOOTSTRAP_RESAMPLES"


def build_parameters() -> ClusteringParameters:
    """The parameters of a run in `segments build`: the defaults, with $SEGMENTS_BOOTSTRAP_RESAMPLES if set."""
    raw = os.environ.get(BOOTSTRAP_RESAMPLES_ENV, "").strip()
    if not raw:
        return DEFAULT_PARAMETERS
    try:
        resamples = int(raw)
    except ValueError:
        raise ValueError(f"{BOOTSTRAP_RESAMPLES_ENV}={raw!r} is not a whole number") from None
    return dataclasses.replace(DEFAULT_PARAMETERS, bootstrap_resamples=resamples)


def run_job(context: JobContext) -> str:
    """Entry point for the build orchestrator: a run with the default parameters (see `build_parameters`)."""
    return cluster_customers(context.warehouse, build_parameters(), echo=context.echo)


def cluster_customers(
    warehouse: Warehouse, params: ClusteringParameters = DEFAULT_PARAMETERS, echo: Echo = print
) -> str:
    """Segment the customers on every axis and record the run; returns its run_id."""
    started_at = _utc_now()
    run_id = new_run_id(params, started_at)
    with warehouse.session() as session:
        for abandoned, reason in mark_abandoned_runs(session).items():
            echo(f"Run {abandoned} marked abandoned: {reason}.")
        for unfinished in remove_unfinished_results(session):
            echo(f"Rows of unfinished run {unfinished} removed.")
        _append_run_row(session, run_id, started_at, params)
    echo(f"Segmentation run {run_id}")
    try:
        phase = time.perf_counter()
        with warehouse.session() as session:
            sample = draw_sample(session, params.sample_size, str(params.seed))
        echo(_describe_sample(sample, time.perf_counter() - phase))
        if sample.population_size < MIN_CUSTOMERS:
            raise ValueError(
                f"{sample.population_size} customer(s) with features: too few to segment "
                f"(the segmentation needs at least {MIN_CUSTOMERS})"
            )

        phase = time.perf_counter()
        to_fit, unclustered = split_axes(sample)
        for axis in unclustered:
            echo(_describe_unclustered(axis))
        fits = fit_axes(
            to_fit,
            params,
            on_fit=lambda fit, finished: _after_axis(
                warehouse, run_id, fit, finished + len(unclustered), echo
            ),
        )
        echo(f"  fitted {len(fits)} axes in {time.perf_counter() - phase:.1f}s")

        phase = time.perf_counter()
        results = [fits.get(axis.name) or unclustered_by_name(unclustered, axis) for axis in AXES]
        tables = result_tables(run_id, results)
        with warehouse.session() as session:
            for name in RESULT_TABLES:
                if session.table_exists(ML_SCHEMA, name):
                    add_missing_columns(session, name, ML_TABLES[name])
                _append_rows(session, name, tables[name])
            _finish_run(session, run_id, sample)
        echo(f"  wrote the run in {time.perf_counter() - phase:.1f}s")
    except BaseException as error:
        _mark_failed(warehouse, run_id, error, echo)
        raise
    echo(f"Run {run_id} succeeded.")
    return run_id


def _after_axis(warehouse: Warehouse, run_id: str, fit: AxisFit, finished: int, echo: Echo) -> None:
    echo(_describe_fit(fit, finished, len(AXES)))
    with warehouse.session() as session:
        session.update_rows(ML_SCHEMA, RUNS_TABLE, {"heartbeat_at": _utc_now()}, {"run_id": run_id})


@dataclasses.dataclass(frozen=True)
class UnclusteredAxis:
    """An axis the run did not cluster: its placeable customers all look alike, or there are too few of them."""

    axis_name: str
    status: str
    placeable_customers: int


def split_axes(sample: CustomerSample) -> tuple[dict[str, AxisData], list[UnclusteredAxis]]:
    """Each axis's data (only the customers it can place), or why it cannot be clustered."""
    first_seen, weights = sample.first_seen_days(), sample.population_weights()
    to_fit: dict[str, AxisData] = {}
    unclustered: list[UnclusteredAxis] = []
    for axis in AXES:
        placeable = sample.placeable(axis)
        features = sample.features(axis.feature_names)[placeable]
        count = int(placeable.sum())
        if count < MIN_CUSTOMERS_PER_AXIS:
            unclustered.append(UnclusteredAxis(axis.name, AXIS_TOO_FEW_CUSTOMERS, count))
        elif len(np.unique(features, axis=0)) < 2:
            unclustered.append(UnclusteredAxis(axis.name, AXIS_NO_VARIATION, count))
        else:
            to_fit[axis.name] = AxisData(features, first_seen[placeable], weights[placeable])
    return to_fit, unclustered


def unclustered_by_name(unclustered: list[UnclusteredAxis], axis: Axis) -> UnclusteredAxis:
    return next(candidate for candidate in unclustered if candidate.axis_name == axis.name)


def _describe_unclustered(axis: UnclusteredAxis) -> str:
    segment, reason = UNCLUSTERED_AXIS_SEGMENTS[axis.status]
    return (
        f"  {axis.axis_name}: not clustered, everyone it can place is `{segment}` ({reason}; "
        f"{axis.placeable_customers:,} in the sample)"
    )


def mark_abandoned_runs(session: Session) -> dict[str, str]:
    """Mark 'abandoned' every 'running' run whose process is gone; run id -> reason."""
    if not session.table_exists(ML_SCHEMA, RUNS_TABLE):
        return {}
    add_missing_columns(session, RUNS_TABLE, ML_TABLES[RUNS_TABLE])
    return shared_mark_abandoned_runs(session, ML_SCHEMA, RUNS_TABLE, "finished_at")


def remove_unfinished_results(session: Session) -> list[str]:
    """On a target without transactions (Spark), remove the result rows of runs that failed or were abandoned
    part-way through writing them; returns those runs. Elsewhere such a run wrote nothing, so there is nothing
    to look for."""
    if session.transactional or not session.table_exists(ML_SCHEMA, RUNS_TABLE):
        return []
    present = [name for name in RESULT_TABLES if session.table_exists(ML_SCHEMA, name)]
    if not present:
        return []
    # One statement for every table: a Spark statement costs a second or two, whatever it reads.
    results = " union all ".join(
        f"select '{name}' as table_name, run_id from {ML_SCHEMA}.{name}" for name in present
    )
    rows = session.fetchall(
        f"select distinct results.table_name, results.run_id from ({results}) as results "
        f"join {ML_SCHEMA}.{RUNS_TABLE} as runs on runs.run_id = results.run_id "
        "where runs.status in ('failed', 'abandoned')"
    )
    for name in present:
        session.delete_runs(ML_SCHEMA, name, sorted({run_id for table, run_id in rows if table == name}))
    return sorted({run_id for _, run_id in rows})


def _describe_sample(sample: CustomerSample, seconds: float) -> str:
    tiers = ", ".join(f"{tier} {count:,}" for tier, count in sample.tier_sample.items())
    return (
        f"  sample drawn: {sample.table.num_rows:,} of {sample.population_size:,} customers "
        f"({tiers}) in {seconds:.1f}s"
    )


def _describe_fit(fit: AxisFit, finished: int, total: int) -> str:
    poor = " (poor)" if fit.is_silhouette_poor else ""
    robustness = "n/a (one segment)" if fit.mean_robustness() is None else f"{fit.mean_robustness():.2f}"
    return (
        f"  [{finished}/{total}] {fit.axis_name}: k={fit.segment_count}, silhouette {fit.silhouette:.2f}{poor}, "
        f"robustness {robustness} ({fit.seconds:.1f}s)"
    )


def _append_rows(session: Session, table_name: str, table: pa.Table) -> None:
    """Append one ml table's rows; the single place results are written, so a test can make it fail."""
    session.append_table(ML_SCHEMA, table_name, table)


def _append_run_row(
    session: Session, run_id: str, started_at: dt.datetime, params: ClusteringParameters
) -> None:
    row = {
        "run_id": run_id,
        "started_at": started_at,
        "finished_at": None,
        "status": "running",
        "parameters": parameters_json(params),
        "population_size": None,
        "sample_size": None,
        "error_message": None,
        **ProcessOwner.current().columns(started_at),
    }
    session.append_table(ML_SCHEMA, RUNS_TABLE, pa.Table.from_pylist([row], schema=ML_TABLES[RUNS_TABLE]))


def _finish_run(session: Session, run_id: str, sample: CustomerSample) -> None:
    values = {
        "status": "succeeded",
        "finished_at": _utc_now(),
        "population_size": sample.population_size,
        "sample_size": sample.table.num_rows,
    }
    session.update_rows(ML_SCHEMA, RUNS_TABLE, values, {"run_id": run_id})


def _mark_failed(warehouse: Warehouse, run_id: str, error: BaseException, echo: Echo) -> None:
    """Record the failure in its own transaction; if even that fails, say so but keep the original error."""
    lines = str(error).strip().splitlines()
    message = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    try:
        with warehouse.session() as session:
            values = {"status": "failed", "finished_at": _utc_now(), "error_message": message[:1000]}
            session.update_rows(ML_SCHEMA, RUNS_TABLE, values, {"run_id": run_id})
            remove_unfinished_results(session)
    except Exception as marking_error:
        echo(f"  could not mark run {run_id} as failed: {marking_error}")
    echo(f"Run {run_id} failed: {message}")


def result_tables(run_id: str, fits: list[AxisFit | UnclusteredAxis]) -> dict[str, pa.Table]:
    """Every result row of a run, one Arrow table per ml table, in the exact schemas of `ML_TABLES`."""
    rows: dict[str, list[dict]] = {name: [] for name in RESULT_TABLES}
    for fit in fits:
        if isinstance(fit, UnclusteredAxis):
            rows["segment_axes"].append(_unclustered_axis_row(run_id, fit))
            continue
        rows["segment_axes"].append(_axis_row(run_id, fit))
        rows["segment_feature_scaling"] += _scaling_rows(run_id, fit)
        rows["segment_definitions"] += _definition_rows(run_id, fit)
        rows["segment_centroids"] += _centroid_rows(run_id, fit)
        rows["segment_robustness"] += _robustness_rows(run_id, fit)
    return {name: pa.Table.from_pylist(rows[name], schema=ML_TABLES[name]) for name in RESULT_TABLES}


def _axis_row(run_id: str, fit: AxisFit) -> dict:
    return {
        "run_id": run_id,
        "axis_name": fit.axis_name,
        "segment_count": fit.segment_count,
        "silhouette": fit.silhouette,
        "is_silhouette_poor": fit.is_silhouette_poor,
        "silhouette_by_k": json.dumps({str(k): score for k, score in fit.silhouette_by_k.items()}),
        "feature_drop_agreement": fit.feature_drop_agreement,
        "time_window_agreement": fit.time_window_agreement,
        "axis_status": AXIS_CLUSTERED,
        "placeable_sample_customers": sum(fit.sample_customers),
    }


def _unclustered_axis_row(run_id: str, axis: UnclusteredAxis) -> dict:
    return {
        "run_id": run_id,
        "axis_name": axis.axis_name,
        "segment_count": 0,
        "silhouette": None,
        "is_silhouette_poor": None,
        "silhouette_by_k": None,
        "feature_drop_agreement": None,
        "time_window_agreement": None,
        "axis_status": axis.status,
        "placeable_sample_customers": axis.placeable_customers,
    }


def _scaling_rows(run_id: str, fit: AxisFit) -> list[dict]:
    return [
        {
            "run_id": run_id,
            "axis_name": fit.axis_name,
            "feature_name": name,
            "feature_mean": float(mean),
            "feature_scale": float(scale),
        }
        for name, mean, scale in zip(fit.feature_names, fit.feature_means, fit.feature_scales, strict=True)
    ]


def _definition_rows(run_id: str, fit: AxisFit) -> list[dict]:
    return [
        {
            "run_id": run_id,
            "axis_name": fit.axis_name,
            "segment_id": segment_id,
            "segment_name": fit.segment_names[segment_id - 1],
            "defining_features": fit.defining_features[segment_id - 1],
            "sample_customers": fit.sample_customers[segment_id - 1],
            "sample_share": fit.sample_shares[segment_id - 1],
        }
        for segment_id in range(1, fit.segment_count + 1)
    ]


def _centroid_rows(run_id: str, fit: AxisFit) -> list[dict]:
    return [
        {
            "run_id": run_id,
            "axis_name": fit.axis_name,
            "segment_id": segment_id,
            "feature_name": name,
            "centroid_value": float(value),
        }
        for segment_id, centroid in enumerate(fit.centroids, start=1)
        for name, value in zip(fit.feature_names, centroid, strict=True)
    ]


def _robustness_rows(run_id: str, fit: AxisFit) -> list[dict]:
    stability = fit.bootstrap_stability()
    overall = fit.overall_robustness()
    return [
        {
            "run_id": run_id,
            "axis_name": fit.axis_name,
            "segment_id": segment_id,
            "bootstrap_jaccard": fit.bootstrap_jaccard[segment_id - 1],
            "bootstrap_stability": stability[segment_id - 1],
            "feature_drop_agreement": fit.feature_drop_agreement,
            "time_window_agreement": fit.time_window_agreement,
            "overall_robustness": overall[segment_id - 1],
        }
        for segment_id in range(1, fit.segment_count + 1)
    ]
