"""The `fit_clv` job: fit BG/NBD and Gamma-Gamma on the warehouse's RFM columns, write the fit to schema `ml`.

It reads only the four RFM columns of `intermediate.int_customers_rfm_aggregated` (its `ml` exposure; not
`customer_profiles`, which the predictions flow back into) and the build's observation_end. Both models are fitted
on the distinct (frequency, recency, age) triples (and (frequency, mean spend) pairs) with their counts as
weights, and the predictions that need the Gauss hypergeometric function are computed per distinct triple and
joined back to the customers. Time unit: days.

A run is all or nothing, like the clustering job: its `clv_models` row is written 'running' first, then the
predictions and the switch to 'succeeded' (with the parameters) in ONE transaction. dbt reads only the latest
succeeded run, so a failed fit (no repeat purchase at all, the optimiser failing) leaves the previous one in
force. The run row names its process and heartbeat (python_jobs/warehouse/run_owner.py).

Gamma-Gamma needs a positive mean spend: customers whose repeat days net to zero or less (everything returned)
are left out of its fit, and their expected spend per purchase counts their own repeat-day spend as 0.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from python_jobs.clv.models import (
    BetaGeoParameters,
    CLVFitError,
    GammaGammaParameters,
    expected_purchases,
    expected_spend_per_purchase,
    fit_bgnbd,
    fit_gamma_gamma,
)
from python_jobs.warehouse.connection import Session, Warehouse
from python_jobs.warehouse.ml_tables import CLV_TABLES, ML_SCHEMA
from python_jobs.warehouse.run_owner import ProcessOwner
from python_jobs.warehouse.run_owner import mark_abandoned_runs as shared_mark_abandoned_runs

if TYPE_CHECKING:
    from python_jobs.warehouse.jobs import JobContext

JOB_NAME = "fit_clv"
RUNS_TABLE = "clv_models"
PREDICTIONS_TABLE = "customer_clv_predictions"
# The horizon of expected_purchases (and so of clv_365d), in days.
HORIZON_DAYS = 365


def rfm_query(session: Session) -> str:
    """The RFM columns the fits read, the monetary value as a float in the session's words for it."""
    return (
        "select rfm.customer_id, rfm.rfm_frequency, rfm.rfm_recency_days, rfm.rfm_age_days, "
        f"cast(rfm.rfm_monetary_value as {session.column_type(pa.float64())}) as rfm_monetary_value "
        "from intermediate.int_customers_rfm_aggregated as rfm order by rfm.customer_id"
    )


OBSERVATION_END_QUERY = "select observation_end from intermediate.int_observation_window"

Echo = Callable[[str], None]


@dataclass(frozen=True)
class RFMColumns:
    customer_id: pa.Array
    frequency: np.ndarray
    recency: np.ndarray
    age: np.ndarray
    monetary_value: np.ndarray

    @classmethod
    def from_arrow(cls, table: pa.Table) -> RFMColumns:
        def column(name: str) -> np.ndarray:
            return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)

        return cls(
            customer_id=table.column("customer_id").combine_chunks().cast(pa.string()),
            frequency=column("rfm_frequency"),
            recency=column("rfm_recency_days"),
            age=column("rfm_age_days"),
            monetary_value=column("rfm_monetary_value"),
        )

    @property
    def size(self) -> int:
        return self.frequency.size


@dataclass(frozen=True)
class CLVFit:
    bgnbd: BetaGeoParameters
    gamma_gamma: GammaGammaParameters
    expected_purchases: np.ndarray
    expected_spend_per_purchase: np.ndarray
    fit_seconds: float
    predict_seconds: float


