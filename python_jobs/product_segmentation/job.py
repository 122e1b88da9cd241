"""The product segmentation job: products of a category in, a taxonomy of market segments and every product's
place in it out, through an LLM (or the offline stand-in). Two entry points:

- `start_run(warehouse, category, product_ids, config, params, ...)` starts a new run;
- `resume_run(warehouse, run_id, config, ...)` continues one that did not reach `done` (failed, or abandoned by
  a process that died) under its own id, archive folder and rows, with its stored category, products and
  parameters; calls it had made come back from the cache for free, so only the missing ones are paid for.
  Counters restart from 0 and climb through the cached answers. A run whose process is still alive is refused.

What lives where: `plan.py` the parameters and the call plan; `phases.py` extraction, consolidation and
refinement; `progress.py` the counters, percent and statistics and `writer.py` the background thread that
commits them; `interactions.py` the interaction index and the run's copies of cached answers; `runs.py` the
run's record, start, resume, failure and abandonment. This module runs one execution from the first call to the
last write.

Writes. The run row, the two placeholder taxonomy entries and one assignment row per product are written in one
transaction at the start; each phase's results, with the next stage, in one transaction at its end; and after
every LLM response (cache hits included) the counters and the response's index rows, in a tiny transaction of
their own. All but the first go through one background writer thread, in order, so the event loop never waits
for the database. Every transaction opens its connection and closes it again: on DuckDB (one writing process
per file) the file is held only for the few milliseconds of a commit, never across LLM calls, so another process
can open it between two commits to follow the run. `progress.json` in the run's archive folder says the same
for readers without the warehouse. A failure (an exception, Ctrl-C, SIGTERM) flushes what was handed over and
marks the run `failed` with the reason in `result_summary`, touching no other run; a SIGKILL cannot be caught,
and leaves a run the next command marks `abandoned`.

Cache. The LLM client answers identical requests from the archive, across runs: a second run over the same
inputs makes no provider call.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from python_jobs.llm.archive import LocalArchiveStorage
from python_jobs.llm.client import LLMClient
from python_jobs.llm.config import LLMConfig
from python_jobs.llm.providers import LLMProvider, make_provider
from python_jobs.product_segmentation import prompts
from python_jobs.product_segmentation.interactions import InteractionIndex, RecordingArchive
from python_jobs.product_segmentation.offline_embeddings import offline_handlers, offline_model_name
from python_jobs.product_segmentation.phases import Phases
from python_jobs.product_segmentation.plan import (
    CONSOLIDATION,
    EXTRACTION,
    REFINEMENT,
    CallPlan,
    SegmentationParams,
    merges_per_level,
)
from python_jobs.product_segmentation.progress import ProgressTracker, RunProgress
from python_jobs.product_segmentation.runs import (
    ARCHIVE_FOLDER,
    DUCKDB_LOCK_WAIT_SECONDS,
    Echo,
    ProductSegmentationError,
    RunRecord,
    RunTerminated,
    create_run,
    failure_reason,
    failure_summary,
    new_run_id,
    one_line,
    placeholder_ids,
    reopen_run,
)
from python_jobs.product_segmentation.tables import FINAL_STAGE
from python_jobs.warehouse.connection import Warehouse

__all__ = [
    "ARCHIVE_FOLDER",
    "CONSOLIDATION",
    "DUCKDB_LOCK_WAIT_SECONDS",
    "EXTRACTION",
    "FINAL_STAGE",
    "REFINEMENT",
    "CallPlan",
    "ProductSegmentationError",
    "RunProgress",
    "SegmentationParams",
    "failure_reason",
    "merges_per_level",
    "new_run_id",
    "placeholder_ids",
    "resume_run",
    "start_run",
]

ProgressCallback = Callable[[RunProgress], None]


def job_config(config: LLMConfig) -> LLMConfig:
    """`config` with this job's offline logic and embedding backend named as the offline model (answers are
    cached under it, and the run's `llm_config` records it)."""
    return dataclasses.replace(config, offline_model=offline_model_name())


def _provider(config: LLMConfig) -> LLMProvider:
    # Made before the run has a row, so a provider that cannot work (no API key) stops it before it starts.
    return make_provider(config, offline_handlers())


