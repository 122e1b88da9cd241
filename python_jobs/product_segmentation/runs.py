"""A run's record and lifecycle: starting one, reopening one to resume it, failing it, and finding the ones
whose process is gone.

Start: the products are checked, then the run row (with its owner process and a first heartbeat), the two
placeholder taxonomy entries and one assignment row per product are written in one transaction. Resume: a run
that did not reach `done` (failed, abandoned, or still marked running by a process that is gone) is reloaded
under its own id with its stored category, products and parameters, and its counters restart from 0. Fail: the
stage `failed` and the reason in `result_summary`, in a transaction of its own that touches no other run.
Abandoned: a run whose owner process is gone (see `python_jobs.warehouse.run_owner`) is marked `abandoned` with
the reason by the next command that looks at it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from python_jobs.definitions import OUT_OF_SCOPE_SEGMENT, UNASSIGNED_SEGMENT
from python_jobs.llm.config import LLMConfig
from python_jobs.llm.providers import (
    LLMAuthenticationError,
    LLMOutputError,
    LLMQuotaError,
    LLMRequestError,
    LLMTimeoutError,
    LLMUnavailableError,
)
from python_jobs.product_segmentation import prompts, tables
from python_jobs.product_segmentation.plan import CallPlan, SegmentationParams
from python_jobs.product_segmentation.product_ids import (
    JsonId,
    ProductIdError,
    all_integer_ids,
    as_json,
    checked_id,
    id_order,
)
from python_jobs.product_segmentation.progress import RunProgress
from python_jobs.warehouse.connection import Session, Warehouse, WarehouseError
from python_jobs.warehouse.run_owner import ProcessOwner, why_abandoned

ARCHIVE_FOLDER = "product_segmentation"
# How long a write waits for another process that holds the DuckDB file (a reader following the progress).
DUCKDB_LOCK_WAIT_SECONDS = 30.0
# Stages of a run that is over; any other stage means some process is (or was) working on it.
FINISHED_STAGES = ("done", "failed", "abandoned")

Echo = Callable[[str], None]


class ProductSegmentationError(RuntimeError):
    """A run that could not start, or that ended `failed`; `reason` is the short word stored with it."""

    def __init__(self, message: str, *, run_id: str | None = None, reason: str = "error") -> None:
        super().__init__(message)
        self.run_id = run_id
        self.reason = reason


class RunTerminated(BaseException):
    """SIGTERM arrived while the run was working: it is marked failed (`terminated`) on the way out."""


def new_run_id(category: str, product_ids: Sequence[str], created_at: dt.datetime) -> str:
    """`RUN_<UTC ISO basic>_<8 hex>`: sorts by time; the hash (inputs plus a random salt) keeps ids unique."""
    salt = f"{category}|{','.join(map(str, product_ids))}|{uuid.uuid4().hex}"
    digest = hashlib.sha256(salt.encode()).hexdigest()[:8]
    return f"RUN_{created_at.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}_{digest}"


def placeholder_ids(run_id: str) -> tuple[str, str]:
    """The ids of the run's `__UNASSIGNED__` and `__OUT_OF_SCOPE__` entries."""
    return f"{run_id}:init:unassigned", f"{run_id}:system:out_of_scope"


def failure_reason(error: BaseException) -> str:
    """The short word a failed run is marked with: 'quota' above all, so it is never mistaken for a bug."""
    for kind, reason in (
        (LLMQuotaError, "quota"),
        (LLMTimeoutError, "timeout"),
        (LLMUnavailableError, "unavailable"),
        (LLMAuthenticationError, "authentication"),
        (LLMRequestError, "request_refused"),
        (LLMOutputError, "invalid_output"),
        (KeyboardInterrupt, "interrupted"),
        (RunTerminated, "terminated"),
        (WarehouseError, "warehouse"),
    ):
        if isinstance(error, kind):
            return reason
    return "error"


def one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def taxonomy_row(
    taxonomy_id: str, run_id: str, name: str, definition: str, stage: str, created_at: dt.datetime
) -> dict[str, Any]:
    return {
        "id": taxonomy_id,
        "run_id": run_id,
        "segment_name": name,
        "definition": definition,
        "stage": stage,
        "created_at": created_at,
    }


@contextmanager
def short_session(warehouse: Warehouse) -> Iterator[Session]:
    with tables.short_session(warehouse, DUCKDB_LOCK_WAIT_SECONDS) as session:
        yield session


