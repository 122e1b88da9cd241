"""An experiment's segmentation as the `segments experiments` commands see it: its eligibility for segmenting,
the segments it has, and the clustering of its visitors (the latest model, and training a new one).

Like the rest of the experiment routes, only counts, rates and words leave the service: no bandit state.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from python_jobs.service.errors import ApiError, error_responses
from python_jobs.service.experiments import ExperimentId, _require_experiment, _warehouse
from python_jobs.service.state import ServiceWarehouse
from python_jobs.warehouse.connection import Session

router = APIRouter(prefix="/segmentation", tags=["experiment segmentation"])
log = logging.getLogger("segments.service")

_LATEST_WHOLE_EXPERIMENT_TRAFFIC = (
    "select activity_date, trailing_7_day_mean_visitors from marts.experiment_traffic_stats "
    "where experiment_id = ? and is_whole_experiment order by activity_date desc limit 1"
)


class Eligibility(BaseModel):
    experiment_id: str
    traffic_as_of: dt.date | None
    trailing_7_day_mean_visitors: float | None
    auto_activation_threshold: int
    is_eligible: bool
    mode_in_force: str
    recommendation_id: str | None
    recommended_at: dt.datetime | None
    recommended_mode: str | None
    recommended_segment_by: list[str]
    recommendation_status: str | None
    reason: str


class SegmentOut(BaseModel):
    segment_key: str
    assignments: int
    conversions: int
    variants: int


class Segments(BaseModel):
    experiment_id: str
    segments: list[SegmentOut]


class ClusterOut(BaseModel):
    cluster_id: int
    visitors: int
    description: str


class ClusteringStatus(BaseModel):
    experiment_id: str
    model_version: str
    trained_at: dt.datetime
    assignments_used: int
    silhouette: float | None
    clusters: list[ClusterOut]


def _require_mart(session: Session, name: str) -> None:
    if not session.table_exists("marts", name):
        raise ApiError(503, f"marts.{name} is not built yet: run `segments build`")


# ------------------------------------------------------------------------------------------------ eligibility


def _eligibility(warehouse: ServiceWarehouse, experiment_id: str) -> dict[str, Any]:
    from python_jobs.experiments.config import SegmentationConfig, _latest
    from python_jobs.experiments.eligibility import list_recommendations

    with warehouse.session(read_only=True) as session:
        _require_experiment(session, experiment_id)
        _require_mart(session, "experiment_traffic_stats")
        traffic = session.fetchone(_LATEST_WHOLE_EXPERIMENT_TRAFFIC, [experiment_id])
        config = _latest(session, experiment_id) or SegmentationConfig(experiment_id)
    as_of, mean = traffic if traffic is not None else (None, None)
    threshold = config.auto_activation_threshold
    # The rule `segments experiments check-eligibility` applies, on the traffic and the threshold in force now.
    eligible = mean is not None and mean >= threshold
    latest = next(iter(list_recommendations(warehouse, experiment_id)), None)
    if mean is None:
        reason = "no traffic yet in marts.experiment_traffic_stats"
    else:
        reason = (
            f"{mean:,.1f} visitors a day over the 7 days to {as_of}, "
            f"{'at least' if eligible else 'under'} the {threshold:,} threshold"
        )
    if latest is None:
        reason += "; no recommendation yet (`segments experiments check-eligibility` makes them)"
    return {
        "experiment_id": experiment_id,
        "traffic_as_of": as_of,
        "trailing_7_day_mean_visitors": mean,
        "auto_activation_threshold": threshold,
        "is_eligible": eligible,
        "mode_in_force": config.mode,
        "recommendation_id": latest and latest["recommendation_id"],
        "recommended_at": latest and latest["recommended_at"],
        "recommended_mode": latest and latest["recommended_mode"],
        "recommended_segment_by": json.loads(latest["segment_by"] or "[]") if latest else [],
        "recommendation_status": latest and latest["status"],
        "reason": reason,
    }


@router.get(
    "/{experiment_id}/eligibility", response_model=Eligibility, responses=error_responses(401, 404, 422, 503)
)
async def eligibility(experiment_id: ExperimentId, request: Request) -> dict[str, Any]:
    """Whether the experiment has the traffic to be segmented: the latest trailing 7-day mean of visitors a day
    (marts.experiment_traffic_stats) against the auto-activation threshold in force, with the latest
    recommendation of `segments experiments check-eligibility` (its mode and fields) and its status."""
    return await run_in_threadpool(_eligibility, _warehouse(request), experiment_id)


# --------------------------------------------------------------------------------------------------- segments


def _segments(warehouse: ServiceWarehouse, experiment_id: str) -> dict[str, Any]:
    with warehouse.session(read_only=True) as session:
        _require_experiment(session, experiment_id)
        _require_mart(session, "experiment_segment_performance")
        rows = session.fetch_arrow(
            "select segment_key, cast(sum(assignments) as bigint) as assignments, "
            "cast(sum(conversions) as bigint) as conversions, count(*) as variants "
            "from marts.experiment_segment_performance where experiment_id = ? "
            "group by segment_key order by segment_key",
            [experiment_id],
        ).to_pylist()
    return {"experiment_id": experiment_id, "segments": rows}


@router.get(
    "/{experiment_id}/segments", response_model=Segments, responses=error_responses(401, 404, 422, 503)
)
async def segments(experiment_id: ExperimentId, request: Request) -> dict[str, Any]:
    """The experiment's segment keys (`all` when it is not segmented), each with its visitors assigned, their
    conversions and the variants it has (marts.experiment_segment_performance)."""
    return await run_in_threadpool(_segments, _warehouse(request), experiment_id)


# ------------------------------------------------------------------------------------------------- clustering


def _latest_model(session: Session, experiment_id: str) -> dict[str, Any] | None:
    from python_jobs.experiments.clustering import CLUSTERS_TABLE, MODELS_TABLE
    from python_jobs.warehouse.ml_tables import ML_SCHEMA

    if not session.table_exists(ML_SCHEMA, MODELS_TABLE):
        return None
    model = session.fetchone(
        f"select model_version, trained_at, assignments_used, silhouette from {ML_SCHEMA}.{MODELS_TABLE} "
        "where experiment_id = ? order by trained_at desc, model_version desc limit 1",
        [experiment_id],
    )
    if model is None:
        return None
    version, trained_at, assignments_used, silhouette = model
    clusters = session.fetch_arrow(
        f"select cluster_id, visitors, description from {ML_SCHEMA}.{CLUSTERS_TABLE} "
        "where model_version = ? order by cluster_id",
        [version],
    ).to_pylist()
    return {
        "experiment_id": experiment_id,
        "model_version": version,
        "trained_at": trained_at,
        "assignments_used": assignments_used,
        "silhouette": silhouette,
        "clusters": clusters,
    }


def _clustering_status(warehouse: ServiceWarehouse, experiment_id: str) -> dict[str, Any]:
    with warehouse.session(read_only=True) as session:
        _require_experiment(session, experiment_id)
        model = _latest_model(session, experiment_id)
    if model is None:
        raise ApiError(
            404,
            f"experiment {experiment_id!r} has no cluster model: "
            f"POST /segmentation/{experiment_id}/clustering/train makes one",
        )
    return model


def _train(warehouse: ServiceWarehouse, experiment_id: str) -> dict[str, Any]:
    from python_jobs.experiments.clustering import ClusteringError, cluster_experiment

    with warehouse.session(read_only=True) as session:
        _require_experiment(session, experiment_id)
    try:
        with warehouse.writes():
            version = cluster_experiment(warehouse, experiment_id, echo=log.info)
    except ClusteringError as error:
        raise ApiError(409, str(error)) from None
    with warehouse.session(read_only=True) as session:
        model = _latest_model(session, experiment_id)
    if model is None or model["model_version"] != version:
        raise ApiError(409, f"model {version} was trained, but a newer one was written meanwhile")
    return model


@router.get(
    "/{experiment_id}/clustering/status",
    response_model=ClusteringStatus,
    responses=error_responses(401, 404, 422, 503),
)
async def clustering_status(experiment_id: ExperimentId, request: Request) -> dict[str, Any]:
    """The experiment's latest cluster model: its version, when it was trained, on how many assignments, and
    each cluster's visitors and description in words; 404 when none was trained."""
    return await run_in_threadpool(_clustering_status, _warehouse(request), experiment_id)


@router.post(
    "/{experiment_id}/clustering/train",
    response_model=ClusteringStatus,
    responses=error_responses(401, 404, 409, 422, 503),
)
async def clustering_train(experiment_id: ExperimentId, request: Request) -> dict[str, Any]:
    """Train a new cluster model now, as `segments experiments cluster EXPERIMENT` does (k-means on the visitors'
    contexts); 409 with the count when the experiment has under 1,000 assignments. Answers the new model."""
    return await run_in_threadpool(_train, _warehouse(request), experiment_id)
