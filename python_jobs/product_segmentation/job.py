"""The product segmentation job: products of a category in, a taxonomy of market segments and every product's
place in it out, through an LLM (or the offline stand-in).

Phases, each a wave of concurrent calls (at most `config.max_concurrency` in flight):

1. extraction: one call per batch of products (default 40) gives the batch's taxonomy and each product's
   initial segment (or out of scope);
2. consolidation: the batch taxonomies are merged pair-wise, level by level ([1,2]->a, [3,4]->b, [a,b]->final;
   an odd one out is carried up a level without a call), so N batches cost exactly N-1 merge calls in
   ceil(log2 N) levels; level i is stored as stage `consolidation_l<i>`, the last merge as `final` (a single
   batch's taxonomy becomes `final` as it is);
3. refinement: every product re-assigned in batches with the final taxonomy in the prompt; products a response
   left out get one follow-up call of their own, then stay `__UNASSIGNED__`.

Writes. The run row, the two placeholder taxonomy entries and one assignment row per product are written in one
transaction at the start; each phase's results, with the next stage, in one transaction at its end; and after
every LLM response (cache hits included) the counters and the response's index rows, in a tiny transaction of
their own. All but the first go through one background writer thread, in order, so the event loop never waits
for the database and the next calls go out while a phase's results are being committed; counters that arrive
while a commit is under way ride on the next one, so the table is never more than one commit behind. Every
transaction opens its connection and closes it again: on DuckDB (one writing process per file) the file is held
only for the few milliseconds of a commit, never across LLM calls, so another process can open it between two
commits to follow the run (a write finding the file held by such a reader waits for it, up to
DUCKDB_LOCK_WAIT_SECONDS). `progress.json` in the run's archive folder says the same for readers without the
warehouse. A failure marks the run `failed` with the reason in `result_summary` and touches no other run.

Progress. calls_total (extraction batches + merges + refinement batches) is known and written before the first
call; each response adds one to calls_done and percent = round(calls_done / calls_total * 100, 1). A follow-up
refinement call adds one to calls_total when it is decided; percent never goes down (it keeps its highest
value) and reads exactly 100.0 when every call is done. processed_products counts the products answered in the
current product phase (extraction, then refinement from 0), so it ends at total_products.

Cache and resume. The LLM client answers identical requests from the archive, across runs: a second run over
the same inputs makes no provider call. `resume_run_id` re-executes a run that did not reach `done` under its
own id, archive folder and rows; calls it had made come back from the cache for free, so only the missing ones
are paid for. Counters restart from 0 and climb through the cached answers. (Nothing stops a resume of a run
that is in fact still going in another process: resume only what you know has stopped.)

Interaction index (`product_segment_llm_interactions`, file_path unique across the table). Every file the
client archives for this run, failed attempts included, is indexed under the run. A cache hit on a file of
this same run (a resume) is indexed once. A cache hit on ANOTHER run's file is copied into this run's archive
folder (`<phase>/<time>_<batch>_cached_<hash8>.json`, the original document plus a `cache_hit` block naming
the source file) and the copy is indexed under this run: every run's folder and index are then complete on
their own, and no row is shared or moved between runs.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from python_jobs.llm.archive import ArchiveStorage, LocalArchiveStorage, utc_basic_timestamp
from python_jobs.llm.client import LLMCall, LLMClient
from python_jobs.llm.config import LLMConfig
from python_jobs.llm.providers import (
    LLMAuthenticationError,
    LLMOutputError,
    LLMProvider,
    LLMQuotaError,
    LLMRequest,
    LLMRequestError,
    LLMTimeoutError,
    LLMUnavailableError,
    make_provider,
)
from python_jobs.product_segmentation import prompts, tables
from python_jobs.product_segmentation.offline import OFFLINE_HANDLERS
from python_jobs.warehouse.connection import Session, Warehouse, WarehouseError
from python_jobs.warehouse.ml_tables import OUT_OF_SCOPE_SEGMENT, UNASSIGNED_SEGMENT

ARCHIVE_FOLDER = "product_segmentation"
EXTRACTION, CONSOLIDATION, REFINEMENT = "extraction", "consolidation", "refinement"
FINAL_STAGE = tables.FINAL_STAGE
# How long a write waits for another process that holds the DuckDB file (a reader following the progress).
DUCKDB_LOCK_WAIT_SECONDS = 30.0
_EXAMPLES_KEPT = 20

Echo = Callable[[str], None]
T = TypeVar("T")


class ProductSegmentationError(RuntimeError):
    """A run that could not start, or that ended `failed`; `reason` is the short word stored with it."""

    def __init__(self, message: str, *, run_id: str | None = None, reason: str = "error") -> None:
        super().__init__(message)
        self.run_id = run_id
        self.reason = reason


@dataclass(frozen=True)
class SegmentationParams:
    """What shapes the calls (and so the cache keys): changing any of these changes which calls are made."""

    batch_size: int = 40
    refine_batch_size: int = 40
    max_segments_per_batch: int = 8
    max_segments: int = 12

    def __post_init__(self) -> None:
        for name in ("batch_size", "refine_batch_size", "max_segments_per_batch", "max_segments"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> SegmentationParams:
        """The parameters of a run from its `processing_params`, for a resume."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in stored.items() if name in names})