@dataclass(frozen=True)
class RunRecord:
    """What a run is, fixed for one execution: its id, category, products (by id, as text), parameters and plan.

    `integer_ids`: every product id of the run is an integer, so the ids go out as JSON numbers (prompts,
    archive metadata), as they did when the warehouse stored them as integers; see `product_ids`.
    """

    warehouse: Warehouse
    run_id: str
    category: str
    products: dict[str, dict[str, Any]]
    params: SegmentationParams
    config: LLMConfig
    plan: CallPlan
    resume_count: int = 0
    integer_ids: bool = True

    @classmethod
    def of(
        cls,
        warehouse: Warehouse,
        run_id: str,
        category: str,
        products: list[dict[str, Any]],
        params: SegmentationParams,
        config: LLMConfig,
        resume_count: int = 0,
    ) -> RunRecord:
        by_id = {str(p["product_id"]): p for p in products}
        plan = CallPlan.for_products(list(by_id), params)
        return cls(
            warehouse, run_id, category, by_id, params, config, plan, resume_count, all_integer_ids(by_id)
        )

    def json_id(self, product_id: str) -> JsonId:
        return as_json(product_id, self.integer_ids)

    @property
    def prefix(self) -> str:
        return f"{ARCHIVE_FOLDER}/{self.run_id}"

    @property
    def unassigned_id(self) -> str:
        return placeholder_ids(self.run_id)[0]

    @property
    def out_of_scope_id(self) -> str:
        return placeholder_ids(self.run_id)[1]

    def session(self) -> Any:
        return short_session(self.warehouse)

    def initial_progress(self) -> RunProgress:
        plan = self.plan
        return RunProgress(
            run_id=self.run_id,
            stage="init",
            seg_batches_done=0,
            seg_batches_total=len(plan.extraction_batches),
            con_batches_done=0,
            con_batches_total=plan.merge_calls,
            ref_batches_done=0,
            ref_batches_total=len(plan.refinement_batches),
            calls_done=0,
            calls_total=plan.calls_total,
            percent=0.0,
            total_products=len(self.products),
            processed_products=0,
            tokens_estimated=self.config.provider == "offline",
        )

    def assignment_rows(self, initial: dict[str, str], refined: dict[str, str]) -> list[dict[str, Any]]:
        """One row per product; anything not (yet) placed points at the placeholder, never at null."""
        return [
            {
                "run_id": self.run_id,
                "product_id": product_id,
                "taxonomy_id_initial": initial.get(product_id, self.unassigned_id),
                "taxonomy_id_refined": refined.get(product_id, self.unassigned_id),
            }
            for product_id in sorted(self.products, key=id_order)
        ]

    def processing_params(self, whole_category: bool) -> dict[str, Any]:
        plan = self.plan
        return {
            **dataclasses.asdict(self.params),
            "product_selection": "category" if whole_category else "product_ids",
            "extraction_batches": len(plan.extraction_batches),
            "merge_calls": plan.merge_calls,
            "consolidation_levels": len(plan.merge_levels),
            "merges_per_level": list(plan.merge_levels),
            "refinement_batches": len(plan.refinement_batches),
            "max_attempts": self.config.max_attempts,
            "schema_version": prompts.SCHEMA_VERSION,
            "archive_prefix": self.prefix,
        }

    def placeholder_rows(self, created_at: dt.datetime) -> list[dict[str, Any]]:
        return [
            taxonomy_row(self.unassigned_id, self.run_id, UNASSIGNED_SEGMENT,
                         "Placeholder of a product no answer has placed (yet).", "init", created_at),
            taxonomy_row(self.out_of_scope_id, self.run_id, OUT_OF_SCOPE_SEGMENT,
                         f"Products that do not belong to the category {self.category!r} at all.", "system",
                         created_at),
        ]  # fmt: skip


# ------------------------------------------------------------------------------------------------ starting


def create_run(
    warehouse: Warehouse,
    category: str,
    product_ids: Sequence[str | int] | None,
    config: LLMConfig,
    params: SegmentationParams,
    echo: Echo,
) -> RunRecord:
    """Check the products, then write the run row, placeholders and assignment rows in one transaction.

    Ids may be given as integers too (`42` is the product `"42"`)."""
    if product_ids is not None:
        try:
            product_ids = [checked_id(product_id) for product_id in product_ids]
        except ProductIdError as error:
            raise ProductSegmentationError(f"cannot start the run: {error}") from None
    with warehouse.session() as session:
        products = tables.load_products(session, product_ids, category)
    _check_products(products, product_ids, category)
    mark_abandoned_runs(warehouse, echo)
    created_at = tables.utc_now()
    run_id = new_run_id(category, [p["product_id"] for p in products], created_at)
    record = RunRecord.of(warehouse, run_id, category, products, params, config)
    row = {
        "id": run_id,
        "created_at": created_at,
        "updated_at": created_at,
        "category": category,
        **record.initial_progress().columns(),
        **ProcessOwner.current().columns(created_at),
        "llm_config": config.public_dict(),
        "processing_params": record.processing_params(whole_category=product_ids is None),
        "result_summary": None,
    }
    with record.session() as session:
        tables.ensure_tables(session)
        tables.insert_run(session, row)
        tables.insert_taxonomies(session, record.placeholder_rows(created_at))
        tables.replace_assignments(session, run_id, record.assignment_rows({}, {}))
    return record