def fit_and_predict(rfm: RFMColumns, horizon_days: float = HORIZON_DAYS) -> CLVFit:
    """Fit both models on the distinct RFM values (weighted by their counts) and predict for every customer."""
    started = time.perf_counter()
    unique_triples, triple_of_customer, triple_counts = _distinct_rows(rfm.frequency, rfm.recency, rfm.age)
    # A customer whose first purchase is on observation_end (age 0) adds exactly 0 to the BG/NBD log-likelihood.
    observed = unique_triples[:, 2] > 0
    bgnbd = fit_bgnbd(*unique_triples[observed].T, weights=triple_counts[observed])

    # Gamma-Gamma: customers with a repeat day and a positive mean spend on their repeat days.
    unique_pairs, pair_of_customer, pair_counts = _distinct_rows(rfm.frequency, rfm.monetary_value)
    spending = (unique_pairs[:, 0] > 0) & (unique_pairs[:, 1] > 0)
    gamma_gamma = fit_gamma_gamma(*unique_pairs[spending].T, weights=pair_counts[spending])
    fit_seconds = time.perf_counter() - started

    started = time.perf_counter()
    purchases = expected_purchases(bgnbd, horizon_days, *unique_triples.T)[triple_of_customer]
    # No repeat day: the population mean; a repeat-day spend netting to <= 0 counts as 0 (see the module doc).
    own_spend = np.where(unique_pairs[:, 0] > 0, np.maximum(unique_pairs[:, 1], 0.0), np.nan)
    spend = expected_spend_per_purchase(gamma_gamma, unique_pairs[:, 0], own_spend)[pair_of_customer]
    return CLVFit(bgnbd, gamma_gamma, purchases, spend, fit_seconds, time.perf_counter() - started)


