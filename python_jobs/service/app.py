"""The app factory: the warehouse held for the app's lifetime, the limits, the error bodies and the routers."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from pydantic import BaseModel

from python_jobs.service import assign, customers, experiment_segments, experiments, page, products
from python_jobs.service.allocation_states import ExperimentStates, index_assignments
from python_jobs.service.auth import require_api_key
from python_jobs.service.errors import install_error_handlers
from python_jobs.service.limits import RequestLimits
from python_jobs.service.product_runs import ProductRuns
from python_jobs.service.rate_limit import RateLimit, RateLimiter
from python_jobs.service.state import ServiceWarehouse, held
from python_jobs.warehouse.connection import Warehouse

log = logging.getLogger("segments.service")
# `segments serve --workers N` hands each worker process the target by this variable (see app_from_environment).
SERVE_TARGET_ENV = "SEGMENTS_SERVE_TARGET"


class Health(BaseModel):
    status: str
    warehouse: str


def compile_feature_chain_or_warn() -> None:
    from python_jobs.segmentation.feature_chain import FeatureChainError, feature_chain

    try:
        feature_chain()
    except FeatureChainError as error:  # POST /segments/assign answers 503 with the same message
        log.warning("%s", error)


def create_app(
    warehouse: Warehouse,
    api_key_digests: tuple[bytes, ...],
    *,
    sse_ping_seconds: float = 15.0,
    rate_limit: RateLimit | None = None,
    compile_feature_chain: bool = False,
) -> FastAPI:
    """The service over `warehouse`, open to the keys whose SHA-256 digests are given, each key held to
    `rate_limit` (none by default). `compile_feature_chain` compiles the dbt models `POST /segments/assign`
    runs as the service starts, in the background, rather than on the first such request."""
    service_warehouse = ServiceWarehouse.of(warehouse)
    product_runs = ProductRuns(service_warehouse)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with held(service_warehouse, notify=log.warning):
            log.info("serving %s", service_warehouse.describe())
            index_assignments(service_warehouse, notify=log.warning)
            if compile_feature_chain:
                threading.Thread(
                    target=compile_feature_chain_or_warn, name="feature-chain", daemon=True
                ).start()
            try:
                yield
            finally:
                product_runs.close()
                if compile_feature_chain:
                    from python_jobs.segmentation.feature_chain import stop_compiling

                    stop_compiling()

    app = FastAPI(
        title="Segment Warehouse",
        version="1",
        summary="Customer segments, experiment allocation and configuration over the warehouse.",
        lifespan=lifespan,
    )
    app.state.warehouse = service_warehouse
    app.state.experiment_states = ExperimentStates()
    app.state.api_key_digests = api_key_digests
    app.state.product_runs = product_runs
    app.state.sse_ping_seconds = sse_ping_seconds
    install_error_handlers(app)

    @app.get("/health", response_model=Health, tags=["service"])
    async def health() -> Health:
        """Whether the service is up (no key needed)."""
        return Health(status="ok", warehouse=service_warehouse.target)

    app.include_router(page.router)
    protected = [Depends(require_api_key)]
    app.include_router(customers.router, dependencies=protected)
    app.include_router(assign.router, dependencies=protected)
    app.include_router(experiments.router, dependencies=protected)
    app.include_router(experiments.config_router, dependencies=protected)
    app.include_router(experiment_segments.router, dependencies=protected)
    app.include_router(products.router, dependencies=protected)
    app.add_middleware(RequestLimits, body_caps_by_path={"/segments/assign": assign.MAX_ASSIGN_BODY_BYTES})
    if rate_limit is not None:
        # Added last, so it is the outermost: a client over its rate is refused before its body is read.
        app.add_middleware(RateLimiter, limit=rate_limit, api_key_digests=api_key_digests)
    return app


def configure_logging() -> None:
    """The service's log lines (its own, uvicorn's errors, the 401s), in every process that serves."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def app_from_environment() -> FastAPI:
    """The app of one of `segments serve --workers N`'s processes: the target from $SEGMENTS_SERVE_TARGET, the
    keys and the rate limit from their variables (checked by `segments serve` before the workers start)."""
    import os

    from python_jobs.service.auth import api_keys_from_env
    from python_jobs.service.rate_limit import rate_limit_from_env

    configure_logging()
    warehouse = Warehouse.from_profile(os.environ[SERVE_TARGET_ENV])
    return create_app(warehouse, api_keys_from_env(), rate_limit=rate_limit_from_env())
