"""`segments bench-llm`: the product segmentation job's call plan, concurrency and speed, without a real LLM.

Two measurements on dimmer switches from the project's product generator, in a fresh warehouse:

1. The job drives the real Anthropic SDK against `FakeMessagesAPI` on loopback, which answers every call after a
   fixed delay with the offline handlers' JSON for the payload embedded in the prompt. Reported: calls per
   phase, the number of rounds (waves of calls that had to wait for each other) and the wall time, beside the
   ideal schedule: the sum over phases and consolidation levels of ceil(calls in the wave / concurrency) x delay.
2. The offline provider (no HTTP at all) segmenting a larger set of products, timed end to end.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from python_jobs.bench.scratch import environment, scratch_warehouse
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import RAW_SCHEMA

if TYPE_CHECKING:
    from python_jobs.product_segmentation.plan import CallPlan

# The LLM layer, the job and the offline handlers (anthropic, pydantic, scikit-learn) are imported where they are
# used: `segments` imports this module to register the command, and must start quickly for every other command.

BENCH_CATEGORY = "Dimmer Switches"
BENCH_API_KEY = "sk-bench-not-a-real-key-0000000000"

# The generator's categories make up these shares of its catalogue (Dimmer Switches: 20%); generating this many
# times the products wanted always yields enough of the category.
_GENERATED_PER_PRODUCT = 6


def bench_product_ids(count: int, text_ids: bool = False) -> list[str]:
    """The benchmark's product ids: 1..count, or SKUs (`SKU-000001-DIM`) to time a run of text ids."""
    return [f"SKU-{n:06d}-DIM" if text_ids else str(n) for n in range(1, count + 1)]


def generate_products(
    count: int, seed: int = 7, category: str = BENCH_CATEGORY, text_ids: bool = False
) -> pa.Table:
    """`count` raw.products rows of one category from the project's own generator (about 5% of them listed
    under the category without belonging to it, as the generator makes them), renumbered 1..count (or given
    SKUs, with `text_ids`).

    The generator draws every category; its catalogue is generated large enough and filtered to `category`,
    so the benchmark segments exactly `count` products and its call plan is known in advance.
    """
    from python_jobs.ingest.generate import generate_products as generate_catalogue

    catalogue = generate_catalogue(max(count * _GENERATED_PER_PRODUCT, 100), seed=seed)
    key = pc.utf8_lower(pc.utf8_trim_whitespace(catalogue["category"]))
    chosen = catalogue.filter(pc.equal(key, category.strip().lower())).slice(0, count)
    if chosen.num_rows < count:
        raise ValueError(
            f"the generator gave only {chosen.num_rows} products of {category!r}, {count} wanted"
        )
    return chosen.set_column(0, "product_id", pa.array(bench_product_ids(count, text_ids), pa.string()))


def phase_names() -> dict[str, str]:
    """Task of each phase's prompt -> the phase's name, in the order the phases run."""
    from python_jobs.product_segmentation.prompts import CONSOLIDATE_TASK, EXTRACT_TASK, REFINE_TASK

    return {EXTRACT_TASK: "extraction", CONSOLIDATE_TASK: "consolidation", REFINE_TASK: "refinement"}


def call_depths(arrival_times: list[float], delay: float) -> list[int]:
    """For each request (in the order given), how many answers had to come back, one after another, before it
    could be sent: 1 + the depth of the latest request answered before it arrived (answers take `delay`).

    That is the number of rounds a request waited through; the deepest request of a run gives the run's rounds,
    whatever the jitter between the requests of one round.
    """
    order = sorted(range(len(arrival_times)), key=lambda i: arrival_times[i])
    depths = [0] * len(arrival_times)
    for position, index in enumerate(order):
        answered = [
            depths[earlier]
            for earlier in order[:position]
            if arrival_times[earlier] + 0.9 * delay <= arrival_times[index]
        ]
        depths[index] = 1 + max(answered, default=0)
    return depths


