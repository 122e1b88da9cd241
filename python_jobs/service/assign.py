"""`POST /segments/assign`: a customer who is not in the warehouse yet, placed from a body of their rows.

The body holds the customer's rows shaped like the raw tables (orders with their lines, web events, support
tickets, optionally the account). Their features are computed by the project's own dbt models, compiled once and
run on those rows alone in a private in-memory DuckDB (python_jobs/segmentation/feature_chain.py explains why
that, and not a Python restatement of the SQL), and they are placed by the centroids of the latest succeeded
clustering run with the same rules as the build (python_jobs/segmentation/lookup.py). Nothing is written to the
warehouse: it is only read, for its observation window and its centroids.

Values are checked as the raw tables' loaders would want them (enums trimmed and lower-cased, then one of the
known values; ids without control characters; amounts finite and bounded so no sum overflows the models'
numeric(18, 2)); rows the staging models would still set aside (an order dated after the load time, a zero
quantity) are set aside here the same way.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from python_jobs.definitions import feature_names, requirement_flags
from python_jobs.service.customers import Membership
from python_jobs.service.errors import ApiError, error_responses
from python_jobs.service.state import ServiceWarehouse
from python_jobs.warehouse.raw_tables import (
    COMPLEXITIES,
    CONTACT_CHANNELS,
    DEVICE_TYPES,
    EVENT_TYPES,
    ORDER_STATUSES,
    PAGE_TYPES,
    SALES_CHANNELS,
    TICKET_TOPICS,
)

router = APIRouter(prefix="/segments", tags=["customer segments"])

MAX_ORDERS = 500
MAX_LINES_PER_ORDER = 100
MAX_WEB_EVENTS = 2_000
MAX_SUPPORT_TICKETS = 200
# The body of a customer at the caps above is far larger than the service's default cap: this route's own.
MAX_ASSIGN_BODY_BYTES = 1024 * 1024
# The id the rows carry inside the private database when the body names none.
ANONYMOUS_CUSTOMER = "new-customer"

RowId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^\s*[A-Za-z0-9_.:@/-]+\s*$")]
Amount = Annotated[float, Field(ge=-1_000_000, le=1_000_000, allow_inf_nan=False)]


def _enum(value: Any) -> Any:
    """Enums arrive as the exports write them (` Completed`): staging trims and lower-cases them, so do we."""
    return value.strip().lower() if isinstance(value, str) else value


def _utc(value: dt.datetime) -> dt.datetime:
    """A timestamp without a zone is read as UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _enum_of(values: tuple[str, ...]) -> Any:
    return Annotated[Literal[values], BeforeValidator(_enum)]  # type: ignore[valid-type]


Timestamp = Annotated[dt.datetime, AfterValidator(_utc)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderLineIn(_Row):
    order_item_id: RowId
    product_category: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    quantity: Annotated[int, Field(ge=-1_000, le=1_000)]
    unit_price: Amount
    discount_amount: Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)] | None = None
    is_returned: bool | None = None


class OrderIn(_Row):
    order_id: RowId
    ordered_at: Timestamp
    order_status: _enum_of(ORDER_STATUSES)
    sales_channel: _enum_of(SALES_CHANNELS) | None = None
    order_total: Amount
    lines: list[OrderLineIn] = Field(default_factory=list, max_length=MAX_LINES_PER_ORDER)


class WebEventIn(_Row):
    event_id: RowId
    session_id: RowId | None = None
    event_type: _enum_of(EVENT_TYPES)
    page_type: _enum_of(PAGE_TYPES) | None = None
    device_type: _enum_of(DEVICE_TYPES) | None = None
    occurred_at: Timestamp


class SupportTicketIn(_Row):
    ticket_id: RowId
    opened_at: Timestamp
    resolved_at: Timestamp | None = None
    contact_channel: _enum_of(CONTACT_CHANNELS) | None = None
    complexity: _enum_of(COMPLEXITIES) | None = None
    topic: _enum_of(TICKET_TOPICS) | None = None
    satisfaction_score: Annotated[int, Field(ge=1, le=5)] | None = None


class AccountIn(_Row):
    signed_up_at: Timestamp
    country_code: Annotated[str, Field(pattern=r"^\s*[A-Za-z]{2}\s*$")] | None = None
    acquisition_channel: (
        Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")] | None
    ) = None
    marketing_opt_in: bool | None = None


