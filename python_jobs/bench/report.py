"""`segments bench-report`: the report's time on a warehouse of N generated customers.

The warehouse is generated and built first (`segments generate` then `segments build`, in child processes, not
timed into the report's figure), in a fresh DuckDB file in a temporary folder or a fresh PostgreSQL database
`segments_bench_report`; then `segments report` is run REPEAT times in a child process of its own, so each
time includes starting Python and importing Plotly, exactly what a user waits for. Reading the document (the
warehouse's share) is timed apart, in this process.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from python_jobs.bench.scratch import environment as scratch_environment
from python_jobs.bench.scratch import scratch_warehouse
from python_jobs.warehouse.connection import Warehouse

BENCH_DATABASE = "segments_bench_report"
# The budget for 1,000,000 customers.
BUDGET_SECONDS = 10.0


def _segments(args: list[str], environment: dict[str, str]) -> float:
    """Run `segments ARGS` in a child process; its wall time. A failure stops the bench with the child's output."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "python_jobs", *args],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"segments {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return time.perf_counter() - started


def bench_report(customers: int, repeat: int, seed: int, target: str, echo: Callable[[str], None]) -> str:
    """Build a warehouse of CUSTOMERS, then time the report on it; the result table as text."""
    from python_jobs.report.document import collect

    with (
        tempfile.TemporaryDirectory(prefix="segments-bench-report-") as folder,
        scratch_warehouse(target, Path(folder), BENCH_DATABASE) as variables,
    ):
        environment = {"SEGMENTS_DBT_DIR": folder, **variables}
        target_args = ["--target", target]
        echo(f"Generating {customers:,} customers (seed {seed})…")
        generate_seconds = _segments(
            ["generate", "--customers", str(customers), "--seed", str(seed), *target_args], environment
        )
        echo(f"  generated in {generate_seconds:.1f}s; building (segments build)…")
        build_seconds = _segments(["build", *target_args], environment)
        echo(f"  built in {build_seconds:.1f}s; timing the report ({repeat} runs)…")
        page = Path(folder) / "report.html"
        report_times = [
            _segments(["report", "--output", str(page), *target_args], environment) for _ in range(repeat)
        ]
        json_file = Path(folder) / "segments.json"
        json_seconds = _segments(["report", "--json", "--output", str(json_file), *target_args], environment)
        with scratch_environment(**environment):
            started = time.perf_counter()
            document = collect(Warehouse.from_profile(target))
            collect_seconds = time.perf_counter() - started
        page_megabytes = page.stat().st_size / 1e6
    median = statistics.median(report_times)
    verdict = "within" if median < BUDGET_SECONDS else "OVER"
    overview = document["overview"]
    return "\n".join(
        [
            "",
            f"Report for {overview['customers']:,} customers ({overview['axes']} axes, {overview['segments']} "
            f"segments), {target}:",
            f"  {'segments report':<34} median {median:.2f}s of {repeat} "
            f"({', '.join(f'{seconds:.2f}' for seconds in report_times)}), {verdict} the {BUDGET_SECONDS:.0f}s budget; "
            f"{page_megabytes:.1f} MB",
            f"  {'segments report --json':<34} {json_seconds:.2f}s",
            f"  {'reading the document (in process)':<34} {collect_seconds:.2f}s",
            f"  (generate {generate_seconds:.1f}s and build {build_seconds:.1f}s, not counted)",
        ]
    )