def rounds_by_phase(arrivals: list[tuple[str, float]], delay: float) -> dict[str, int]:
    """Rounds each phase took: its deepest request's depth minus the depth reached before the phase began."""
    depths = call_depths([arrival for _, arrival in arrivals], delay)
    rounds: dict[str, int] = {}
    reached = 0
    for task in phase_names():
        phase_depths = [depth for (name, _), depth in zip(arrivals, depths, strict=True) if name == task]
        if phase_depths:
            rounds[task] = max(phase_depths) - reached
            reached = max(phase_depths)
    return rounds


def ideal_rounds(plan: CallPlan, concurrency: int) -> dict[str, int]:
    """The fewest waves each phase can take at this concurrency; consolidation levels wait for each other."""
    extraction, consolidation, refinement = phase_names()
    return {
        extraction: math.ceil(len(plan.extraction_batches) / concurrency),
        consolidation: sum(math.ceil(merges / concurrency) for merges in plan.merge_levels),
        refinement: math.ceil(len(plan.refinement_batches) / concurrency),
    }


# ------------------------------------------------------------------------------------------------ measuring


@dataclass
class BenchResult:
    products: int
    delay: float
    concurrency: int
    plan: CallPlan
    calls: dict[str, int] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=dict)
    wall_seconds: float = 0.0
    max_in_flight: int = 0
    rerun_requests: int = -1
    rerun_seconds: float = 0.0
    offline_products: int = 0
    text_ids: bool = False
    offline_seconds: float = 0.0

    @property
    def ideal(self) -> dict[str, int]:
        return ideal_rounds(self.plan, self.concurrency)

    @property
    def ideal_seconds(self) -> float:
        return sum(self.ideal.values()) * self.delay

    def call_budget(self, batch_size: int, refine_batch_size: int) -> int:
        extraction = math.ceil(self.products / batch_size)
        return extraction + (extraction - 1) + math.ceil(self.products / refine_batch_size)

    def report(self, batch_size: int, refine_batch_size: int, target: str) -> str:
        lines = [
            "",
            f"segments bench-llm: {self.products:,} products, FakeMessagesAPI answering after {self.delay:.2f}s, "
            f"concurrency {self.concurrency}, batches {batch_size}/{refine_batch_size}, "
            f"{'text (SKU)' if self.text_ids else 'integer'} product ids ({target})",
            "",
            f"  {'phase':<15}{'calls':>7}{'rounds':>8}{'ideal':>7}",
        ]
        for task, name in phase_names().items():
            extra = (
                f"   levels {', '.join(map(str, self.plan.merge_levels))}" if name == "consolidation" else ""
            )
            lines.append(
                f"  {name:<15}{self.calls.get(task, 0):>7}{self.rounds.get(task, 0):>8}{self.ideal[task]:>7}{extra}"
            )
        total_calls, budget = sum(self.calls.values()), self.call_budget(batch_size, refine_batch_size)
        lines.append(
            f"  {'total':<15}{total_calls:>7}{sum(self.rounds.values()):>8}{sum(self.ideal.values()):>7}"
        )
        if self.ideal_seconds:
            ratio = self.wall_seconds / self.ideal_seconds
            schedule = f"{ratio:.2f}x, target <= 1.5x: {_verdict(ratio <= 1.5)}"
        else:
            schedule = "no delay, so no schedule to compare with"
        lines += [
            "",
            f"  calls: {total_calls} <= ceil(N/{batch_size}) + (ceil(N/{batch_size}) - 1) + "
            f"ceil(N/{refine_batch_size}) = {budget}: {_verdict(total_calls <= budget)}",
            f"  wall time {self.wall_seconds:.2f}s vs ideal schedule {self.ideal_seconds:.2f}s "
            f"({sum(self.ideal.values())} rounds x {self.delay:.2f}s): {schedule}",
            f"  most requests in flight at once: {self.max_in_flight} (limit {self.concurrency})",
            f"  re-run of the same products: {self.rerun_requests} request(s) to the API, {self.rerun_seconds:.2f}s: "
            f"{_verdict(self.rerun_requests == 0)}",
        ]
        if self.offline_products:
            lines.append(
                f"  offline provider, {self.offline_products:,} products end to end: {self.offline_seconds:.1f}s, "
                f"target < 60s: {_verdict(self.offline_seconds < 60)}"
            )
        return "\n".join(lines)


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