def merges_per_level(taxonomies: int) -> tuple[int, ...]:
    """Merge calls at each consolidation level for `taxonomies` batch taxonomies: 25 -> (12, 6, 3, 2, 1)."""
    levels = []
    while taxonomies > 1:
        levels.append(taxonomies // 2)
        taxonomies = taxonomies // 2 + taxonomies % 2
    return tuple(levels)


def _chunks(ids: Sequence[int], size: int) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(ids[start : start + size]) for start in range(0, len(ids), size))


@dataclass(frozen=True)
class CallPlan:
    """Every call a run will make (follow-ups aside), known before the first one."""

    extraction_batches: tuple[tuple[int, ...], ...]
    refinement_batches: tuple[tuple[int, ...], ...]
    merge_levels: tuple[int, ...]

    @classmethod
    def for_products(cls, product_ids: Sequence[int], params: SegmentationParams) -> CallPlan:
        ordered = sorted(product_ids)
        extraction = _chunks(ordered, params.batch_size)
        return cls(extraction, _chunks(ordered, params.refine_batch_size), merges_per_level(len(extraction)))

    @property
    def merge_calls(self) -> int:
        return sum(self.merge_levels)

    @property
    def calls_total(self) -> int:
        return len(self.extraction_batches) + self.merge_calls + len(self.refinement_batches)


@dataclass
class RunProgress:
    """The counters of `product_segment_runs` as they move; what `on_progress` receives (as a copy)."""

    run_id: str
    stage: str
    seg_batches_done: int
    seg_batches_total: int
    con_batches_done: int
    con_batches_total: int
    ref_batches_done: int
    ref_batches_total: int
    calls_done: int
    calls_total: int
    percent: float
    total_products: int
    processed_products: int

    def columns(self) -> dict[str, Any]:
        """The run-table columns these counters are stored in."""
        return {name: value for name, value in dataclasses.asdict(self).items() if name != "run_id"}


@dataclass
class _Statistics:
    """What the run's result_summary reports beyond the counters."""

    calls_by_phase: dict[str, int] = field(
        default_factory=lambda: {EXTRACTION: 0, CONSOLIDATION: 0, REFINEMENT: 0}
    )
    cache_hits: int = 0
    provider_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    invented_product_ids: list[int] = field(default_factory=list)
    extraction_left_out: int = 0
    refinement_left_out: int = 0
    followup_calls: int = 0
    unassigned_after_followup: int = 0
    unknown_segment_names: int = 0
    archived_files: int = 0
    cached_copies: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls_by_phase": dict(self.calls_by_phase),
            "cache_hits": self.cache_hits,
            "provider_calls": self.provider_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "invented_product_ids": len(self.invented_product_ids),
            "invented_product_id_examples": sorted(set(self.invented_product_ids))[:_EXAMPLES_KEPT],
            "extraction_left_out_products": self.extraction_left_out,
            "refinement_left_out_products": self.refinement_left_out,
            "followup_calls": self.followup_calls,
            "unassigned_products": self.unassigned_after_followup,
            "unknown_segment_names": self.unknown_segment_names,
            "archived_files": self.archived_files,
            "cached_copies": self.cached_copies,
        }


@dataclass(frozen=True)
class _Entry:
    """A taxonomy entry as the job handles it: its id in the table and what the model sees."""

    id: str
    name: str
    definition: str

    def for_prompt(self) -> dict[str, str]:
        return {"name": self.name, "definition": self.definition}


# ----------------------------------------------------------------------------------------------- archive


class _RecordingArchive(ArchiveStorage):
    """The run's archive storage, noting every call file the LLM client writes under the run's folder.

    The client reports only the file of the attempt it used; the files of the attempts it discarded are known
    only here, at the moment they are written. Each noted file is indexed with the next progress write.
    """

    def __init__(self, inner: ArchiveStorage, prefix: str) -> None:
        self.inner = inner
        self._prefix = f"{prefix}/"
        self._written: list[tuple[str, str, str]] = []

    def write_text(self, relative_path: str, text: str) -> None:
        self.inner.write_text(relative_path, text)
        if relative_path.startswith(self._prefix) and relative_path.endswith(".json"):
            metadata = _metadata(text)
            if metadata.get("cache_key"):
                interaction = (
                    f"{metadata.get('llm_interaction_id', uuid.uuid4().hex)}-a{metadata.get('attempt', 0)}"
                )
                self._written.append((relative_path, metadata["cache_key"], interaction))

    def read_text(self, relative_path: str) -> str:
        return self.inner.read_text(relative_path)

    def exists(self, relative_path: str) -> bool:
        return self.inner.exists(relative_path)

    def find_by_cache_key(self, cache_key: str) -> str | None:
        return self.inner.find_by_cache_key(cache_key)

    def remember_cache_key(self, cache_key: str, relative_path: str) -> None:
        self.inner.remember_cache_key(cache_key, relative_path)

    def drain(self) -> list[tuple[str, str, str]]:
        """(file_path, cache_key, interaction id) of the files written since the last drain."""
        written, self._written = self._written, []
        return written