class AssignRequest(_Row):
    """One customer's rows. `observation_end`: `warehouse` measures them as of the latest build's observation
    end (as everyone the centroids were fitted on; rows after it are left out, as a build leaves them out);
    `latest_order` as of the customer's own last order date (for a customer whose orders all came after the
    last build)."""

    customer_id: RowId | None = None
    account: AccountIn | None = None
    orders: list[OrderIn] = Field(default_factory=list, max_length=MAX_ORDERS)
    web_events: list[WebEventIn] = Field(default_factory=list, max_length=MAX_WEB_EVENTS)
    support_tickets: list[SupportTicketIn] = Field(default_factory=list, max_length=MAX_SUPPORT_TICKETS)
    observation_end: Literal["warehouse", "latest_order"] = "warehouse"

    @model_validator(mode="after")
    def _ids_are_unique(self) -> AssignRequest:
        for kind, ids in (
            ("order_id", [o.order_id.strip() for o in self.orders]),
            ("order_item_id", [line.order_item_id.strip() for o in self.orders for line in o.lines]),
            ("event_id", [e.event_id.strip() for e in self.web_events]),
            ("ticket_id", [t.ticket_id.strip() for t in self.support_tickets]),
        ):
            repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
            if repeated:
                raise ValueError(f"{kind} {repeated[0]!r} is given more than once")
        return self


class AssignedCustomer(BaseModel):
    customer_id: str | None
    segmentation_run_id: str
    observation_end: dt.date
    observation_end_from: Literal["warehouse", "latest_order"]
    memberships: dict[str, Membership]
    features: dict[str, float | None]
    data_available: dict[str, bool]


def raw_rows(body: AssignRequest) -> dict[str, list[dict[str, Any]]]:
    """The body as rows of the raw tables (python_jobs/warehouse/raw_tables.py), all of one customer."""
    customer = body.customer_id or ANONYMOUS_CUSTOMER
    rows: dict[str, list[dict[str, Any]]] = {
        "orders": [{**order.model_dump(exclude={"lines"}), "customer_id": customer} for order in body.orders],
        "order_items": [
            {**line.model_dump(), "order_id": order.order_id} for order in body.orders for line in order.lines
        ],
        "web_events": [{**event.model_dump(), "customer_id": customer} for event in body.web_events],
        "support_tickets": [
            {**ticket.model_dump(), "customer_id": customer} for ticket in body.support_tickets
        ],
        "customers": [],
    }
    if body.account is not None:
        rows["customers"].append({**body.account.model_dump(), "customer_id": customer, "email": None})
    return rows


def _warehouse_observation_end(warehouse: ServiceWarehouse) -> dt.date:
    with warehouse.session(read_only=True) as session:
        if not session.table_exists("intermediate", "int_observation_window"):
            raise ApiError(503, "the warehouse is not built yet: run `segments build`")
        row = session.fetchone("select observation_end from intermediate.int_observation_window")
    if row is None or row[0] is None:
        raise ApiError(
            503, "the warehouse has no observation window (no orders were loaded): run `segments build`"
        )
    return row[0]


def _assign(warehouse: ServiceWarehouse, body: AssignRequest) -> dict[str, Any]:
    import duckdb

    from python_jobs.segmentation.feature_chain import FeatureChainError, feature_chain
    from python_jobs.segmentation.lookup import NoClusteringRunError, place_by_latest_run

    if not (body.orders or body.web_events or body.support_tickets or body.account):
        raise ApiError(
            422, "the body holds no orders, web events, support tickets or account: nothing to place"
        )
    observation_end = _warehouse_observation_end(warehouse) if body.observation_end == "warehouse" else None
    try:
        chain = feature_chain()
    except FeatureChainError as error:
        raise ApiError(503, f"the feature models could not be compiled: {error}") from None
    try:
        computed, used_end = chain.features(raw_rows(body), observation_end)
    except (duckdb.ConversionException, duckdb.OutOfRangeException) as error:
        # Values each within bounds whose sums or products overflow a numeric column of the models.
        raise ApiError(422, f"the rows' values cannot be computed: {str(error).splitlines()[0]}") from None
    if not computed:
        window = f"the warehouse's observation end {observation_end}" if observation_end else "the last order"
        raise ApiError(
            422,
            f"nothing in the body falls on or before {window}: no row places the customer "
            '(send "observation_end": "latest_order" to measure them as of their own last order)',
        )
    features = computed[0]
    with warehouse.session(read_only=True) as session:
        try:
            run_id, memberships = place_by_latest_run(session, features)
        except NoClusteringRunError:
            raise ApiError(503, "no clustering run has succeeded yet: run `segments build`") from None
    return {
        "customer_id": body.customer_id,
        "segmentation_run_id": run_id,
        "observation_end": used_end,
        "observation_end_from": body.observation_end,
        "memberships": memberships,
        "features": {name: features[name] for name in feature_names()},
        "data_available": {flag: bool(features[flag]) for flag in requirement_flags()},
    }


@router.post("/assign", response_model=AssignedCustomer, responses=error_responses(400, 401, 413, 422, 503))
async def assign_customer(body: AssignRequest, request: Request) -> dict[str, Any]:
    """Place a customer who is not in the warehouse yet: their features, computed from the body's rows by the
    same dbt models as a build, and their segment and membership strength on every axis by the centroids of
    the latest succeeded clustering run. Nothing is written."""
    return await run_in_threadpool(_assign, request.app.state.warehouse, body)
