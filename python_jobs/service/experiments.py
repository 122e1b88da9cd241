"""Experiments: a visitor's variant, and each experiment's segmentation config, recommendations and metrics.

Only rates, counts and weights leave the service: the bandit's state (its Beta posteriors' alpha and beta, the
Monte Carlo probabilities of being best) stays in the warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

import pyarrow as pa
from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from python_jobs.experiments.definitions import CHANNEL_FIELDS, SEGMENTATION_MODES
from python_jobs.service.allocation_states import ExperimentStates
from python_jobs.service.errors import ApiError, error_responses
from python_jobs.service.state import ServiceWarehouse
from python_jobs.warehouse.raw_tables import RAW_SCHEMA, RAW_TABLES

router = APIRouter(prefix="/experiments", tags=["experiments"])
config_router = APIRouter(prefix="/segmentation", tags=["experiment segmentation"])

ExperimentId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
RecommendationId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
ContextValue = str | int | float | bool | None


class AllocateRequest(BaseModel):
    visitor_id: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")
    channel: Literal[tuple(CHANNEL_FIELDS)]  # type: ignore[valid-type]
    context: dict[Annotated[str, Field(max_length=64)], ContextValue] = Field(
        default_factory=dict, max_length=32
    )


class AllocateResponse(BaseModel):
    experiment_id: str
    visitor_id: str
    variant_id: str
    segment_key: str
    is_new: bool
    weights_from: str


class ConfigOut(BaseModel):
    experiment_id: str
    mode: str
    segment_by: list[str]
    min_samples_per_segment: int
    auto_activation: bool
    auto_activation_threshold: int
    changed_at: dt.datetime | None
    changed_by: str | None


class ConfigChange(BaseModel):
    """The settings to change; those left out carry over from the config in force."""

    mode: Literal[tuple(SEGMENTATION_MODES)] | None = None  # type: ignore[valid-type]
    segment_by: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=8)
    min_samples_per_segment: int | None = Field(default=None, ge=1, le=10_000_000)
    auto_activation: bool | None = None
    auto_activation_threshold: int | None = Field(default=None, ge=1, le=1_000_000_000)


class RecommendationOut(BaseModel):
    recommendation_id: str
    experiment_id: str
    recommended_at: dt.datetime | None
    traffic_as_of: dt.date | None
    trailing_7_day_mean_visitors: float | None
    is_eligible: bool
    recommended_mode: str
    segment_by: list[str]
    best_single_variant_rate: float | None
    per_segment_rate: float | None
    expected_lift: float | None
    reason: str
    status: str


class Recommendations(BaseModel):
    experiment_id: str
    recommendations: list[RecommendationOut]


class DecisionOut(BaseModel):
    recommendation_id: str
    decision: str
    outcome: str


class VariantMetrics(BaseModel):
    segment_key: str
    variant_id: str
    assignments: int
    conversions: int
    conversion_rate: float | None
    conversion_rate_lower_95: float | None
    conversion_rate_upper_95: float | None
    experiment_conversion_rate: float | None
    lift_vs_experiment: float | None
    current_weight: float | None
    uses_experiment_weights: bool | None
    weights_computed_at: dt.datetime | None


class Metrics(BaseModel):
    experiment_id: str
    metrics: list[VariantMetrics]


def _warehouse(request: Request) -> ServiceWarehouse:
    return request.app.state.warehouse


def _states(request: Request) -> ExperimentStates:
    return request.app.state.experiment_states


def _require_experiment(session, experiment_id: str) -> None:
    if not session.table_exists(RAW_SCHEMA, "experiments"):
        raise ApiError(503, f"no {RAW_SCHEMA}.experiments table: load or generate experiments first")
    if (
        session.fetchone(
            f"select 1 from {RAW_SCHEMA}.experiments where trim(experiment_id) = ?", [experiment_id]
        )
        is None
    ):
        raise ApiError(404, f"no experiment {experiment_id!r} in {RAW_SCHEMA}.experiments")


# ------------------------------------------------------------------------------------------------- allocation


def _allocate(
    warehouse: ServiceWarehouse, states: ExperimentStates, experiment_id: str, body: AllocateRequest
) -> dict[str, Any]:
    from python_jobs.experiments.visitor_allocation import (
        AllocationError,
        allocate_with,
        existing_variant,
        record_first_assignment,
    )

    context_json = json.dumps(body.context)
    now = dt.datetime.now(dt.UTC)
    visitor_id = body.visitor_id.strip()
    try:
        state = states.get(warehouse, experiment_id.strip())
        if warehouse.kind == "postgres":
            # One round trip, no lock in the process: the statement takes turns per visitor in the database.
            fresh = allocate_with(state, visitor_id, body.channel, context_json, None, now)
            with warehouse.session() as session:
                allocation = record_first_assignment(session, fresh, now, body.channel, context_json)
            return allocation.as_dict()
        # DuckDB: the visitor's earlier assignment is read and, for a new visitor, the new one written under the
        # service's write lock: asked twice at once, a visitor is drawn the same variant (the draw is a hash)
        # and recorded once.
        with warehouse.writes(), warehouse.session() as session:
            existing = existing_variant(session, state.experiment_id, visitor_id)
            allocation = allocate_with(state, visitor_id, body.channel, context_json, existing, now)
            if allocation.is_new:
                row = {
                    "experiment_id": allocation.experiment_id,
                    "variant_id": allocation.variant_id,
                    "visitor_id": allocation.visitor_id,
                    "assigned_at": now.replace(tzinfo=None),
                    "channel": body.channel,
                    "context": context_json,
                }
                table = pa.Table.from_pylist([row], RAW_TABLES["experiment_assignments"])
                session.insert_arrow(RAW_SCHEMA, "experiment_assignments", table)
    except AllocationError as error:
        raise ApiError(404 if str(error).startswith("no experiment") else 400, str(error)) from None
    return allocation.as_dict()


@router.post(
    "/{experiment_id}/allocate",
    response_model=AllocateResponse,
    responses=error_responses(400, 401, 404, 413, 422, 503),
)
async def allocate(experiment_id: ExperimentId, body: AllocateRequest, request: Request) -> dict[str, Any]:
    """The visitor's variant and segment key, as `segments experiments allocate` computes it; a new visitor's
    assignment is recorded in raw.experiment_assignments, so asking again gives the same variant."""
    return await run_in_threadpool(_allocate, _warehouse(request), _states(request), experiment_id, body)


# ----------------------------------------------------------------------------------------------------- config


def _config_out(config) -> dict[str, Any]:
    return {
        "experiment_id": config.experiment_id,
        "mode": config.mode,
        "segment_by": list(config.segment_by),
        "min_samples_per_segment": config.min_samples_per_segment,
        "auto_activation": config.auto_activation,
        "auto_activation_threshold": config.auto_activation_threshold,
        "changed_at": config.changed_at,
        "changed_by": config.changed_by,
    }


def _get_config(warehouse: ServiceWarehouse, experiment_id: str) -> dict[str, Any]:
    from python_jobs.experiments.config import SegmentationConfig, _latest

    with warehouse.session(read_only=True) as session:
        _require_experiment(session, experiment_id)
        return _config_out(_latest(session, experiment_id) or SegmentationConfig(experiment_id))


def _put_config(warehouse: ServiceWarehouse, experiment_id: str, change: ConfigChange) -> dict[str, Any]:
    from python_jobs.experiments.config import ConfigError, change_config, parse_segment_by

    if all(value is None for value in change.model_dump().values()):
        raise ApiError(400, "the body changes nothing: give at least one setting")
    with warehouse.session(read_only=True) as session:
        _require_experiment(session, experiment_id)
    try:
        fields = parse_segment_by(",".join(change.segment_by)) if change.segment_by is not None else None
        with warehouse.writes():
            changed = change_config(
                warehouse,
                experiment_id,
                changed_by="api",
                mode=change.mode,
                segment_by=fields,
                min_samples_per_segment=change.min_samples_per_segment,
                auto_activation=change.auto_activation,
                auto_activation_threshold=change.auto_activation_threshold,
            )
    except ConfigError as error:
        raise ApiError(400, str(error).replace("--", "")) from None
    return _config_out(changed)


@config_router.get(
    "/{experiment_id}/config", response_model=ConfigOut, responses=error_responses(401, 404, 422, 503)
)
async def get_config(experiment_id: ExperimentId, request: Request) -> dict[str, Any]:
    """The segmentation config in force (the defaults when it was never changed)."""
    return await run_in_threadpool(_get_config, _warehouse(request), experiment_id)


@config_router.put(
    "/{experiment_id}/config",
    response_model=ConfigOut,
    responses=error_responses(400, 401, 404, 413, 422, 503),
)
async def put_config(experiment_id: ExperimentId, change: ConfigChange, request: Request) -> dict[str, Any]:
    """Change the config: a new row in ml.experiment_segmentation_config (changed_by `api`); nothing is
    overwritten and the settings not given carry over."""
    changed = await run_in_threadpool(_put_config, _warehouse(request), experiment_id, change)
    _states(request).forget(experiment_id.strip())  # the next allocation reads the new config
    return changed


# -------------------------------------------------------------------------------------------- recommendations


def _recommendations(warehouse: ServiceWarehouse, experiment_id: str) -> dict[str, Any]:
    from python_jobs.experiments.eligibility import list_recommendations

    with warehouse.session(read_only=True) as session:
        _require_experiment(session, experiment_id)
    rows = list_recommendations(warehouse, experiment_id)
    fields = RecommendationOut.model_fields
    shown = []
    for row in rows:
        out = {name: row.get(name) for name in fields}
        out["segment_by"] = json.loads(row.get("segment_by") or "[]")
        shown.append(out)
    return {"experiment_id": experiment_id, "recommendations": shown}


@config_router.get(
    "/{experiment_id}/recommendations",
    response_model=Recommendations,
    responses=error_responses(401, 404, 422, 503),
)
async def recommendations(experiment_id: ExperimentId, request: Request) -> dict[str, Any]:
    """The experiment's segmentation recommendations, newest first, each with its status."""
    return await run_in_threadpool(_recommendations, _warehouse(request), experiment_id)


