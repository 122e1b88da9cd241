"""A run's progress: its counters and percent, the statistics of its result summary, and how both reach the
`product_segment_runs` row and `progress.json`.

Progress. calls_total (extraction batches + merges + refinement batches) is known and written before the first
call; each response adds one to calls_done and percent = round(calls_done / calls_total * 100, 1). A follow-up
refinement call adds one to calls_total when it is decided; percent never goes down (it keeps its highest value)
and reads exactly 100.0 when every call is done. processed_products counts the products answered in the current
product phase (extraction, then refinement from 0), so it ends at total_products.

Every response hands the counters (and the interaction rows it archived) to the background writer at once
(`writer.py`); a phase's results go the same way as one transaction. Every commit also refreshes the run's
heartbeat, and the writer sends a heartbeat of its own when a call takes long.

Tokens. Measured counts (a model's reported usage) and estimated ones (the offline provider's characters / 4)
are added up separately and never together; the run says which it has (`tokens_estimated`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from python_jobs.llm.archive import ArchiveStorage
from python_jobs.llm.client import LLMCall
from python_jobs.product_segmentation import tables
from python_jobs.product_segmentation.interactions import InteractionIndex
from python_jobs.product_segmentation.plan import (
    CONSOLIDATION,
    EXTRACTION,
    PHASES,
    REFINEMENT,
    TaxonomyReplacement,
)
from python_jobs.product_segmentation.product_ids import id_order
from python_jobs.product_segmentation.writer import BackgroundWriter
from python_jobs.warehouse.connection import Session
from python_jobs.warehouse.run_owner import HEARTBEAT_SECONDS

_EXAMPLES_KEPT = 20
# The promise to readers of the run table: its counters include every response the job received more than this
# long ago (each response is committed at once; see writer.py). A test kills a run to check it.
PROGRESS_LAG_SECONDS = 1.0


def tokens_label(tokens: int, estimated: bool) -> str:
    """'12,345 tokens', or '≈ 12,345 tokens (estimated)' when no model counted them."""
    return f"≈ {tokens:,} tokens (estimated)" if estimated else f"{tokens:,} tokens"


@dataclass
class RunProgress:
    """The counters of `product_segment_runs` as they move; what `on_progress` receives (as a copy).

    `tokens` is what the run's calls have spent so far, and `tokens_estimated` whether those are the offline
    provider's estimates; `tokens_label()` says so in words.
    """

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
    tokens: int = 0
    tokens_estimated: bool = False

    def columns(self) -> dict[str, Any]:
        """The run-table columns these counters are stored in (the token total lives in result_summary)."""
        return {
            name: value
            for name, value in dataclasses.asdict(self).items()
            if name not in ("run_id", "tokens")
        }

    def tokens_label(self) -> str:
        return tokens_label(self.tokens, self.tokens_estimated)

    def count_batch(self, phase: str) -> None:
        """One more answered batch of `phase`."""
        if phase == EXTRACTION:
            self.seg_batches_done += 1
        elif phase == CONSOLIDATION:
            self.con_batches_done += 1
        elif phase == REFINEMENT:
            self.ref_batches_done += 1
        else:
            raise ValueError(f"not a phase: {phase!r}")

    def update_percent(self) -> None:
        """round(done / total * 100, 1), never lower than before, exactly 100.0 only when every call is done."""
        if self.calls_done >= self.calls_total:
            self.percent = 100.0
        else:
            self.percent = max(self.percent, min(round(self.calls_done / self.calls_total * 100, 1), 99.9))


@dataclass
class RunStatistics:
    """What the run's result_summary reports beyond the counters."""

    calls_by_phase: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PHASES, 0))
    cache_hits: int = 0
    provider_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    estimated_input_tokens: int = 0
    estimated_output_tokens: int = 0
    # As the answers wrote them: numbers in a run of integer ids, text otherwise.
    invented_product_ids: list[int | str] = field(default_factory=list)
    extraction_left_out: int = 0
    refinement_left_out: int = 0
    followup_calls: int = 0
    unassigned_after_followup: int = 0
    unknown_segment_names: int = 0

    def add_call(self, phase: str, call: LLMCall) -> None:
        self.calls_by_phase[phase] += 1
        self.cache_hits += call.cache_hit
        self.provider_calls += not call.cache_hit
        if call.tokens_estimated:
            self.estimated_input_tokens += call.input_tokens
            self.estimated_output_tokens += call.output_tokens
        else:
            self.input_tokens += call.input_tokens
            self.output_tokens += call.output_tokens

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls_by_phase": dict(self.calls_by_phase),
            "cache_hits": self.cache_hits,
            "provider_calls": self.provider_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "estimated_input_tokens": self.estimated_input_tokens,
            "estimated_output_tokens": self.estimated_output_tokens,
            "invented_product_ids": len(self.invented_product_ids),
            "invented_product_id_examples": sorted(
                set(self.invented_product_ids), key=lambda product_id: id_order(str(product_id))
            )[:_EXAMPLES_KEPT],
            "extraction_left_out_products": self.extraction_left_out,
            "refinement_left_out_products": self.refinement_left_out,
            "followup_calls": self.followup_calls,
            "unassigned_products": self.unassigned_after_followup,
            "unknown_segment_names": self.unknown_segment_names,
        }


@dataclass(frozen=True)
class PhaseResults:
    """What a phase writes when it ends, with the run's next stage, in one transaction."""

    taxonomies: TaxonomyReplacement | None = None
    assignments: list[dict[str, Any]] | None = None
    summary: dict[str, Any] | None = None