def start_run(
    warehouse: Warehouse,
    category: str,
    product_ids: Sequence[str | int] | None,
    config: LLMConfig,
    params: SegmentationParams | None = None,
    archive_root: Path | str = Path("llm_logs"),
    echo: Echo = print,
    on_progress: ProgressCallback | None = None,
) -> str:
    """Segment the products (by id, or with `product_ids=None` every product of `category`); returns the run id.

    Ids are text as in raw.products; an integer is taken as its digits (`42` is the product `"42"`).

    Raises ProductSegmentationError when the run cannot start or ends failed (the run row then says why).
    """
    if not category or not category.strip():
        raise ProductSegmentationError("a category is needed to start a run")
    config = job_config(config)
    provider = _provider(config)
    record = create_run(
        warehouse, category.strip(), product_ids, config, params or SegmentationParams(), echo
    )
    return _execute(record, provider, archive_root, echo, on_progress)


def resume_run(
    warehouse: Warehouse,
    run_id: str,
    config: LLMConfig,
    archive_root: Path | str = Path("llm_logs"),
    echo: Echo = print,
    on_progress: ProgressCallback | None = None,
) -> str:
    """Continue run `run_id` (failed, or abandoned by a process that is gone) with its stored category, products
    and parameters; returns its id. Raises ProductSegmentationError as `start_run` does."""
    config = job_config(config)
    provider = _provider(config)
    record = reopen_run(warehouse, run_id, config, echo)
    return _execute(record, provider, archive_root, echo, on_progress)


def _execute(
    record: RunRecord,
    provider: LLMProvider,
    archive_root: Path | str,
    echo: Echo,
    on_progress: ProgressCallback | None,
) -> str:
    """Run the phases; on any failure mark the run failed (in its own transaction) and raise."""
    storage = LocalArchiveStorage(Path(archive_root))
    archive = RecordingArchive(storage, record.prefix)
    index = InteractionIndex(archive, record.run_id, record.prefix)
    tracker = ProgressTracker(
        record.initial_progress(), index, storage, record.prefix, record.session, on_progress
    )
    config = record.config
    echo(
        f"Product segmentation run {record.run_id}: {len(record.products):,} products of {record.category!r}, "
        f"{config.provider} ({config.effective_model}); {record.plan.describe()}"
    )
    tracker.report()
    writer = tracker.start_writer()
    try:
        with _sigterm_raises():
            asyncio.run(_phases(record, tracker, provider, archive, echo))
    except BaseException as error:
        reason = _mark_failed(record, tracker, error, echo)
        if isinstance(error, Exception):
            raise ProductSegmentationError(
                f"run {record.run_id} failed ({reason}) during {tracker.phase}: {one_line(error)}",
                run_id=record.run_id,
                reason=reason,
            ) from error
        raise
    finally:
        writer.close()
    return record.run_id


async def _phases(
    record: RunRecord, tracker: ProgressTracker, provider: LLMProvider, archive: RecordingArchive, echo: Echo
) -> None:
    async with LLMClient(record.config, provider, archive, record.run_id, record.prefix) as client:
        for task in prompts.TASKS:
            client.write_prompt_template(task, prompts.template_for_archive(task))
        await Phases(record, tracker, client, echo).run()


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the run works, SIGTERM raises RunTerminated, so the run is flushed and marked on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(_signal: int, _frame: object) -> None:
        raise RunTerminated("terminated by SIGTERM")

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _mark_failed(record: RunRecord, tracker: ProgressTracker, error: BaseException, echo: Echo) -> str:
    """Record the failure in its own transaction; if even that fails, say so but keep the original error."""
    reason = failure_reason(error)
    summary = failure_summary(error, tracker.phase, record.resume_count, tracker.summary_counts())
    tracker.progress.stage = "failed"
    if tracker.writer is not None:
        with contextlib.suppress(Exception):
            tracker.writer.flush()  # its own error, if any, is the one being recorded or a consequence of it
    try:
        tracker.commit_failure(summary)
    except Exception as marking_error:
        echo(f"  could not mark run {record.run_id} as failed: {marking_error}")
    tracker.report()
    echo(f"Run {record.run_id} failed ({reason}) during {tracker.phase}: {one_line(error)}")
    echo(f"  `--resume {record.run_id}` continues it; answers already received are not paid for again.")
    return reason
