"""Customer segments: one customer's memberships, the segments' statistics, the axes that define them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from python_jobs.definitions import AXES
from python_jobs.service.errors import ApiError, error_responses
from python_jobs.service.state import ServiceWarehouse

router = APIRouter(prefix="/segments", tags=["customer segments"])

CustomerId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")]
ProfileValue = str | int | float | bool | dt.date | dt.datetime | None


class Membership(BaseModel):
    segment: str | None
    strength: float | None


class CustomerSegments(BaseModel):
    customer_id: str
    requested_id: str
    source: str
    segmentation_run_id: str
    memberships: dict[str, Membership]
    profile: dict[str, ProfileValue] | None


class SegmentStats(BaseModel):
    axis_name: str
    segment_id: int | None
    segment_name: str
    customers: int
    customer_share: float | None
    average_lifetime_value: float | None
    total_lifetime_value: float | None
    expected_roi: float | None
    overall_robustness: float | None
    is_viable: bool | None
    not_viable_because: str | None
    is_actionable: bool | None
    actionability_reason: str | None


class SegmentsStats(BaseModel):
    segments: list[SegmentStats]
    actionability_available: bool


class FeatureOut(BaseModel):
    name: str
    description: str


class AxisSegment(BaseModel):
    segment_id: int | None
    segment_name: str
    defining_features: str | None


class AxisOut(BaseModel):
    name: str
    description: str
    features: list[FeatureOut]
    explicit_segments: list[str]
    segments: list[AxisSegment]


class AxesOut(BaseModel):
    axes: list[AxisOut]


def _warehouse(request: Request) -> ServiceWarehouse:
    return request.app.state.warehouse


def _customer(warehouse: ServiceWarehouse, customer_id: str) -> dict[str, Any]:
    from python_jobs.segmentation.lookup import (
        CustomerNotFoundError,
        memberships_in,
        unknown_customer_message,
    )

    # One session for the memberships and the profile: on PostgreSQL each session's commit is a round trip.
    with warehouse.session(read_only=True) as session:
        try:
            found = memberships_in(session, customer_id)
        except CustomerNotFoundError as error:  # features but no clustering run yet
            raise ApiError(404, str(error)) from None
        if found is None:
            raise ApiError(404, unknown_customer_message(customer_id))
        profile = None
        if session.table_exists("marts", "customer_profiles"):
            rows = session.fetch_dicts(
                "select * from marts.customer_profiles where customer_id = ?", [found["customer_id"]]
            )
            profile = {k: v for k, v in rows[0].items() if k != "customer_id"} if rows else None
    return {**found, "profile": profile}


@router.get(
    "/customer/{customer_id}", response_model=CustomerSegments, responses=error_responses(401, 404, 422, 503)
)
async def customer_segments(customer_id: CustomerId, request: Request) -> dict[str, Any]:
    """The customer's segment and membership strength on every axis, and their profile metrics. Any account id
    merged into the customer answers for them (`customer_id` is then the surviving id)."""
    return await run_in_threadpool(_customer, _warehouse(request), customer_id)


_STATS_COLUMNS = (
    "axis_name, segment_id, segment_name, customers, customer_share, average_lifetime_value, "
    "total_lifetime_value, expected_roi, overall_robustness, is_viable, not_viable_because"
)


def _stats(warehouse: ServiceWarehouse) -> dict[str, Any]:
    with warehouse.session(read_only=True) as session:
        if not session.table_exists("marts", "segment_summary"):
            raise ApiError(503, "marts.segment_summary is not built yet: run `segments build`")
        rows = session.fetch_arrow(
            f"select {_STATS_COLUMNS} from marts.segment_summary order by axis_name, segment_name"
        ).to_pylist()
        insights = session.table_exists("marts", "segment_insights")
        actionability = {}
        if insights:
            actionability = {
                (axis, name): (actionable, reason)
                for axis, name, actionable, reason in session.fetchall(
                    "select axis_name, segment_name, is_actionable, actionability_reason "
                    "from marts.segment_insights"
                )
            }
    for row in rows:
        actionable, reason = actionability.get((row["axis_name"], row["segment_name"]), (None, None))
        row["is_actionable"], row["actionability_reason"] = actionable, reason
    return {"segments": rows, "actionability_available": insights}


@router.get("/stats", response_model=SegmentsStats, responses=error_responses(401, 503))
async def segment_stats(request: Request) -> dict[str, Any]:
    """Per axis and segment: size, share, value, robustness and viability (marts.segment_summary), and
    actionability (marts.segment_insights) when the insights job has run."""
    return await run_in_threadpool(_stats, _warehouse(request))


def _axes(warehouse: ServiceWarehouse) -> dict[str, Any]:
    segments: dict[str, list[dict[str, Any]]] = {}
    with warehouse.session(read_only=True) as session:
        if session.table_exists("marts", "segment_summary"):
            for axis_name, segment_id, segment_name, defining in session.fetchall(
                "select axis_name, segment_id, segment_name, defining_features from marts.segment_summary "
                "order by axis_name, segment_id nulls last, segment_name"
            ):
                segments.setdefault(axis_name, []).append(
                    {"segment_id": segment_id, "segment_name": segment_name, "defining_features": defining}
                )
    return {
        "axes": [
            {
                "name": axis.name,
                "description": axis.description,
                "features": [{"name": f.name, "description": f.description} for f in axis.features],
                "explicit_segments": axis.unclustered_segment_names(),
                "segments": segments.get(axis.name, []),
            }
            for axis in AXES
        ]
    }


@router.get("/axes", response_model=AxesOut, responses=error_responses(401, 503))
async def segment_axes(request: Request) -> dict[str, Any]:
    """The behavioural axes (python_jobs.definitions), their features, and the segments of the latest build."""
    return await run_in_threadpool(_axes, _warehouse(request))