def _decide(
    warehouse: ServiceWarehouse, experiment_id: str, recommendation_id: str, decision: str
) -> dict[str, Any]:
    from python_jobs.experiments.eligibility import RecommendationError, decide, list_recommendations

    known = {row["recommendation_id"] for row in list_recommendations(warehouse, experiment_id)}
    if recommendation_id not in known:
        raise ApiError(404, f"experiment {experiment_id!r} has no recommendation {recommendation_id!r}")
    try:
        with warehouse.writes():
            outcome = decide(warehouse, recommendation_id, decision, decided_by="api")
    except RecommendationError as error:
        raise ApiError(409, str(error)) from None
    return {"recommendation_id": recommendation_id, "decision": decision, "outcome": outcome}


@config_router.post(
    "/{experiment_id}/recommendations/{recommendation_id}/accept",
    response_model=DecisionOut,
    responses=error_responses(401, 404, 409, 422, 503),
)
async def accept(experiment_id: ExperimentId, recommendation_id: RecommendationId, request: Request) -> dict:
    """Accept a recommendation: record it and apply its config (changed_by `recommendation <id>`)."""
    decided = await run_in_threadpool(
        _decide, _warehouse(request), experiment_id, recommendation_id, "accepted"
    )
    _states(request).forget(experiment_id.strip())  # accepting may change the config allocation reads
    return decided