def _metadata(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    metadata = document.get("metadata") if isinstance(document, dict) else None
    return metadata if isinstance(metadata, dict) else {}


# ----------------------------------------------------------------------------------------------- progress


@dataclass
class _Pending:
    """One queued write: a phase's transaction (`write`), or the latest counters and their interaction rows."""

    write: Callable[[], None] | None = None
    columns: dict[str, Any] | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


class _BackgroundWriter:
    """Every write of a running run, in the order handed over, from a thread of its own.

    Each response hands its counters over at once and they are committed in a short transaction of their own
    (opened and closed around the update). Counters that arrive while a commit is under way are merged into the
    one queued behind it (the newest counters, all their interaction rows), so the table is never more than one
    commit behind. A phase's results go through the same queue as one transaction, so the stage they set is never
    overtaken by an older progress commit. Either way the event loop never waits for the database: the next
    phase's calls go out while the last one's results are being written. `flush` waits until everything
    handed over is committed, and raises the first error the thread met (after which it writes nothing more).
    """

    def __init__(
        self, commit_progress: Callable[[dict[str, Any], list[dict[str, Any]]], None], name: str
    ) -> None:
        self._commit_progress = commit_progress
        self._condition = threading.Condition()
        self._queue: collections.deque[_Pending] = collections.deque()
        self._busy = False
        self._closed = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def progress(self, columns: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        with self._condition:
            self._raise_error()
            last = self._queue[-1] if self._queue else None
            if last is not None and last.write is None:
                last.columns = columns
                last.rows += rows
            else:
                self._queue.append(_Pending(columns=columns, rows=list(rows)))
            self._condition.notify_all()

    def transaction(self, write: Callable[[], None]) -> None:
        with self._condition:
            self._raise_error()
            self._queue.append(_Pending(write=write))
            self._condition.notify_all()

    def flush(self) -> None:
        with self._condition:
            while (self._queue or self._busy) and self._error is None:
                self._condition.wait()
            self._raise_error()

    def close(self) -> None:
        """Stop the thread once what was handed over is committed (or has failed)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _loop(self) -> None:
        while True:
            with self._condition:
                while not self._queue and not self._closed:
                    self._condition.wait()
                if not self._queue or self._error is not None:
                    return
                pending = self._queue.popleft()
                self._busy = True
            try:
                if pending.write is not None:
                    pending.write()
                else:
                    assert pending.columns is not None
                    self._commit_progress(pending.columns, pending.rows)
            except BaseException as error:
                with self._condition:
                    self._error = error
                    self._queue.clear()
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()


# ------------------------------------------------------------------------------------------------ entry point


def segment_products(
    warehouse: Warehouse,
    category: str | None,
    product_ids: Sequence[int] | None,
    config: LLMConfig,
    params: SegmentationParams | None = None,
    archive_root: Path | str = Path("llm_logs"),
    resume_run_id: str | None = None,
    echo: Echo = print,
    on_progress: Callable[[RunProgress], None] | None = None,
) -> str:
    """Segment the products (by id, or with `product_ids=None` every product of `category`); returns the run id.

    With `resume_run_id`, continues that run instead (its category, products and parameters are the stored
    ones; `category`, `product_ids` and `params` are ignored). Raises ProductSegmentationError when the run
    cannot start or ends failed (the run row then says why).
    """
    archive = LocalArchiveStorage(Path(archive_root))
    # Made first, so a provider that cannot work (no API key) stops the run before it has a row.
    provider = make_provider(config, OFFLINE_HANDLERS)
    if resume_run_id is None:
        if not category or not category.strip():
            raise ProductSegmentationError("a category is needed to start a run")
        run = _Run.start(
            warehouse, category.strip(), product_ids, config, params or SegmentationParams(), archive
        )
    else:
        run = _Run.resume(warehouse, resume_run_id, config, archive, echo)
    run.echo, run.on_progress = echo, on_progress
    run.execute(provider)
    return run.run_id


def new_run_id(category: str, product_ids: Sequence[int], created_at: dt.datetime) -> str:
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
        (WarehouseError, "warehouse"),
    ):
        if isinstance(error, kind):
            return reason
    return "error"


# ---------------------------------------------------------------------------------------------------- the run


class _Run:
    """One execution of a run: its plan, counters and the phases, from the first call to the last write."""

    def __init__(
        self,
        warehouse: Warehouse,
        run_id: str,
        category: str,
        products: list[dict[str, Any]],
        params: SegmentationParams,
        config: LLMConfig,
        archive: ArchiveStorage,
        resume_count: int = 0,
    ) -> None:
        self.warehouse = warehouse
        self.run_id = run_id
        self.category = category
        self.products = {int(p["product_id"]): p for p in products}
        self.params = params
        self.config = config
        self.plan = CallPlan.for_products(list(self.products), params)
        self.prefix = f"{ARCHIVE_FOLDER}/{run_id}"
        self.archive = _RecordingArchive(archive, self.prefix)
        self.unassigned_id, self.out_of_scope_id = placeholder_ids(run_id)
        self.resume_count = resume_count
        self.stats = _Statistics()
        self.phase = "init"
        self.echo: Echo = print
        self.on_progress: Callable[[RunProgress], None] | None = None
        self.progress = RunProgress(
            run_id=run_id,
            stage="init",
            seg_batches_done=0,
            seg_batches_total=len(self.plan.extraction_batches),
            con_batches_done=0,
            con_batches_total=self.plan.merge_calls,
            ref_batches_done=0,
            ref_batches_total=len(self.plan.refinement_batches),
            calls_done=0,
            calls_total=self.plan.calls_total,
            percent=0.0,
            total_products=len(self.products),
            processed_products=0,
        )
        self.initial: dict[int, str] = {}

    # -------------------------------------------------------------------------------------- starting

    @classmethod
    def start(
        cls,
        warehouse: Warehouse,
        category: str,
        product_ids: Sequence[int] | None,
        config: LLMConfig,
        params: SegmentationParams,
        archive: ArchiveStorage,
    ) -> _Run:
        """Check the products, then write the run row, placeholders and assignment rows in one transaction."""
        with warehouse.session() as session:
            products = tables.load_products(session, product_ids, category)
        _check_products(products, product_ids, category)
        created_at = tables.utc_now()
        run_id = new_run_id(category, [p["product_id"] for p in products], created_at)
        run = cls(warehouse, run_id, category, products, params, config, archive)
        with run._session() as session:
            tables.ensure_tables(session)
            tables.insert_run(session, run._run_row(created_at, whole_category=product_ids is None))
            tables.insert_taxonomies(session, run._placeholder_rows(created_at))
            tables.replace_assignments(session, run_id, run._assignment_rows({}, {}))
        return run

    @classmethod
    def resume(
        cls, warehouse: Warehouse, run_id: str, config: LLMConfig, archive: ArchiveStorage, echo: Echo
    ) -> _Run:
        """Reload a run that did not reach `done`, and reset its counters for this execution."""
        with warehouse.session() as session:
            stored = tables.fetch_run(session, run_id)
            if stored is None:
                raise ProductSegmentationError(f"no product segmentation run {run_id!r} to resume")
            if stored["stage"] == "done":
                raise ProductSegmentationError(f"run {run_id} is already done; there is nothing to resume")
            product_ids = [row["product_id"] for row in tables.fetch_assignments(session, run_id)]
            products = tables.load_products(session, product_ids, stored["category"])
        missing = sorted(set(product_ids) - {p["product_id"] for p in products})
        if missing:
            raise ProductSegmentationError(
                f"run {run_id} cannot be resumed: {len(missing)} of its products are no longer in raw.products "
                f"(e.g. {missing[:5]})",
                run_id=run_id,
            )
        previous = stored["result_summary"] or {}
        params = SegmentationParams.from_stored(stored["processing_params"] or {})
        run = cls(
            warehouse,
            run_id,
            stored["category"],
            products,
            params,
            config,
            archive,
            resume_count=int(previous.get("resume_count", 0)) + 1,
        )
        echo(
            f"Resuming run {run_id} (it stopped at stage {stored['stage']}); "
            "answers already received come from the cache."
        )
        with run._session() as session:
            tables.update_run(
                session,
                run_id,
                **run.progress.columns(),
                llm_config=config.public_dict(),
                result_summary={"resume_count": run.resume_count, "resumed_from_stage": stored["stage"]},
                updated_at=tables.utc_now(),
            )
        return run

    def _run_row(self, created_at: dt.datetime, *, whole_category: bool) -> dict[str, Any]:
        return {
            "id": self.run_id,
            "created_at": created_at,
            "updated_at": created_at,
            "category": self.category,
            **self.progress.columns(),
            "llm_config": self.config.public_dict(),
            "processing_params": self._processing_params(whole_category),
            "result_summary": None,
        }

    def _processing_params(self, whole_category: bool) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self.params),
            "product_selection": "category" if whole_category else "product_ids",
            "extraction_batches": len(self.plan.extraction_batches),
            "merge_calls": self.plan.merge_calls,
            "consolidation_levels": len(self.plan.merge_levels),
            "merges_per_level": list(self.plan.merge_levels),
            "refinement_batches": len(self.plan.refinement_batches),
            "max_attempts": self.config.max_attempts,
            "schema_version": prompts.SCHEMA_VERSION,
            "archive_prefix": self.prefix,
        }

    def _placeholder_rows(self, created_at: dt.datetime) -> list[dict[str, Any]]:
        return [
            _taxonomy_row(self.unassigned_id, self.run_id, UNASSIGNED_SEGMENT,
                          "Placeholder of a product no answer has placed (yet).", "init", created_at),
            _taxonomy_row(self.out_of_scope_id, self.run_id, OUT_OF_SCOPE_SEGMENT,
                          f"Products that do not belong to the category {self.category!r} at all.", "system",
                          created_at),
        ]  # fmt: skip

    def _assignment_rows(self, initial: dict[int, str], refined: dict[int, str]) -> list[dict[str, Any]]:
        """One row per product; anything not (yet) placed points at the placeholder, never at null."""
        return [
            {
                "run_id": self.run_id,
                "product_id": product_id,
                "taxonomy_id_initial": initial.get(product_id, self.unassigned_id),
                "taxonomy_id_refined": refined.get(product_id, self.unassigned_id),
            }
            for product_id in sorted(self.products)
        ]

    # ------------------------------------------------------------------------------------- execution

    def execute(self, provider: LLMProvider) -> None:
        """Run the phases; on any failure mark the run failed (in its own transaction) and raise."""
        plan = self.plan
        levels = len(plan.merge_levels)
        self.echo(
            f"Product segmentation run {self.run_id}: {len(self.products):,} products of {self.category!r}, "
            f"{self.config.provider} ({self.config.effective_model}); {len(plan.extraction_batches)} extraction + "
            f"{plan.merge_calls} merge ({levels} level{'s' if levels != 1 else ''}) + "
            f"{len(plan.refinement_batches)} refinement calls"
        )
        self._report_progress()
        self.writer = _BackgroundWriter(self._commit_progress, name=f"writer-{self.run_id}")
        try:
            asyncio.run(self._phases(provider))
        except BaseException as error:
            reason = self._mark_failed(error)
            if isinstance(error, Exception):
                raise ProductSegmentationError(
                    f"run {self.run_id} failed ({reason}) during {self.phase}: {_one_line(error)}",
                    run_id=self.run_id,
                    reason=reason,
                ) from error
            raise
        finally:
            self.writer.close()

    async def _phases(self, provider: LLMProvider) -> None:
        async with LLMClient(self.config, provider, self.archive, self.run_id, self.prefix) as client:
            for task in prompts.TASKS:
                client.write_prompt_template(task, prompts.template_for_archive(task))
            batch_taxonomies = await self._extraction(client)
            final = await self._consolidation(client, batch_taxonomies)
            await self._refinement(client, final)

    async def _wave(self, jobs: list[Callable[[], Awaitable[T]]]) -> list[T]:
        """Run `jobs` with at most max_concurrency at once; after a failure no new job starts, the ones in flight
        finish (their answers are archived and cached, so a resume will not pay for them again), then it raises."""
        results: list[Any] = [None] * len(jobs)
        pending = iter(range(len(jobs)))
        failures: list[BaseException] = []

        async def worker() -> None:
            for index in pending:
                if failures:
                    return
                try:
                    results[index] = await jobs[index]()
                except Exception as error:
                    failures.append(error)
                    return

        await asyncio.gather(*(worker() for _ in range(min(self.config.max_concurrency, len(jobs)))))
        if failures:
            raise failures[0]
        return results

    async def _call(
        self,
        client: LLMClient,
        task: str,
        payload: dict[str, Any],
        phase: str,
        label: str,
        ids: Sequence[int],
    ) -> LLMCall:
        """One LLM call of the run, noted in the statistics."""
        request = LLMRequest(
            task=task,
            system=prompts.SYSTEM_PROMPT,
            prompt=prompts.render_prompt(task, payload),
            output_model=prompts.OUTPUT_MODELS[task],
            schema_version=prompts.SCHEMA_VERSION,
            payload=payload,
        )
        call = await client.call(request, phase=phase, batch_label=label, product_ids=list(ids))
        self.stats.calls_by_phase[phase] += 1
        self.stats.cache_hits += call.cache_hit
        self.stats.provider_calls += not call.cache_hit
        self.stats.input_tokens += call.input_tokens
        self.stats.output_tokens += call.output_tokens
        return call

    # ------------------------------------------------------------------------------------- extraction

    async def _extraction(self, client: LLMClient) -> list[list[_Entry]]:
        """Every batch's taxonomy and its products' initial segments, written in one transaction."""
        started = time.perf_counter()
        self._set_stage(EXTRACTION, processed_products=0)
        jobs = [
            functools.partial(self._extract_batch, client, number, ids)
            for number, ids in enumerate(self.plan.extraction_batches, start=1)
        ]
        outputs = await self._wave(jobs)
        now = tables.utc_now()
        rows: list[dict[str, Any]] = []
        taxonomies: list[list[_Entry]] = []
        for number, (ids, output) in enumerate(
            zip(self.plan.extraction_batches, outputs, strict=True), start=1
        ):
            entries = [
                _Entry(
                    f"{self.run_id}:extraction:b{number:04d}:s{index:02d}", segment.name, segment.definition
                )
                for index, segment in enumerate(output.segments, start=1)
            ]
            taxonomies.append(entries)
            rows += [_taxonomy_row(e.id, self.run_id, e.name, e.definition, EXTRACTION, now) for e in entries]
            self.initial.update(self._placements(ids, output.assignments, entries, count_left_out=True))
        self._queue_results(
            CONSOLIDATION,
            taxonomies=([EXTRACTION], rows, ""),
            assignments=self._assignment_rows(self.initial, {}),
        )
        self.echo(
            f"  extraction: {len(jobs)} batch(es), {len(rows)} batch segments, "
            f"{sum(1 for t in self.initial.values() if t == self.out_of_scope_id)} product(s) out of scope "
            f"({time.perf_counter() - started:.1f}s)"
        )
        return taxonomies

    async def _extract_batch(self, client: LLMClient, number: int, ids: tuple[int, ...]) -> Any:
        payload = prompts.extraction_payload(
            self.category, [self.products[i] for i in ids], self.params.max_segments_per_batch
        )
        call = await self._call(client, prompts.EXTRACT_TASK, payload, EXTRACTION, f"b{number:04d}", ids)
        self._count_response(call, f"b{number:04d}", "seg_batches_done", products=len(ids))
        return call.parsed

    def _placements(
        self, ids: Sequence[int], placements: list[Any], entries: list[_Entry], *, count_left_out: bool
    ) -> dict[int, str]:
        """product id -> taxonomy id for the placements of one response, ignoring (and counting) ids the model
        invented and names that are not in `entries`; the first placement of a product wins."""
        batch = set(ids)
        by_name = {e.name: e.id for e in entries}
        by_folded_name = {e.name.casefold(): e.id for e in entries}
        placed: dict[int, str] = {}
        for placement in placements:
            if placement.product_id not in batch:
                self.stats.invented_product_ids.append(placement.product_id)
                continue
            if placement.product_id in placed:
                continue
            if placement.segment == OUT_OF_SCOPE_SEGMENT:
                placed[placement.product_id] = self.out_of_scope_id
                continue
            taxonomy_id = by_name.get(placement.segment) or by_folded_name.get(placement.segment.casefold())
            if taxonomy_id is None:
                self.stats.unknown_segment_names += 1
                continue
            placed[placement.product_id] = taxonomy_id
        if count_left_out:
            self.stats.extraction_left_out += len(batch - set(placed))
        return placed

    # ---------------------------------------------------------------------------------- consolidation

    async def _consolidation(self, client: LLMClient, taxonomies: list[list[_Entry]]) -> list[_Entry]:
        """Merge the batch taxonomies pair-wise, level by level, into the final one; one transaction at the end."""
        started = time.perf_counter()
        self._set_stage(CONSOLIDATION)
        now = tables.utc_now()
        rows: list[dict[str, Any]] = []
        level_inputs = taxonomies
        level = 0
        while len(level_inputs) > 1:
            pairs = [(level_inputs[i], level_inputs[i + 1]) for i in range(0, len(level_inputs) - 1, 2)]
            carried = level_inputs[-1:] if len(level_inputs) % 2 else []
            is_last = len(pairs) == 1 and not carried
            jobs = [
                functools.partial(self._merge, client, level, number, a, b, is_last)
                for number, (a, b) in enumerate(pairs, start=1)
            ]
            merged = await self._wave(jobs)
            stage = FINAL_STAGE if is_last else f"consolidation_l{level}"
            rows += [
                _taxonomy_row(e.id, self.run_id, e.name, e.definition, stage, now) for m in merged for e in m
            ]
            level_inputs = [*merged, *carried]
            level += 1
        if not rows:  # one batch: its taxonomy becomes the final one, under final ids
            level_inputs = [
                [_Entry(self._final_id(i), e.name, e.definition) for i, e in enumerate(taxonomies[0], 1)]
            ]
            rows = [
                _taxonomy_row(e.id, self.run_id, e.name, e.definition, FINAL_STAGE, now)
                for e in level_inputs[0]
            ]
        final = level_inputs[0]
        self._queue_results(REFINEMENT, taxonomies=([FINAL_STAGE], rows, "consolidation_l"))
        self.echo(
            f"  consolidation: {self.plan.merge_calls} merge(s) over {level} level(s), {len(final)} final "
            f"segments ({time.perf_counter() - started:.1f}s)"
        )
        return final

    def _final_id(self, index: int) -> str:
        return f"{self.run_id}:final:s{index:02d}"

    async def _merge(
        self, client: LLMClient, level: int, number: int, a: list[_Entry], b: list[_Entry], is_last: bool
    ) -> list[_Entry]:
        payload = prompts.consolidation_payload(
            self.category, [e.for_prompt() for e in a], [e.for_prompt() for e in b], self.params.max_segments
        )
        label = f"l{level}_m{number:03d}"
        call = await self._call(client, prompts.CONSOLIDATE_TASK, payload, CONSOLIDATION, label, [])
        self._count_response(call, label, "con_batches_done", products=0)
        return [
            _Entry(
                self._final_id(index)
                if is_last
                else f"{self.run_id}:consolidation_l{level}:m{number:03d}:s{index:02d}",
                segment.name,
                segment.definition,
            )
            for index, segment in enumerate(call.parsed.segments, start=1)
        ]

    # ------------------------------------------------------------------------------------- refinement

    async def _refinement(self, client: LLMClient, final: list[_Entry]) -> None:
        """Every product against the final taxonomy; the results and `done` in one transaction."""
        started = time.perf_counter()
        self._set_stage(REFINEMENT, processed_products=0)
        jobs = [
            functools.partial(self._refine_batch, client, number, ids, final)
            for number, ids in enumerate(self.plan.refinement_batches, start=1)
        ]
        refined: dict[int, str] = {}
        for placed in await self._wave(jobs):
            refined.update(placed)
        summary = self._summary(refined, final)
        self.progress.stage = "done"
        self.progress.percent = 100.0
        self.progress.processed_products = len(self.products)
        self._queue_results(
            "done", assignments=self._assignment_rows(self.initial, refined), summary=summary, wait=True
        )
        self._report_progress()
        self.echo(
            f"  refinement: {len(jobs)} batch(es) + {self.stats.followup_calls} follow-up call(s) "
            f"({time.perf_counter() - started:.1f}s)"
        )
        self.echo(
            f"Run {self.run_id} done: {len(final)} segments; {summary['out_of_scope_products']} product(s) out of "
            f"scope, {summary['unassigned_products']} unassigned; {self.stats.provider_calls} provider call(s), "
            f"{self.stats.cache_hits} from the cache."
        )

    async def _refine_batch(
        self, client: LLMClient, number: int, ids: tuple[int, ...], final: list[_Entry]
    ) -> dict[int, str]:
        """One batch's placements, with ONE follow-up call for the products the answer left out."""
        segments = [e.for_prompt() for e in final]
        payload = prompts.refinement_payload(self.category, segments, [self.products[i] for i in ids])
        call = await self._call(client, prompts.REFINE_TASK, payload, REFINEMENT, f"b{number:04d}", ids)
        placed = self._placements(ids, call.parsed.assignments, final, count_left_out=False)
        left_out = [product_id for product_id in ids if product_id not in placed]
        if left_out:
            self.stats.refinement_left_out += len(left_out)
            self.stats.followup_calls += 1
            self.progress.calls_total += 1
        self._count_response(call, f"b{number:04d}", "ref_batches_done", products=len(ids))
        if not left_out:
            return placed
        payload = prompts.refinement_payload(self.category, segments, [self.products[i] for i in left_out])
        label = f"b{number:04d}_followup"
        followup = await self._call(client, prompts.REFINE_TASK, payload, REFINEMENT, label, left_out)
        placed.update(self._placements(left_out, followup.parsed.assignments, final, count_left_out=False))
        self.stats.unassigned_after_followup += sum(1 for product_id in left_out if product_id not in placed)
        self._count_response(followup, label, None, products=0)
        return placed

    def _summary(self, refined: dict[int, str], final: list[_Entry]) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for product_id in self.products:
            taxonomy_id = refined.get(product_id, self.unassigned_id)
            counts[taxonomy_id] = counts.get(taxonomy_id, 0) + 1
        return {
            "status": "done",
            "total_products": len(self.products),
            "final_segments": len(final),
            "segment_product_counts": {e.name: counts.get(e.id, 0) for e in final},
            "out_of_scope_products": counts.get(self.out_of_scope_id, 0),
            "consolidation_levels": len(self.plan.merge_levels),
            "resume_count": self.resume_count,
            **self.stats.as_dict(),
            "unassigned_products": counts.get(self.unassigned_id, 0),
        }

    # --------------------------------------------------------------------------------------- progress

    def _count_response(self, call: LLMCall, label: str, batch_counter: str | None, *, products: int) -> None:
        """One more response: the counters and the interactions it archived go to the progress writer at once."""
        progress = self.progress
        if batch_counter is not None:
            setattr(progress, batch_counter, getattr(progress, batch_counter) + 1)
        progress.calls_done += 1
        progress.processed_products += products
        progress.percent = self._percent()
        self.writer.progress(progress.columns(), self._interaction_rows(call, label))
        self._report_progress()

    def _commit_progress(self, columns: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        """The progress writer's transaction: counters and new interaction rows; then progress.json."""
        with self._session() as session:
            tables.update_run(session, self.run_id, **columns, updated_at=tables.utc_now())
            tables.insert_new_interactions(session, rows)
        self._write_progress_file(columns)

    def _percent(self) -> float:
        """round(done / total * 100, 1), never lower than before, exactly 100.0 only when every call is done."""
        done, total = self.progress.calls_done, self.progress.calls_total
        if done >= total:
            return 100.0
        return max(self.progress.percent, min(round(done / total * 100, 1), 99.9))

    def _set_stage(self, stage: str, **columns: Any) -> None:
        """A phase begins: its stage goes to the progress writer, ahead of every response of the phase."""
        self.phase = stage
        self.progress.stage = stage
        for name, value in columns.items():
            setattr(self.progress, name, value)
        self.writer.progress(self.progress.columns(), [])
        self._report_progress()

    def _queue_results(
        self,
        next_stage: str,
        *,
        taxonomies: tuple[list[str], list[dict[str, Any]], str] | None = None,
        assignments: list[dict[str, Any]] | None = None,
        summary: dict[str, Any] | None = None,
        wait: bool = False,
    ) -> None:
        """A phase's results and the run's next stage as ONE transaction, handed to the background writer.

        Everything it writes is fixed here (counters included), so the next phase can go on changing them
        while this is being committed. `wait` holds until it is committed: the last write of a run.
        """
        self.progress.stage = next_stage
        columns = self.progress.columns()
        interaction_rows = self._interaction_rows()
        run_columns = {**columns, **({"result_summary": summary} if summary is not None else {})}

        def write() -> None:
            with self._session() as session:
                if taxonomies is not None:
                    stages, rows, stage_prefix = taxonomies
                    tables.replace_taxonomies(session, self.run_id, stages, rows, stage_prefix=stage_prefix)
                if assignments is not None:
                    tables.replace_assignments(session, self.run_id, assignments)
                tables.insert_new_interactions(session, interaction_rows)
                tables.update_run(session, self.run_id, **run_columns, updated_at=tables.utc_now())
            self._write_progress_file(columns)

        self.writer.transaction(write)
        if wait:
            self.writer.flush()

    def _report_progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(dataclasses.replace(self.progress))

    def _write_progress_file(self, columns: dict[str, Any]) -> None:
        """`progress.json` beside the run's archived calls, for readers that do not query the warehouse."""
        document = {"run_id": self.run_id, **columns, "updated_at": tables.utc_now().isoformat()}
        self.archive.inner.write_text(f"{self.prefix}/progress.json", json.dumps(document, indent=2))

    # ----------------------------------------------------------------------------------- interactions

    def _interaction_rows(self, call: LLMCall | None = None, label: str = "") -> list[dict[str, Any]]:
        """Index rows for the files archived since the last write, and for `call` when it was a cache hit."""
        now = tables.utc_now()
        written = self.archive.drain()
        self.stats.archived_files += len(written)
        rows = [
            {"id": interaction, "run_id": self.run_id, "file_path": path, "cache_key": key, "created_at": now}
            for path, key, interaction in written
        ]
        if call is not None and call.cache_hit:
            path = call.file_path
            if not path.startswith(f"{self.prefix}/"):
                path = self._copy_cache_hit(call, label)
            rows.append(
                {
                    "id": f"{call.interaction_id}-hit",
                    "run_id": self.run_id,
                    "file_path": path,
                    "cache_key": call.cache_key,
                    "created_at": now,
                }
            )
        return rows

    def _copy_cache_hit(self, call: LLMCall, label: str) -> str:
        """This run's own copy of another run's archived answer (see the module docstring for why)."""
        original = self.archive.inner.read_text(call.file_path)
        try:
            document = json.loads(original)
        except ValueError:
            document = {"original_text": original}
        now = tables.utc_now()
        document["cache_hit"] = {
            "source_file": call.file_path,
            "run_id": self.run_id,
            "llm_interaction_id": call.interaction_id,
            "phase": self.phase,
            "batch_id": label,
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        text = json.dumps(document, indent=2, ensure_ascii=False)
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        path = f"{self.prefix}/{self.phase}/{utc_basic_timestamp(now)}_{label}_cached_{digest}.json"
        self.archive.inner.write_text(path, text)
        self.stats.cached_copies += 1
        return path

    # ----------------------------------------------------------------------------------------- failure

    def _mark_failed(self, error: BaseException) -> str:
        """Record the failure in its own transaction; if even that fails, say so but keep the original error."""
        reason = failure_reason(error)
        message = _one_line(error)
        summary = {
            "status": "failed",
            "reason": reason,
            "message": message[:1000],
            "phase": self.phase,
            "resume_count": self.resume_count,
            **self.stats.as_dict(),
        }
        self.progress.stage = "failed"
        with contextlib.suppress(Exception):
            self.writer.flush()  # its own error, if any, is the one being recorded or a consequence of it
        try:
            with self._session() as session:
                tables.insert_new_interactions(session, self._interaction_rows())
                tables.update_run(
                    session, self.run_id, **self.progress.columns(), result_summary=summary,
                    updated_at=tables.utc_now(),
                )  # fmt: skip
            self._write_progress_file(self.progress.columns())
        except Exception as marking_error:
            self.echo(f"  could not mark run {self.run_id} as failed: {marking_error}")
        self._report_progress()
        self.echo(f"Run {self.run_id} failed ({reason}) during {self.phase}: {message}")
        self.echo(
            f"  `--resume {self.run_id}` continues it; answers already received are not paid for again."
        )
        return reason

    # ---------------------------------------------------------------------------------------- sessions

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with tables.short_session(self.warehouse, DUCKDB_LOCK_WAIT_SECONDS) as session:
            yield session


def _check_products(products: list[dict[str, Any]], product_ids: Sequence[int] | None, category: str) -> None:
    """Refuse to start on nothing, or on ids raw.products does not have: a typo should not cost a run."""
    if product_ids is not None:
        missing = sorted(set(product_ids) - {p["product_id"] for p in products})
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


def _taxonomy_row(
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


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
