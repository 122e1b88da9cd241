"""The three phases of a run, each a wave of concurrent calls (at most `config.max_concurrency` in flight):

1. extraction: one call per batch of products (default 40) gives the batch's taxonomy and each product's
   initial segment (or out of scope);
2. consolidation: the batch taxonomies are merged pair-wise, level by level ([1,2]->a, [3,4]->b, [a,b]->final;
   an odd one out is carried up a level without a call), so N batches cost exactly N-1 merge calls in
   ceil(log2 N) levels; level i is stored as stage `consolidation_l<i>`, the last merge as `final` (a single
   batch's taxonomy becomes `final` as it is);
3. refinement: every product re-assigned in batches with the final taxonomy in the prompt; products a response
   left out get one follow-up call of their own, then stay `__UNASSIGNED__`.

Each phase hands its results, with the run's next stage, to the progress tracker as one transaction.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from python_jobs.definitions import OUT_OF_SCOPE_SEGMENT
from python_jobs.llm.client import LLMCall, LLMClient
from python_jobs.llm.providers import LLMRequest
from python_jobs.product_segmentation import prompts, tables
from python_jobs.product_segmentation.plan import (
    CONSOLIDATION,
    EXTRACTION,
    REFINEMENT,
    TaxonomyEntry,
    TaxonomyReplacement,
)
from python_jobs.product_segmentation.progress import PhaseResults, ProgressTracker
from python_jobs.product_segmentation.runs import Echo, RunRecord, taxonomy_row

FINAL_STAGE = tables.FINAL_STAGE
T = TypeVar("T")


class Phases:
    """Extraction, consolidation and refinement of one run, through one LLM client."""

    def __init__(self, record: RunRecord, tracker: ProgressTracker, client: LLMClient, echo: Echo) -> None:
        self.record = record
        self.run_id = record.run_id
        self.tracker = tracker
        self.stats = tracker.stats
        self.client = client
        self.echo = echo
        self.initial: dict[str, str] = {}

    async def run(self) -> None:
        batch_taxonomies = await self.extraction()
        final = await self.consolidation(batch_taxonomies)
        await self.refinement(final)

    # ---------------------------------------------------------------------------------------------- calls

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

        concurrency = min(self.record.config.max_concurrency, len(jobs))
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        if failures:
            raise failures[0]
        return results

    async def _call(
        self, task: str, payload: dict[str, Any], phase: str, label: str, ids: Sequence[str]
    ) -> LLMCall:
        """One LLM call of the run, noted in the statistics."""
        request = LLMRequest(
            task=task,
            system=prompts.SYSTEM_PROMPT,
            prompt=prompts.render_prompt(task, payload),
            output_model=prompts.output_model(task, self.record.integer_ids),
            schema_version=prompts.SCHEMA_VERSION,
            payload=payload,
        )
        call = await self.client.call(
            request, phase=phase, batch_label=label, product_ids=[self.record.json_id(i) for i in ids]
        )
        self.tracker.count_call(phase, call)
        return call

    def _products(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        return [self.record.products[i] for i in ids]

    # ------------------------------------------------------------------------------------------ extraction

    async def extraction(self) -> list[list[TaxonomyEntry]]:
        """Every batch's taxonomy and its products' initial segments, written in one transaction."""
        started = time.perf_counter()
        batches = self.record.plan.extraction_batches
        self.tracker.start_phase(EXTRACTION, reset_products=True)
        jobs = [
            functools.partial(self._extract_batch, number, ids) for number, ids in enumerate(batches, start=1)
        ]
        outputs = await self._wave(jobs)
        now = tables.utc_now()
        rows: list[dict[str, Any]] = []
        taxonomies: list[list[TaxonomyEntry]] = []
        for number, (ids, output) in enumerate(zip(batches, outputs, strict=True), start=1):
            entries = [
                TaxonomyEntry(
                    f"{self.run_id}:extraction:b{number:04d}:s{index:02d}", segment.name, segment.definition
                )
                for index, segment in enumerate(output.segments, start=1)
            ]
            taxonomies.append(entries)
            rows += [taxonomy_row(e.id, self.run_id, e.name, e.definition, EXTRACTION, now) for e in entries]
            self.initial.update(self._placements(ids, output.assignments, entries, count_left_out=True))
        self.tracker.queue_results(
            CONSOLIDATION,
            PhaseResults(
                taxonomies=TaxonomyReplacement((EXTRACTION,), rows),
                assignments=self.record.assignment_rows(self.initial, {}),
            ),
        )
        out_of_scope = sum(1 for t in self.initial.values() if t == self.record.out_of_scope_id)
        self.echo(
            f"  extraction: {len(jobs)} batch(es), {len(rows)} batch segments, {out_of_scope} product(s) out of "
            f"scope ({time.perf_counter() - started:.1f}s)"
        )
        return taxonomies

    async def _extract_batch(self, number: int, ids: tuple[str, ...]) -> Any:
        payload = prompts.extraction_payload(
            self.record.category,
            self._products(ids),
            self.record.params.max_segments_per_batch,
            integer_ids=self.record.integer_ids,
        )
        call = await self._call(prompts.EXTRACT_TASK, payload, EXTRACTION, f"b{number:04d}", ids)
        self.tracker.count_response(call, f"b{number:04d}", EXTRACTION, products=len(ids))
        return call.parsed

    def _placements(
        self, ids: Sequence[str], placements: list[Any], entries: list[TaxonomyEntry], *, count_left_out: bool
    ) -> dict[str, str]:
        """product id -> taxonomy id for the placements of one response, ignoring (and counting) ids the model
        invented and names that are not in `entries`; the first placement of a product wins.

        Ids are matched as text: whether the answer wrote `42` or `"42"`, it names the product `"42"`."""
        batch = set(ids)
        by_name = {e.name: e.id for e in entries}
        by_folded_name = {e.name.casefold(): e.id for e in entries}
        placed: dict[str, str] = {}
        for placement in placements:
            product_id = str(placement.product_id)
            if product_id not in batch:
                self.stats.invented_product_ids.append(placement.product_id)
                continue
            if product_id in placed:
                continue
            if placement.segment == OUT_OF_SCOPE_SEGMENT:
                placed[product_id] = self.record.out_of_scope_id
                continue
            taxonomy_id = by_name.get(placement.segment) or by_folded_name.get(placement.segment.casefold())
            if taxonomy_id is None:
                self.stats.unknown_segment_names += 1
                continue
            placed[product_id] = taxonomy_id
        if count_left_out:
            self.stats.extraction_left_out += len(batch - set(placed))
        return placed

    # --------------------------------------------------------------------------------------- consolidation

    async def consolidation(self, taxonomies: list[list[TaxonomyEntry]]) -> list[TaxonomyEntry]:
        """Merge the batch taxonomies pair-wise, level by level, into the final one; one transaction at the end."""
        started = time.perf_counter()
        self.tracker.start_phase(CONSOLIDATION)
        now = tables.utc_now()
        rows: list[dict[str, Any]] = []
        level_inputs = taxonomies
        level = 0
        while len(level_inputs) > 1:
            pairs = [(level_inputs[i], level_inputs[i + 1]) for i in range(0, len(level_inputs) - 1, 2)]
            carried = level_inputs[-1:] if len(level_inputs) % 2 else []
            is_last = len(pairs) == 1 and not carried
            jobs = [
                functools.partial(self._merge, level, number, a, b, is_last)
                for number, (a, b) in enumerate(pairs, start=1)
            ]
            merged = await self._wave(jobs)
            stage = FINAL_STAGE if is_last else f"consolidation_l{level}"
            rows += [
                taxonomy_row(e.id, self.run_id, e.name, e.definition, stage, now) for m in merged for e in m
            ]
            level_inputs = [*merged, *carried]
            level += 1
        if not rows:  # one batch: its taxonomy becomes the final one, under final ids
            level_inputs = [
                [
                    TaxonomyEntry(self._final_id(i), e.name, e.definition)
                    for i, e in enumerate(taxonomies[0], 1)
                ]
            ]
            rows = [
                taxonomy_row(e.id, self.run_id, e.name, e.definition, FINAL_STAGE, now)
                for e in level_inputs[0]
            ]
        final = level_inputs[0]
        self.tracker.queue_results(
            REFINEMENT, PhaseResults(taxonomies=TaxonomyReplacement((FINAL_STAGE,), rows, "consolidation_l"))
        )
        self.echo(
            f"  consolidation: {self.record.plan.merge_calls} merge(s) over {level} level(s), {len(final)} final "
            f"segments ({time.perf_counter() - started:.1f}s)"
        )
        return final

    def _final_id(self, index: int) -> str:
        return f"{self.run_id}:final:s{index:02d}"

    async def _merge(
        self, level: int, number: int, a: list[TaxonomyEntry], b: list[TaxonomyEntry], is_last: bool
    ) -> list[TaxonomyEntry]:
        payload = prompts.consolidation_payload(
            self.record.category,
            [e.for_prompt() for e in a],
            [e.for_prompt() for e in b],
            self.record.params.max_segments,
        )
        label = f"l{level}_m{number:03d}"
        call = await self._call(prompts.CONSOLIDATE_TASK, payload, CONSOLIDATION, label, [])
        self.tracker.count_response(call, label, CONSOLIDATION, products=0)
        return [
            TaxonomyEntry(
                self._final_id(index)
                if is_last
                else f"{self.run_id}:consolidation_l{level}:m{number:03d}:s{index:02d}",
                segment.name,
                segment.definition,
            )
            for index, segment in enumerate(call.parsed.segments, start=1)
        ]

    # ------------------------------------------------------------------------------------------ refinement

    async def refinement(self, final: list[TaxonomyEntry]) -> None:
        """Every product against the final taxonomy; the results and `done` in one transaction."""
        started = time.perf_counter()
        self.tracker.start_phase(REFINEMENT, reset_products=True)
        jobs = [
            functools.partial(self._refine_batch, number, ids, final)
            for number, ids in enumerate(self.record.plan.refinement_batches, start=1)
        ]
        refined: dict[str, str] = {}
        for placed in await self._wave(jobs):
            refined.update(placed)
        summary = self._summary(refined, final)
        progress = self.tracker.progress
        progress.percent = 100.0
        progress.processed_products = len(self.record.products)
        self.tracker.queue_results(
            "done",
            PhaseResults(assignments=self.record.assignment_rows(self.initial, refined), summary=summary),
            wait=True,
        )
        self.tracker.report()
        self.echo(
            f"  refinement: {len(jobs)} batch(es) + {self.stats.followup_calls} follow-up call(s) "
            f"({time.perf_counter() - started:.1f}s)"
        )
        self.echo(
            f"Run {self.run_id} done: {len(final)} segments; {summary['out_of_scope_products']} product(s) out of "
            f"scope, {summary['unassigned_products']} unassigned; {self.stats.provider_calls} provider call(s), "
            f"{self.stats.cache_hits} from the cache; {progress.tokens_label()}."
        )

    async def _refine_batch(
        self, number: int, ids: tuple[str, ...], final: list[TaxonomyEntry]
    ) -> dict[str, str]:
        """One batch's placements, with ONE follow-up call for the products the answer left out."""
        segments = [e.for_prompt() for e in final]
        category = self.record.category
        payload = prompts.refinement_payload(
            category, segments, self._products(ids), integer_ids=self.record.integer_ids
        )
        call = await self._call(prompts.REFINE_TASK, payload, REFINEMENT, f"b{number:04d}", ids)
        placed = self._placements(ids, call.parsed.assignments, final, count_left_out=False)
        left_out = [product_id for product_id in ids if product_id not in placed]
        if left_out:
            self.stats.refinement_left_out += len(left_out)
            self.stats.followup_calls += 1
            self.tracker.add_planned_call()
        self.tracker.count_response(call, f"b{number:04d}", REFINEMENT, products=len(ids))
        if not left_out:
            return placed
        payload = prompts.refinement_payload(
            category, segments, self._products(left_out), integer_ids=self.record.integer_ids
        )
        label = f"b{number:04d}_followup"
        followup = await self._call(prompts.REFINE_TASK, payload, REFINEMENT, label, left_out)
        placed.update(self._placements(left_out, followup.parsed.assignments, final, count_left_out=False))
        self.stats.unassigned_after_followup += sum(1 for product_id in left_out if product_id not in placed)
        self.tracker.count_response(followup, label, None, products=0)
        return placed

    def _summary(self, refined: dict[str, str], final: list[TaxonomyEntry]) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for product_id in self.record.products:
            taxonomy_id = refined.get(product_id, self.record.unassigned_id)
            counts[taxonomy_id] = counts.get(taxonomy_id, 0) + 1
        return {
            "status": "done",
            "total_products": len(self.record.products),
            "final_segments": len(final),
            "segment_product_counts": {e.name: counts.get(e.id, 0) for e in final},
            "out_of_scope_products": counts.get(self.record.out_of_scope_id, 0),
            "consolidation_levels": len(self.record.plan.merge_levels),
            "resume_count": self.record.resume_count,
            **self.tracker.summary_counts(),
            "unassigned_products": counts.get(self.record.unassigned_id, 0),
        }