@contextmanager
def fresh_warehouse(target: str, scratch: Path) -> Iterator[Warehouse]:
    """An empty warehouse of the target for this process (see python_jobs/bench/scratch.py)."""
    with scratch_warehouse(target, scratch, "segments_bench_llm") as variables, environment(**variables):
        yield Warehouse.from_profile(target)


def _write_products(warehouse: Warehouse, products: pa.Table) -> None:
    with warehouse.session() as session:
        session.replace_table(RAW_SCHEMA, "products", products)


def run_bench(
    products: int = 1_000,
    delay: float = 0.2,
    concurrency: int = 4,
    batch_size: int = 40,
    refine_batch_size: int = 40,
    offline_products: int = 10_000,
    target: str = "local",
    echo: Callable[[str], None] = print,
    text_ids: bool = False,
) -> tuple[BenchResult, str]:
    """Measure the job against the fake API, then the offline provider; returns the result and its report."""
    from python_jobs.llm.config import API_KEY_ENV, LLMConfig
    from python_jobs.product_segmentation.job import start_run
    from python_jobs.product_segmentation.offline_embeddings import warm_up
    from python_jobs.product_segmentation.plan import CallPlan, SegmentationParams
    from python_jobs.testing.fake_messages_api import FakeMessagesAPI
    from python_jobs.testing.product_responders import paced_offline_responder, request_task

    params = SegmentationParams(batch_size=batch_size, refine_batch_size=refine_batch_size)
    plan = CallPlan.for_products(bench_product_ids(products, text_ids), params)
    result = BenchResult(products, delay, concurrency, plan, text_ids=text_ids)
    quiet = lambda _line: None  # noqa: E731 - the job's own lines would drown the report
    # The offline answers embed products (MiniLM when installed): its model loads here, not in the first call.
    warm_up()
    with tempfile.TemporaryDirectory(prefix="segments-bench-llm-") as scratch_dir:
        scratch = Path(scratch_dir)
        with fresh_warehouse(target, scratch) as warehouse, environment(**{API_KEY_ENV: BENCH_API_KEY}):
            _write_products(warehouse, generate_products(products, text_ids=text_ids))
            with FakeMessagesAPI(paced_offline_responder(delay), require_output_schema=True) as api:
                config = LLMConfig(
                    provider="anthropic",
                    model="claude-bench",
                    base_url=api.base_url,
                    max_concurrency=concurrency,
                )
                echo(
                    f"  {products:,} products through the fake Messages API ({plan.calls_total} calls planned)…"
                )
                started = time.perf_counter()
                start_run(warehouse, BENCH_CATEGORY, None, config, params, scratch / "llm", echo=quiet)
                result.wall_seconds = time.perf_counter() - started
                requests = api.requests
                result.max_in_flight = api.max_in_flight
                arrivals = [(request_task(request.json), request.received_at) for request in requests]
                result.calls = {
                    task: sum(1 for name, _ in arrivals if name == task) for task in phase_names()
                }
                result.rounds = rounds_by_phase(arrivals, delay)

                echo("  the same products again (every answer should come from the cache)…")
                api.reset()
                started = time.perf_counter()
                start_run(warehouse, BENCH_CATEGORY, None, config, params, scratch / "llm", echo=quiet)
                result.rerun_seconds = time.perf_counter() - started
                result.rerun_requests = api.request_count

            if offline_products:
                echo(f"  {offline_products:,} products through the offline provider…")
                _write_products(warehouse, generate_products(offline_products, seed=11, text_ids=text_ids))
                started = time.perf_counter()
                start_run(
                    warehouse, BENCH_CATEGORY, None, LLMConfig(provider="offline", max_concurrency=concurrency),
                    params, scratch / "llm-offline", echo=quiet,
                )  # fmt: skip
                result.offline_seconds = time.perf_counter() - started
                result.offline_products = offline_products
    return result, result.report(batch_size, refine_batch_size, target)