def _distinct_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of some columns, each row's index among them, and their counts: like np.unique(axis=0),
    but through one integer key per row (each column's rank among its own distinct values), which is much faster
    for a million rows."""
    key = np.zeros(columns[0].size, dtype=np.int64)
    for column in columns:
        values, rank = np.unique(column, return_inverse=True)
        key = key * values.size + rank.reshape(-1)
    _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    return np.column_stack([column[first] for column in columns]), inverse.reshape(-1), counts


def new_run_id(started_at: dt.datetime) -> str:
    """`clv_<UTC start>_<8 hex>`: sortable by time and unique."""
    return f"clv_{started_at.astimezone(dt.UTC):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def run_job(context: JobContext) -> str | None:
    """Entry point for the build orchestrator.

    Data that cannot support a fit (too few customers, not one repeat purchase) is no reason to stop the build:
    the run is recorded as failed, the marts keep the previous fit (or, without one, no CLV columns), and the
    profiles and segments are still built. Any other failure stops the build as usual.
    """
    try:
        return fit_clv(context.warehouse, echo=context.echo)
    except CLVFitError as error:
        context.echo(
            f"  WARN the CLV models were not fitted: {error}. The marts keep the previous fit, if any "
            "(probability_alive, churn_risk and clv_365d stay empty without one)."
        )
        return None


def fit_clv(warehouse: Warehouse, echo: Echo = print, horizon_days: int = HORIZON_DAYS) -> str:
    """Fit the CLV models on the RFM columns and record the run; returns its run_id."""
    started_at = _utc_now()
    run_id = new_run_id(started_at)
    with warehouse.session() as session:
        session.ensure_schema(ML_SCHEMA)
        for name in (RUNS_TABLE, PREDICTIONS_TABLE):
            if not session.table_exists(ML_SCHEMA, name):
                session.create_table(ML_SCHEMA, name, CLV_TABLES[name])
        for abandoned, reason in mark_abandoned_runs(session).items():
            echo(f"CLV run {abandoned} marked abandoned: {reason}.")
        session.append_table(ML_SCHEMA, RUNS_TABLE, _running_row(run_id, started_at, horizon_days))
    echo(f"CLV run {run_id}")
    try:
        with warehouse.session(read_only=True) as session:
            rfm = RFMColumns.from_arrow(session.fetch_arrow(rfm_query(session)))
            observation_end = session.fetchone(OBSERVATION_END_QUERY)
        echo(f"  read the RFM columns of {rfm.size:,} customers")
        if rfm.size < 2:
            raise CLVFitError(f"{rfm.size} customer(s) with a purchase: too few to fit the CLV models")
        fit = fit_and_predict(rfm, horizon_days)
        echo(_describe(fit))

        started = time.perf_counter()
        predictions = pa.Table.from_arrays(
            [
                pa.array([run_id] * rfm.size, pa.string()),
                rfm.customer_id,
                pa.array(fit.expected_purchases, pa.float64()),
                pa.array(fit.expected_spend_per_purchase, pa.float64()),
            ],
            schema=CLV_TABLES[PREDICTIONS_TABLE],
        )
        with warehouse.session() as session:
            _append_predictions(session, predictions)
            _finish_run(session, run_id, fit, observation_end[0] if observation_end else None)
        echo(f"  wrote {rfm.size:,} predictions in {time.perf_counter() - started:.1f}s")
    except BaseException as error:
        _mark_failed(warehouse, run_id, error, echo)
        raise
    echo(f"CLV run {run_id} succeeded.")
    return run_id


def _describe(fit: CLVFit) -> str:
    bg, gg = fit.bgnbd, fit.gamma_gamma
    return (
        f"  BG/NBD on {bg.customers:,} customers: r={bg.r:.4g} alpha={bg.alpha:.4g} a={bg.a:.4g} b={bg.b:.4g}"
        f"{'' if bg.converged else ' (NOT converged)'}; Gamma-Gamma on {gg.customers:,}: p={gg.p:.4g} "
        f"q={gg.q:.4g} v={gg.v:.4g}{'' if gg.converged else ' (NOT converged)'}; fit {fit.fit_seconds:.1f}s, "
        f"predictions {fit.predict_seconds:.1f}s"
    )


def _running_row(run_id: str, started_at: dt.datetime, horizon_days: int) -> pa.Table:
    schema = CLV_TABLES[RUNS_TABLE]
    row = dict.fromkeys(schema.names)
    row.update(
        run_id=run_id,
        started_at=started_at,
        status="running",
        horizon_days=horizon_days,
        **ProcessOwner.current().columns(started_at),
    )
    return pa.Table.from_pylist([row], schema=schema)


def _append_predictions(session: Session, predictions: pa.Table) -> None:
    """The single place the predictions are written, so a test can make it fail."""
    session.append_table(ML_SCHEMA, PREDICTIONS_TABLE, predictions)


def _finish_run(session: Session, run_id: str, fit: CLVFit, observation_end: dt.date | None) -> None:
    bg, gg = fit.bgnbd, fit.gamma_gamma
    now = _utc_now()
    session.update_rows(
        ML_SCHEMA,
        RUNS_TABLE,
        {
            "status": "succeeded",
            "fitted_at": now,
            "heartbeat_at": now,
            "observation_end": observation_end,
            "customers": bg.customers,
            "r": bg.r,
            "alpha": bg.alpha,
            "a": bg.a,
            "b": bg.b,
            "bgnbd_log_likelihood": bg.log_likelihood,
            "bgnbd_converged": bg.converged,
            "gamma_gamma_customers": gg.customers,
            "p": gg.p,
            "q": gg.q,
            "v": gg.v,
            "gamma_gamma_log_likelihood": gg.log_likelihood,
            "gamma_gamma_converged": gg.converged,
        },
        {"run_id": run_id},
    )


def _mark_failed(warehouse: Warehouse, run_id: str, error: BaseException, echo: Echo) -> None:
    lines = str(error).strip().splitlines()
    message = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    try:
        with warehouse.session() as session:
            session.update_rows(
                ML_SCHEMA,
                RUNS_TABLE,
                {"status": "failed", "fitted_at": _utc_now(), "error_message": message[:1000]},
                {"run_id": run_id},
            )
    except Exception as marking_error:
        echo(f"  could not mark CLV run {run_id} as failed: {marking_error}")
    echo(f"CLV run {run_id} failed: {message}")


def mark_abandoned_runs(session: Session) -> dict[str, str]:
    """Mark 'abandoned' every 'running' CLV run whose process is gone; run id -> reason."""
    return shared_mark_abandoned_runs(session, ML_SCHEMA, RUNS_TABLE, "fitted_at")