SessionFactory = Callable[[], AbstractContextManager[Session]]


class ProgressTracker:
    """The run's counters and statistics, and every write of them while the run goes on."""

    def __init__(
        self,
        progress: RunProgress,
        index: InteractionIndex,
        archive: ArchiveStorage,
        prefix: str,
        session: SessionFactory,
        on_progress: Callable[[RunProgress], None] | None,
    ) -> None:
        self.progress = progress
        self.stats = RunStatistics()
        self.index = index
        self.phase = "init"
        self._archive = archive
        self._prefix = prefix
        self._session = session
        self._on_progress = on_progress
        self.writer: BackgroundWriter | None = None

    @property
    def run_id(self) -> str:
        return self.progress.run_id

    def start_writer(self) -> BackgroundWriter:
        self.writer = BackgroundWriter(
            self._commit_progress, self._commit_heartbeat, heartbeat_seconds=HEARTBEAT_SECONDS,
            name=f"writer-{self.run_id}",
        )  # fmt: skip
        return self.writer

    def _writer(self) -> BackgroundWriter:
        assert self.writer is not None, "the writer starts with the run"
        return self.writer

    # ------------------------------------------------------------------------------------------- counting

    def count_call(self, phase: str, call: LLMCall) -> None:
        self.stats.add_call(phase, call)
        self.progress.tokens += call.input_tokens + call.output_tokens
        self.progress.tokens_estimated = self.progress.tokens_estimated or call.tokens_estimated

    def count_response(self, call: LLMCall, label: str, batch_of: str | None, *, products: int) -> None:
        """One more response (`batch_of`: the phase whose batch it answered; None for a follow-up): the counters
        and the interactions it archived go to the progress writer at once."""
        progress = self.progress
        if batch_of is not None:
            progress.count_batch(batch_of)
        progress.calls_done += 1
        progress.processed_products += products
        progress.update_percent()
        self._writer().progress(self._columns(), self.index.rows(call, label, self.phase))
        self.report()

    def add_planned_call(self) -> None:
        """A follow-up call was decided: one more call in the plan."""
        self.progress.calls_total += 1

    def start_phase(self, stage: str, *, reset_products: bool = False) -> None:
        """A phase begins: its stage goes to the progress writer, ahead of every response of the phase."""
        self.phase = stage
        self.progress.stage = stage
        if reset_products:
            self.progress.processed_products = 0
        self._writer().progress(self._columns(), [])
        self.report()

    def queue_results(self, next_stage: str, results: PhaseResults, *, wait: bool = False) -> None:
        """A phase's results and the run's next stage as ONE transaction, handed to the background writer.

        Everything it writes is fixed here (counters included), so the next phase can go on changing them
        while this is being committed. `wait` holds until it is committed: the last write of a run.
        """
        self.progress.stage = next_stage
        columns = self._columns()
        interaction_rows = self.index.rows()
        run_columns = {
            **columns,
            **({"result_summary": results.summary} if results.summary is not None else {}),
        }
        run_id = self.run_id

        def write() -> None:
            with self._session() as session:
                if results.taxonomies is not None:
                    replacement = results.taxonomies
                    tables.replace_taxonomies(
                        session, run_id, replacement.stages, replacement.rows,
                        stage_prefix=replacement.stage_prefix,
                    )  # fmt: skip
                if results.assignments is not None:
                    tables.replace_assignments(session, run_id, results.assignments)
                tables.insert_new_interactions(session, interaction_rows)
                tables.update_run(session, run_id, **run_columns, **_heartbeat())
            self.write_progress_file(columns)

        self._writer().transaction(write)
        if wait:
            self._writer().flush()

    def summary_counts(self) -> dict[str, Any]:
        """The statistics and the index counts, as result_summary reports them."""
        return {
            **self.stats.as_dict(),
            "tokens_estimated": self.progress.tokens_estimated,
            "archived_files": self.index.counts.archived_files,
            "cached_copies": self.index.counts.cached_copies,
        }

    def report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(dataclasses.replace(self.progress))

    # -------------------------------------------------------------------------------------------- writing

    def _columns(self) -> dict[str, Any]:
        return self.progress.columns()

    def _commit_progress(self, columns: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        """The progress writer's transaction: counters and new interaction rows; then progress.json."""
        with self._session() as session:
            tables.update_run(session, self.run_id, **columns, **_heartbeat())
            tables.insert_new_interactions(session, rows)
        self.write_progress_file(columns)

    def _commit_heartbeat(self) -> None:
        with self._session() as session:
            tables.update_run(session, self.run_id, heartbeat_at=tables.utc_now())

    def commit_failure(self, summary: dict[str, Any]) -> None:
        """The failed stage, the failure summary and the last interaction rows, in one transaction."""
        with self._session() as session:
            tables.insert_new_interactions(session, self.index.rows())
            tables.update_run(session, self.run_id, **self._columns(), result_summary=summary, **_heartbeat())
        self.write_progress_file(self._columns())

    def write_progress_file(self, columns: dict[str, Any]) -> None:
        """`progress.json` beside the run's archived calls, for readers that do not query the warehouse."""
        document = {
            "run_id": self.run_id,
            **columns,
            "tokens": self.progress.tokens,
            "tokens_label": self.progress.tokens_label(),
            "updated_at": tables.utc_now().isoformat(),
        }
        self._archive.write_text(f"{self._prefix}/progress.json", json.dumps(document, indent=2))


def _heartbeat() -> dict[str, Any]:
    now = tables.utc_now()
    return {"updated_at": now, "heartbeat_at": now}