@config_router.post(
    "/{experiment_id}/recommendations/{recommendation_id}/dismiss",
    response_model=DecisionOut,
    responses=error_responses(401, 404, 409, 422, 503),
)
async def dismiss(experiment_id: ExperimentId, recommendation_id: RecommendationId, request: Request) -> dict:
    """Dismiss a recommendation: record it; the config is unchanged."""
    return await run_in_threadpool(
        _decide, _warehouse(request), experiment_id, recommendation_id, "dismissed"
    )


# ---------------------------------------------------------------------------------------------------- metrics


def _metrics(warehouse: ServiceWarehouse, experiment_id: str) -> dict[str, Any]:
    columns = ", ".join(name for name in VariantMetrics.model_fields)
    with warehouse.session(read_only=True) as session:
        _require_experiment(session, experiment_id)
        if not session.table_exists("marts", "experiment_segment_performance"):
            raise ApiError(503, "marts.experiment_segment_performance is not built yet: run `segments build`")
        rows = session.fetch_arrow(
            f"select {columns} from marts.experiment_segment_performance where experiment_id = ? "
            "order by segment_key, variant_id",
            [experiment_id],
        ).to_pylist()
    return {"experiment_id": experiment_id, "metrics": rows}


@config_router.get(
    "/{experiment_id}/metrics", response_model=Metrics, responses=error_responses(401, 404, 422, 503)
)
async def metrics(experiment_id: ExperimentId, request: Request) -> dict[str, Any]:
    """Per segment and variant: assignments, conversions, conversion rate with its 95% interval, lift over the
    experiment, and the allocation weight in force (marts.experiment_segment_performance)."""
    return await run_in_threadpool(_metrics, _warehouse(request), experiment_id)