def reopen_run(warehouse: Warehouse, run_id: str, config: LLMConfig, echo: Echo) -> RunRecord:
    """Reload a run that did not reach `done`, take it over, and reset its counters for this execution."""
    mark_abandoned_runs(warehouse, echo)
    with warehouse.session() as session:
        stored = tables.fetch_run(session, run_id)
        if stored is None:
            raise ProductSegmentationError(f"no product segmentation run {run_id!r} to resume")
        if stored["stage"] == "done":
            raise ProductSegmentationError(f"run {run_id} is already done; there is nothing to resume")
        if stored["stage"] not in FINISHED_STAGES:
            raise ProductSegmentationError(
                f"run {run_id} is still running (stage {stored['stage']}, process {stored['owner_pid']} on "
                f"{stored['owner_host']}, last heartbeat {stored['heartbeat_at']}); resume it once it has stopped",
                run_id=run_id,
            )
        product_ids = [row["product_id"] for row in tables.fetch_assignments(session, run_id)]
        products = tables.load_products(session, product_ids, stored["category"])
    missing = sorted(set(product_ids) - {p["product_id"] for p in products}, key=id_order)
    if missing:
        raise ProductSegmentationError(
            f"run {run_id} cannot be resumed: {len(missing)} of its products are no longer in raw.products "
            f"(e.g. {', '.join(missing[:5])})",
            run_id=run_id,
        )
    previous = stored["result_summary"] or {}
    params = SegmentationParams.from_stored(stored["processing_params"] or {})
    record = RunRecord.of(
        warehouse, run_id, stored["category"], products, params, config,
        resume_count=int(previous.get("resume_count", 0)) + 1,
    )  # fmt: skip
    echo(
        f"Resuming run {run_id} (it stopped at stage {stored['stage']}); "
        "answers already received come from the cache."
    )
    now = tables.utc_now()
    with record.session() as session:
        tables.update_run(
            session,
            run_id,
            **record.initial_progress().columns(),
            **ProcessOwner.current().columns(now),
            llm_config=config.public_dict(),
            result_summary={"resume_count": record.resume_count, "resumed_from_stage": stored["stage"]},
            updated_at=now,
        )
    return record


def _check_products(products: list[dict[str, Any]], product_ids: Sequence[str] | None, category: str) -> None:
    """Refuse to start on nothing, or on ids raw.products does not have: a typo should not cost a run."""
    if product_ids is not None:
        missing = sorted(set(product_ids) - {p["product_id"] for p in products}, key=id_order)
        if missing:
            raise ProductSegmentationError(
                f"{len(missing)} product id(s) are not in raw.products: {', '.join(map(str, missing[:10]))}"
                + (" …" if len(missing) > 10 else "")
            )
    if not products:
        raise ProductSegmentationError(
            f"no products to segment: raw.products has no product of category {category!r}"
            if product_ids is None
            else "no product ids were given"
        )


# ----------------------------------------------------------------------------------------------- abandoned


def mark_abandoned_runs(warehouse: Warehouse, echo: Echo | None = None) -> dict[str, str]:
    """Mark `abandoned` every run that says it is running but whose owner process is gone; run id -> reason.

    Each is checked again in the transaction that marks it, so a run that ended meanwhile is left as it ended.
    """
    # Looking is read-only, so a `show` polled during a build never takes the write lock; only a run that really
    # is abandoned costs one short write. Tables from before owners were recorded have no owner to check.
    with warehouse.session(read_only=True) as session:
        if not tables.tables_exist(session):
            return {}
        if "heartbeat_at" not in session.column_names(tables.ML_SCHEMA, tables.RUNS):
            return {}
        candidates = tables.fetch_unfinished_runs(session, FINISHED_STAGES)
    reasons: dict[str, str] = {}
    for run in candidates:
        reason = why_abandoned(
            run["owner_host"], run["owner_pid"], run["owner_started_at"], run["heartbeat_at"]
        )
        if reason is not None:
            reasons[run["id"]] = reason
    if not reasons:
        return {}
    with short_session(warehouse) as session:
        for run_id, reason in reasons.items():
            stored = tables.fetch_run(session, run_id)
            if stored is None or stored["stage"] in FINISHED_STAGES:
                continue
            summary = {
                **(stored["result_summary"] or {}),
                "status": "abandoned",
                "reason": "abandoned",
                "message": f"abandoned at stage {stored['stage']}: {reason}",
                "phase": stored["stage"],
            }
            tables.update_run(session, run_id, stage="abandoned", result_summary=summary)
    if echo is not None:
        for run_id, reason in reasons.items():
            echo(f"Run {run_id} marked abandoned: {reason}. `--resume {run_id}` continues it.")
    return reasons


# ------------------------------------------------------------------------------------------------- failing


def failure_summary(
    error: BaseException, phase: str, resume_count: int, counts: dict[str, Any]
) -> dict[str, Any]:
    """The result_summary of a failed run."""
    return {
        "status": "failed",
        "reason": failure_reason(error),
        "message": one_line(error)[:1000],
        "phase": phase,
        "resume_count": resume_count,
        **counts,
    }
