"""Product segmentation: start a run (202), watch it (its state, or a Server-Sent Events stream), read its
segments, resume it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import AfterValidator, BaseModel, Field
from sse_starlette import EventSourceResponse

from python_jobs.product_segmentation.product_ids import checked_id
from python_jobs.service.errors import ApiError, error_responses
from python_jobs.service.product_runs import ProductRuns, RunStartError

router = APIRouter(prefix="/product-segmentation", tags=["product segmentation"])

MAX_PRODUCT_IDS = 5_000
RunId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:+-]+$")]
FINISHED = ("done", "failed", "abandoned")
COUNTERS = (
    "seg_batches_done",
    "seg_batches_total",
    "con_batches_done",
    "con_batches_total",
    "ref_batches_done",
    "ref_batches_total",
    "calls_done",
    "calls_total",
    "total_products",
    "processed_products",
)


# A product id as the catalogue has it (`"B07XJ8C8F5"`, `"SKU-0042-BLK"`) or an integer (`42` is `"42"`): checked
# as the loader checks them (trimmed, not empty, at most 256 characters, no control character).
ProductIdIn = Annotated[int | str, AfterValidator(checked_id)]
# Out, a number when every id of the run is an integer (as before ids were text), a string otherwise.
ProductIdOut = int | str


class StartRequest(BaseModel):
    product_category: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")
    product_ids: list[ProductIdIn] | Literal["all"] = Field(max_length=MAX_PRODUCT_IDS)


class RunListed(BaseModel):
    run_id: str
    category: str | None
    stage: str
    percent: float
    created_at: dt.datetime | None


class RunList(BaseModel):
    runs: list[RunListed]


class RunAccepted(BaseModel):
    run_id: str


class RunState(BaseModel):
    run_id: str
    category: str | None
    stage: str
    percent: float
    seg_batches_done: int
    seg_batches_total: int
    con_batches_done: int
    con_batches_total: int
    ref_batches_done: int
    ref_batches_total: int
    calls_done: int
    calls_total: int
    total_products: int
    processed_products: int
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    result_summary: dict[str, Any] | None


class Taxonomy(BaseModel):
    id: str
    segment_name: str
    definition: str | None
    product_count: int


class ProductSegment(BaseModel):
    product_id: ProductIdOut
    taxonomy_id: str | None


class RunSegments(BaseModel):
    run_id: str
    taxonomies: list[Taxonomy]
    segments: list[ProductSegment]


def _runs(request: Request) -> ProductRuns:
    return request.app.state.product_runs


def _stored_state(runs: ProductRuns, run_id: str) -> dict[str, Any]:
    from python_jobs.product_segmentation.show import RunNotFoundError, run_header

    try:
        row = run_header(runs.warehouse, run_id)
    except RunNotFoundError as error:
        raise ApiError(404, str(error)) from None
    state = {name: row.get(name) or 0 for name in COUNTERS}
    state |= {
        "run_id": run_id,
        "category": row["category"],
        "stage": row["stage"],
        "percent": float(row["percent"] or 0.0),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "result_summary": row["result_summary"],
    }
    live = runs.live.get(run_id)
    if live is not None and not live.finished:
        # The job's counters in memory are ahead of its last write to the run row.
        state |= {name: live.progress[name] for name in (*COUNTERS, "stage", "percent")}
    return state


@router.post(
    "",
    status_code=202,
    response_model=RunAccepted,
    responses=error_responses(400, 401, 413, 422, 503),
)
async def start(body: StartRequest, request: Request, response: Response) -> dict[str, str]:
    """Start a run over the category's products (`"all"`, or the ids given). The run works in the background;
    its state is at the `Location` given."""
    product_ids = None if body.product_ids == "all" else list(body.product_ids)
    if product_ids is not None and not product_ids:
        raise ApiError(400, 'product_ids is empty: give ids, or "all"')
    try:
        run_id = await run_in_threadpool(_runs(request).start, body.product_category.strip(), product_ids)
    except RunStartError as error:
        raise ApiError(400, str(error)) from None
    response.headers["Location"] = f"/product-segmentation/{run_id}"
    return {"run_id": run_id}


def _latest_runs(runs: ProductRuns, limit: int = 50) -> dict[str, Any]:
    from python_jobs.product_segmentation import tables
    from python_jobs.product_segmentation.runs import mark_abandoned_runs

    mark_abandoned_runs(runs.warehouse)
    with runs.warehouse.session(read_only=True) as session:
        if not session.table_exists(tables.ML_SCHEMA, tables.RUNS):
            return {"runs": []}
        rows = session.fetch_arrow(
            f"select id as run_id, category, stage, coalesce(percent, 0) as percent, created_at "
            f"from {tables.qualified(tables.RUNS)} order by created_at desc, id desc limit ?",
            [limit],
        ).to_pylist()
    return {"runs": rows}


@router.get("", response_model=RunList, responses=error_responses(401, 503))
async def latest_runs(request: Request) -> dict[str, Any]:
    """The 50 latest runs, newest first."""
    return await run_in_threadpool(_latest_runs, _runs(request))


@router.get("/{run_id}", response_model=RunState, responses=error_responses(401, 404, 422, 503))
async def state(run_id: RunId, request: Request) -> dict[str, Any]:
    """The run's stage, batch and call counters, percent, timestamps and (once finished) its result summary."""
    return await run_in_threadpool(_stored_state, _runs(request), run_id)


