"""`segments bench-load`: time `segments load-transactions` on a large generated export, with its peak memory.

The file is written by a small deterministic writer (a shop export of order lines: customer, time, amount,
order id; about 2.5 lines per order, 48 bytes a line, so 4.2 million lines make a 200 MB file) into a
temporary folder. The load runs as its own process, `segments load-transactions ... --order-col order_id`,
against a fresh DuckDB file (or a fresh PostgreSQL database), and the resident memory of that process and its
children is sampled every 50 ms.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from python_jobs.bench.memory import PeakMemory
from python_jobs.bench.scratch import scratch_warehouse

HEADER = "customer_id,ordered_at,amount,order_id"
LOAD_ARGS = ["--customer-col", "customer_id", "--date-col", "ordered_at", "--amount-col", "amount"]


def write_export(path: Path, lines: int, seed: int = 42) -> int:
    """Write a transactions export of `lines` order lines; return its size in bytes. Same seed, same file."""
    rng = random.Random(seed)
    customers = max(1, lines // 20)
    start = 1_704_067_200  # 2024-01-01T00:00:00Z
    order = 0
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(HEADER + "\n")
        chunk: list[str] = []
        while written < lines:
            order += 1
            customer = rng.randrange(customers)
            moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + rng.randrange(366 * 86_400)))
            # The lines of an order differ in amount, so the file has no exact duplicate lines.
            for cents in rng.sample(range(100, 50_000), min(rng.randint(1, 4), lines - written)):
                chunk.append(f"C{customer:08d},{moment},{cents // 100}.{cents % 100:02d},O{order:09d}\n")
                written += 1
            if len(chunk) >= 100_000:
                handle.write("".join(chunk))
                chunk.clear()
        handle.write("".join(chunk))
    return path.stat().st_size


@dataclass
class LoadRun:
    lines: int
    file_bytes: int
    generate_seconds: float
    load_seconds: float
    peak_bytes: int
    output: str


def run_bench(lines: int, seed: int, target: str, echo: Callable[[str], None] = print) -> LoadRun:
    """Generate the export, load it once in a child process into a fresh warehouse, and return the figures."""
    with (
        tempfile.TemporaryDirectory(prefix="segments-bench-load-") as scratch,
        scratch_warehouse(target, Path(scratch), f"segments_bench_load_{uuid.uuid4().hex[:8]}") as variables,
    ):
        env = {**os.environ, **variables}
        path = Path(scratch) / "transactions.csv"
        echo(f"  writing {lines:,} lines to {path}…")
        started = time.perf_counter()
        size = write_export(path, lines, seed)
        generate_seconds = time.perf_counter() - started
        command = [sys.executable, "-m", "python_jobs", "load-transactions", str(path), *LOAD_ARGS]
        command += ["--order-col", "order_id", "--target", target]
        echo(f"  {size / 1e6:,.0f} MB written in {generate_seconds:.1f}s; loading…")
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        with PeakMemory(process.pid) as memory:
            output, _ = process.communicate()
        load_seconds = time.perf_counter() - started
        if process.returncode != 0:
            raise RuntimeError(f"the load failed (exit {process.returncode}):\n{output}")
    return LoadRun(lines, size, generate_seconds, load_seconds, memory.peak, output.strip())


def report(run: LoadRun, target: str) -> str:
    return "\n".join(
        [
            "",
            f"segments bench-load: {run.lines:,} lines ({run.file_bytes / 1e6:,.0f} MB), --order-col, {target}",
            f"  load-transactions   {run.load_seconds:8.1f}s",
            f"  peak memory         {run.peak_bytes / 2**30:8.2f}GB  "
            f"({run.peak_bytes / run.file_bytes:.1f}x the file; the load process and its children)",
            f"  (writing the file, not counted: {run.generate_seconds:.1f}s)",
            "  the loader said:",
            *(f"    {line}" for line in run.output.splitlines()),
        ]
    )
