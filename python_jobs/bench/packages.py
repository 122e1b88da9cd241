"""`segments bench-packages`: the deal packages job on generated deals, stage by stage, without a real LLM.

For each embedding backend, in one fresh warehouse:

1. A first run through the real Anthropic SDK against `FakeMessagesAPI` on loopback, which answers every call
   after a fixed delay. Reported: the job's own stage timings (embedding with the cache, clustering), and the
   LLM stage's wall time beside the ideal schedule: every cluster's call is independent, so with C calls in
   flight at once the ideal is ceil(calls / C) x delay. The SDK and scikit-learn are imported before anything
   is timed (seconds once per process, which would otherwise be charged to the first stage that needs them).
2. The same run again: every text should come from the embedding cache and every answer from the LLM cache.

Each backend gets its own LLM archive (and so its own answer cache): a cluster both backends found alike would
otherwise be answered from the other backend's run.

Targets (issue 12): 10,000 deals embedded and clustered in under 30 s with TF-IDF and under 120 s with MiniLM;
the LLM stage within 1.5x the ideal schedule; a re-run makes no call.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from python_jobs.bench.products import BENCH_API_KEY, fresh_warehouse
from python_jobs.bench.scratch import environment

if TYPE_CHECKING:
    from python_jobs.deal_packages.job import RunResult

# Embedding and clustering together, per backend (issue 12), and the LLM stage's allowance over the ideal.
TARGET_SECONDS = {"tfidf": 30.0, "minilm": 120.0}
SCHEDULE_ALLOWANCE = 1.5


@dataclass
class BackendResult:
    backend: str
    first: RunResult
    rerun: RunResult
    wall_seconds: float
    llm_requests: int
    max_in_flight: int
    rerun_requests: int

    @property
    def embed_and_cluster(self) -> float:
        return self.first.seconds["embedding"] + self.first.seconds["clustering"]


def default_backends() -> list[str]:
    from python_jobs.embeddings import minilm_available

    return ["tfidf", "minilm"] if minilm_available() else ["tfidf"]


def run_bench(
    deals: int = 10_000,
    backends: Sequence[str] = ("tfidf",),
    delay: float = 0.3,
    concurrency: int = 4,
    method: str = "gmm",
    target: str = "local",
    echo: Callable[[str], None] = print,
) -> tuple[list[BackendResult], str]:
    """Run the job twice per backend on `deals` generated deals; returns the results and the report."""
    import anthropic  # noqa: F401 - imported before timing: a few seconds once per process, not scheduling
    import sklearn.mixture  # noqa: F401 - likewise

    from python_jobs.deal_packages.clustering import ClusterParams
    from python_jobs.deal_packages.job import run_packages
    from python_jobs.ingest.deals import write_deals
    from python_jobs.ingest.generate.deals import deals_table
    from python_jobs.llm.config import API_KEY_ENV, LLMConfig
    from python_jobs.testing.deal_responders import paced_package_responder
    from python_jobs.testing.fake_messages_api import FakeMessagesAPI

    params = ClusterParams(method=method)
    quiet = lambda _line: None  # noqa: E731 - the job's own lines would drown the report
    results = []
    with tempfile.TemporaryDirectory(prefix="segments-bench-packages-") as scratch_dir:
        scratch = Path(scratch_dir)
        with fresh_warehouse(target, scratch) as warehouse, environment(**{API_KEY_ENV: BENCH_API_KEY}):
            echo(f"  generating {deals:,} deals…")
            write_deals(warehouse, deals_table(deals))
            with FakeMessagesAPI(paced_package_responder(delay), require_output_schema=True) as api:
                config = LLMConfig(
                    provider="anthropic",
                    model="claude-bench",
                    base_url=api.base_url,
                    max_concurrency=concurrency,
                )
                for backend in backends:
                    echo(f"  {backend}: first run…")
                    api.reset()
                    started = time.perf_counter()
                    first = run_packages(
                        warehouse, None, params, config, embedding_backend=backend,
                        archive_root=scratch / f"llm-{backend}", echo=quiet,
                    )  # fmt: skip
                    wall = time.perf_counter() - started
                    requests, in_flight = api.request_count, api.max_in_flight
                    echo(f"  {backend}: the same run again (everything should come from the caches)…")
                    api.reset()
                    rerun = run_packages(
                        warehouse, None, params, config, embedding_backend=backend,
                        archive_root=scratch / f"llm-{backend}", echo=quiet,
                    )  # fmt: skip
                    results.append(
                        BackendResult(backend, first, rerun, wall, requests, in_flight, api.request_count)
                    )
    return results, report(results, deals, delay, concurrency, method, target)


def ideal_llm_seconds(calls: int, concurrency: int, delay: float) -> float:
    return math.ceil(calls / concurrency) * delay


def report(
    results: list[BackendResult], deals: int, delay: float, concurrency: int, method: str, target: str
) -> str:
    where = "DuckDB" if target == "local" else "PostgreSQL"
    lines = [
        f"segments bench-packages: {deals:,} generated deals, {method}, {where}; fake Messages API answering "
        f"after {delay:.2f} s, {concurrency} calls in flight at most",
        "",
        f"  {'backend':<8}{'embedding':>11}{'clustering':>12}{'together':>10}{'target':>9}  "
        f"{'clusters':>8}{'packages':>9}{'texts embedded':>16}",
    ]
    for result in results:
        target_seconds = TARGET_SECONDS.get(result.backend, TARGET_SECONDS["minilm"])
        together = result.embed_and_cluster
        verdict = "ok" if together < target_seconds else "MISSED"
        lines.append(
            f"  {result.backend:<8}{result.first.seconds['embedding']:>10.1f}s"
            f"{result.first.seconds['clustering']:>11.1f}s{together:>9.1f}s{f'< {target_seconds:.0f}s':>9}  "
            f"{result.first.clusters:>8,}{result.first.packages:>9,}{result.first.texts_embedded:>16,}  {verdict}"
        )
    lines.append("")
    for result in results:
        first, rerun = result.first, result.rerun
        ideal = ideal_llm_seconds(first.llm_calls, concurrency, delay)
        ratio = first.seconds["llm"] / ideal if ideal else 0.0
        rounds = math.ceil(first.llm_calls / concurrency)
        lines.append(
            f"  {result.backend}: LLM stage {first.llm_calls:,} calls ({result.llm_requests:,} requests, "
            f"{result.max_in_flight} in flight at most) in {first.seconds['llm']:.2f} s vs ideal {ideal:.2f} s "
            f"({rounds} rounds x {delay:.2f} s): {ratio:.2f}x, "
            f"{'ok' if ratio <= SCHEDULE_ALLOWANCE else 'MISSED'} (at most {SCHEDULE_ALLOWANCE}x)"
        )
        lines.append(
            f"  {result.backend}: run end to end {result.wall_seconds:.1f} s; re-run {sum(rerun.seconds.values()):.1f}"
            f" s with {result.rerun_requests} requests, {rerun.cache_hits:,} answers from the cache and "
            f"{rerun.texts_embedded} texts embedded: {'ok' if result.rerun_requests == 0 else 'MISSED'}"
        )
    return "\n".join(lines)