def _event(state: dict[str, Any]) -> dict[str, Any]:
    return {key: state[key] for key in ("stage", "percent", "calls_done", "calls_total")}


async def _events(runs: ProductRuns, run_id: str, first: dict[str, Any]) -> AsyncIterator[dict[str, str]]:
    current, last = first, None
    while True:
        shown = _event(current)
        if shown != last:
            last = shown
            yield {"event": "progress", "data": json.dumps(shown)}
        if current["stage"] in FINISHED:
            final = "done" if current["stage"] == "done" else "failed"
            yield {"event": final, "data": json.dumps(_event(current) | {"run_id": run_id})}
            return
        live = runs.live.get(run_id)
        if live is not None and not live.finished:
            await asyncio.sleep(0.05)
            live = runs.live.get(run_id)
            if live is not None and not live.finished:
                current = {**current, **_event(live.progress)}
                continue
        else:
            await asyncio.sleep(1.0)
        current = await run_in_threadpool(_stored_state, runs, run_id)


@router.get(
    "/{run_id}/stream",
    responses={200: {"content": {"text/event-stream": {}}}, **error_responses(401, 404, 422, 503)},
)
async def stream(run_id: RunId, request: Request) -> EventSourceResponse:
    """Server-Sent Events: `progress` `{stage, percent, calls_done, calls_total}` at once and whenever it
    changes, then `done` or `failed`, then the stream ends. A comment line every `ping` seconds keeps proxies
    from closing a quiet stream."""
    runs = _runs(request)
    first = await run_in_threadpool(_stored_state, runs, run_id)
    return EventSourceResponse(_events(runs, run_id, first), ping=request.app.state.sse_ping_seconds)


def _segments(runs: ProductRuns, run_id: str) -> dict[str, Any]:
    from python_jobs.product_segmentation.show import RunNotFoundError, run_report

    try:
        return run_report(runs.warehouse, run_id)
    except RunNotFoundError as error:
        raise ApiError(404, str(error)) from None


@router.get("/{run_id}/segments", response_model=RunSegments, responses=error_responses(401, 404, 422, 503))
async def segments(run_id: RunId, request: Request) -> dict[str, Any]:
    """The run's final taxonomy with product counts, and each product's segment."""
    return await run_in_threadpool(_segments, _runs(request), run_id)


@router.post(
    "/{run_id}/resume",
    status_code=202,
    response_model=RunAccepted,
    responses=error_responses(401, 404, 409, 422, 503),
)
async def resume(run_id: RunId, request: Request, response: Response) -> dict[str, str]:
    """Continue a run that failed or was abandoned, with its own category, products and parameters."""
    runs = _runs(request)
    await run_in_threadpool(_stored_state, runs, run_id)  # 404 for an unknown run
    try:
        resumed = await run_in_threadpool(runs.resume, run_id)
    except RunStartError as error:
        raise ApiError(409, str(error)) from None
    response.headers["Location"] = f"/product-segmentation/{resumed}"
    return {"run_id": resumed}
