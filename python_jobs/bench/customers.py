"""`segments bench`: time each stage of the segmentation end to end on generated data, on a fresh warehouse.

Stages: generate (in a process of its own, counted neither in end to end nor in the peak memory), features
(dbt models up to marts.customer_features and marts.customer_profiles, less the CLV fit), clv fit (the fit_clv job:
read the RFM columns, fit BG/NBD and Gamma-Gamma, predict per customer, write; its fit and prediction seconds are
printed apart), sample + fit (the clustering job), assignment (the SQL assignment and the models it needs), marts
(customer_segments and segment_summary). Each run is a process of its own; its peak memory is the largest resident
set of that process and its descendants together, sampled every 50 ms from /proc, and the machine's mean load
average while it ran is shown beside it. On Spark each run also builds the same customers on DuckDB, and the
report gives each stage's ratio and how many customers the two put in the same segment. After the timed runs,
the sample-fitted assignment is compared with k-means fitted on the whole population (same k per axis), and on
PostgreSQL the point lookup of one customer's memberships is timed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from python_jobs.bench.memory import LoadAverage, PeakMemory
from python_jobs.bench.scratch import scratch_warehouse
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.dbt_runner import DbtError, dbt_session, run_dbt

STAGES = ("features", "clv fit", "sample + fit", "assignment", "marts")
FEATURE_MODELS = ["+customer_features", "+customer_profiles"]
# The models built on the CLV fit (customer_profiles and what reads it), less the clustering's.
CLV_OUTPUTS = ["source:ml.clv_models+", "source:ml.customer_clv_predictions+"]
AFTER_CLV_MODELS = [*CLV_OUTPUTS, "--exclude", "source:ml.segmentation_runs+"]
ASSIGNMENT_MODELS = ["source:ml+,+int_customers_assigned_to_segments"]
# The two marts and the staging models only they read (the rest of their ancestors is built by now).
MART_MODELS = [
    "+customer_segments",
    "+segment_summary",
    "--exclude",
    "+int_customers_assigned_to_segments",
    "+customer_profiles",
    "+customer_features",
]


@dataclass
class BenchRun:
    seconds: dict[str, float] = field(default_factory=dict)
    generate_seconds: float = 0.0
    peak_bytes: int = 0
    # The mean 1-minute load average of the machine while the stages ran (None where the OS does not say).
    load_average: float | None = None
    # The fit_clv job's line: parameters, fit seconds, prediction seconds.
    clv_detail: str = ""

    @property
    def end_to_end(self) -> float:
        return sum(self.seconds[stage] for stage in STAGES)


@contextmanager
def _timed(run: BenchRun, stage: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    # A stage timed in several parts adds them up.
    run.seconds[stage] = run.seconds.get(stage, 0.0) + time.perf_counter() - started


def _dbt(target: str, *args: str) -> None:
    """Build models (and seeds) only: tests are the test suite's business, not the benchmark's."""
    lines: list[str] = []
    command = ["build", *args, "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
    outcome = run_dbt(command, target=target, echo=lines.append)
    if not outcome.ok:
        tail = "\n".join(lines[-20:])
        raise DbtError(f"dbt {' '.join(command)} failed:\n{tail}")


def run_once(customers: int, seed: int, target: str, echo: Callable[[str], None]) -> BenchRun:
    """One timed pass: generate, then the four stages, on the warehouse the environment points at."""
    from python_jobs.clv.job import fit_clv
    from python_jobs.segmentation.job import ClusteringParameters, cluster_customers

    warehouse = Warehouse.from_profile(target)
    run = BenchRun()
    # Generated in a process of its own, so its memory is given back before the measured stages start.
    started = time.perf_counter()
    generate = [sys.executable, "-m", "python_jobs", "generate", "--customers", str(customers)]
    subprocess.run([*generate, "--seed", str(seed), "--target", target], check=True, capture_output=True)
    run.generate_seconds = time.perf_counter() - started
    echo(f"    generate      {run.generate_seconds:7.1f}s")
    # One dbt process for the run's dbt commands, as `segments build` has (python_jobs/warehouse/dbt_worker.py).
    with PeakMemory() as memory, LoadAverage() as load, dbt_session(target):
        with _timed(run, "features"):
            _dbt(target, "--select", *FEATURE_MODELS, "--exclude", *CLV_OUTPUTS)
        clv_lines: list[str] = []
        with _timed(run, "clv fit"):
            fit_clv(warehouse, echo=clv_lines.append)
        run.clv_detail = next((line.strip() for line in clv_lines if "BG/NBD on" in line), "")
        echo(f"    clv fit       {run.seconds['clv fit']:7.1f}s  ({run.clv_detail.rsplit('; ', 1)[-1]})")
        with _timed(run, "features"):
            _dbt(target, "--select", *AFTER_CLV_MODELS)
        echo(f"    features      {run.seconds['features']:7.1f}s")
        with _timed(run, "sample + fit"):
            cluster_customers(warehouse, ClusteringParameters(seed=seed), echo=lambda _line: None)
        echo(f"    sample + fit  {run.seconds['sample + fit']:7.1f}s")
        with _timed(run, "assignment"):
            _dbt(target, "--select", *ASSIGNMENT_MODELS)
        echo(f"    assignment    {run.seconds['assignment']:7.1f}s")
        with _timed(run, "marts"):
            _dbt(target, "--select", *MART_MODELS)
        echo(f"    marts         {run.seconds['marts']:7.1f}s")
    run.peak_bytes = memory.peak
    run.load_average = load.mean
    return run


def population_agreement(warehouse: Warehouse, seed: int) -> dict[str, float]:
    """ARI between the SQL assignment and k-means fitted on the whole population with the same k, per axis."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from python_jobs.definitions import AXES

    with warehouse.session() as session:
        features = session.fetch_arrow("select * from marts.customer_features order by customer_id")
        assigned = session.fetch_arrow(
            "select customer_id, axis_name, segment_id from intermediate.int_customers_assigned_to_segments "
            "order by axis_name, customer_id"
        )
        counts = dict(
            session.fetchall(
                "select axes.axis_name, axes.segment_count from ml.segment_axes as axes "
                "inner join intermediate.int_segmentation_runs_latest as latest on axes.run_id = latest.run_id"
            )
        )
    agreement = {}
    axis_column = assigned.column("axis_name").to_numpy(zero_copy_only=False)
    segment_column = assigned.column("segment_id").to_numpy(zero_copy_only=False)
    for index, axis in enumerate(AXES):
        if int(counts.get(axis.name) or 0) < 2:
            continue  # not clustered, or one segment: nothing to agree on
        placeable = np.logical_and.reduce(
            [np.ones(features.num_rows, bool)]
            + [features.column(r.flag).to_numpy(zero_copy_only=False).astype(bool) for r in axis.requirements]
        )
        matrix = np.column_stack(
            [features.column(name).to_numpy(zero_copy_only=False) for name in axis.feature_names]
        )[placeable]
        scale = matrix.std(axis=0)
        scale[scale == 0] = 1.0
        standardised = (matrix - matrix.mean(axis=0)) / scale
        full = KMeans(n_clusters=int(counts[axis.name]), n_init=3, random_state=seed + index).fit_predict(
            standardised
        )
        # The SQL's segments of the same customers (rows are in customer order on both sides).
        sql_segments = segment_column[axis_column == axis.name][placeable].astype(int)
        agreement[axis.name] = float(adjusted_rand_score(sql_segments, full))
    return agreement


def point_lookup_milliseconds(warehouse: Warehouse, lookups: int = 200, seed: int = 42) -> list[float]:
    """Latency of reading one customer's memberships by id, over one open connection."""
    import random

    with warehouse.session() as session:
        ids = [row[0] for row in session.fetchall("select customer_id from marts.customer_segments")]
        chosen = random.Random(seed).sample(ids, min(lookups, len(ids)))
        timings = []
        for customer_id in chosen:
            started = time.perf_counter()
            session.fetchall(
                "select segment_memberships from marts.customer_segments where customer_id = ?", [customer_id]
            )
            timings.append((time.perf_counter() - started) * 1000)
    return timings


# A Spark run is compared with DuckDB's on the same data in the same invocation.
_BESIDE = {"spark": "local"}
_RESULT_PREFIX = "bench-result: "


def _run_in_child(customers: int, seed: int, target: str, echo: Callable[[str], None]) -> BenchRun:
    """`run_once` in a process of its own: a Spark driver keeps the warehouse folder it started with for the
    rest of its process, so each run (and each target) gets a fresh one. Its lines are passed on as they come."""
    command = [sys.executable, "-m", "python_jobs.bench.customers", str(customers), str(seed), target]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as child:
        assert child.stdout is not None
        result, tail = None, []
        for line in child.stdout:
            line = line.rstrip("\n")
            if line.startswith(_RESULT_PREFIX):
                result = json.loads(line.removeprefix(_RESULT_PREFIX))
            elif line.startswith("    "):
                echo(line)
            else:
                tail = [*tail[-30:], line]
    if child.returncode != 0 or result is None:
        raise DbtError(f"the {target} run failed:\n" + "\n".join(tail))
    return BenchRun(**result)


def _stage_table(runs: list[BenchRun]) -> list[str]:
    lines = [f"  {'stage':<22}{'median':>10}" + "".join(f"{f'run {i + 1}':>10}" for i in range(len(runs)))]
    for stage in (*STAGES, "end to end"):
        values = [run.end_to_end if stage == "end to end" else run.seconds[stage] for run in runs]
        cells = "".join(f"{value:9.1f}s" for value in values)
        lines.append(f"  {stage:<22}{statistics.median(values):9.1f}s{cells}")
    lines.extend(f"  clv, run {i + 1}: {run.clv_detail}" for i, run in enumerate(runs))
    generate = [run.generate_seconds for run in runs]
    lines.append(f"  {'(generate, not counted)':<22}{statistics.median(generate):9.1f}s")
    peaks = [run.peak_bytes / 2**30 for run in runs]
    lines.append(
        f"  {'peak memory':<22}{statistics.median(peaks):8.2f}GB" + "".join(f"{p:8.2f}GB" for p in peaks)
    )
    loads = [run.load_average for run in runs]
    if None not in loads:
        # On a shared machine the load says how far the seconds above are the code's and how far the neighbours'.
        lines.append(
            f"  {'load average (mean)':<22}{statistics.median(loads):10.1f}"
            + "".join(f"{v:10.1f}" for v in loads)
        )
    return lines


def _ratio_table(target: str, runs: list[BenchRun], baseline: str, beside: list[BenchRun]) -> list[str]:
    """Each stage's median on `target` beside the baseline's, and their ratio."""
    lines = [f"  {'stage':<22}{baseline:>10}{target:>10}{f'{target} / {baseline}':>18}"]
    for stage in (*STAGES, "end to end", "generate"):
        medians = []
        for side in (beside, runs):
            values = [
                run.end_to_end
                if stage == "end to end"
                else run.generate_seconds
                if stage == "generate"
                else run.seconds[stage]
                for run in side
            ]
            medians.append(statistics.median(values))
        label = "(generate, not counted)" if stage == "generate" else stage
        lines.append(f"  {label:<22}{medians[0]:9.1f}s{medians[1]:9.1f}s{medians[1] / medians[0]:17.1f}x")
    peaks = [statistics.median(run.peak_bytes for run in side) / 2**30 for side in (beside, runs)]
    lines.append(f"  {'peak memory':<22}{peaks[0]:8.2f}GB{peaks[1]:8.2f}GB{peaks[1] / peaks[0]:17.1f}x")
    loads = [[run.load_average for run in side] for side in (beside, runs)]
    if all(None not in side for side in loads):
        lines.append(
            f"  {'load average (mean)':<22}" + "".join(f"{statistics.median(side):10.1f}" for side in loads)
        )
    return lines


def bench(
    customers: int,
    repeat: int,
    seed: int,
    target: str,
    agreement: bool,
    echo: Callable[[str], None] = print,
) -> str:
    """Run the benchmark and return the report as text. `--target spark` runs DuckDB beside it: each run
    generates the same customers into a fresh warehouse of each, and the report gives the ratio per stage."""
    targets = (_BESIDE[target], target) if target in _BESIDE else (target,)
    runs: dict[str, list[BenchRun]] = {name: [] for name in targets}
    # Each target's latest warehouse, kept for the checks after the runs (a run's is dropped when the next starts).
    latest = {name: ExitStack() for name in targets}
    with tempfile.TemporaryDirectory(prefix="segments-bench-") as scratch, ExitStack() as cleanup:
        for stack in latest.values():
            cleanup.enter_context(stack)
        for number in range(1, repeat + 1):
            for name in targets:
                latest[name].close()
                fresh = scratch_warehouse(name, Path(scratch), f"segments_bench_{number}")
                os.environ.update(latest[name].enter_context(fresh))
                echo(f"  run {number}/{repeat} ({Warehouse.from_profile(name).describe()})")
                runs[name].append(_run_in_child(customers, seed, name, echo))
        lines = [""]
        for name in targets:
            lines.extend(
                [
                    f"segments bench: {customers:,} customers x 13 axes, {name}, median of {repeat} run(s)",
                    "",
                    *_stage_table(runs[name]),
                    "",
                ]
            )
        if len(targets) == 2:
            baseline = targets[0]
            lines.extend(
                [
                    f"{target} beside {baseline}, the same generated data, medians ({os.cpu_count()} CPUs)",
                    "",
                    *_ratio_table(target, runs[target], baseline, runs[baseline]),
                    "",
                ]
            )
            echo("  comparing the two targets' segments customer by customer…")
            lines.extend(_target_agreement_lines(baseline, target))
        # The checks below read the last run's warehouse of the target asked for (or DuckDB's, beside Spark).
        checked = targets[0]
        warehouse = Warehouse.from_profile(checked)
        if agreement:
            echo(f"  fitting k-means on the whole population for the agreement check ({checked})…")
            scores = population_agreement(warehouse, seed)
            lines.append(
                f"  agreement with k-means on the whole population (ARI, same k, {checked}): mean "
                f"{statistics.mean(scores.values()):.3f}, min {min(scores.values()):.3f}"
            )
            lines.extend(f"    {axis:<28}{score:.3f}" for axis, score in scores.items())
        if target == "postgres":
            timings = point_lookup_milliseconds(warehouse)
            timings.sort()
            lines.append("")
            lines.append(
                f"  point lookup of one customer's memberships ({len(timings)} lookups): "
                f"median {statistics.median(timings):.2f} ms, p95 {timings[int(len(timings) * 0.95) - 1]:.2f} ms"
            )
    return "\n".join(lines).rstrip()


_ASSIGNED = (
    "select customer_id, axis_name, segment_id, segment_name "
    "from intermediate.int_customers_assigned_to_segments"
)
_ASSIGNED_SCHEMA = {
    "customer_id": "string",
    "axis_name": "string",
    "segment_id": "int64",
    "segment_name": "string",
}


def same_segment_counts(first: pa.Table, second: pa.Table) -> dict[str, tuple[int, int]]:
    """Per axis: how many customers two assignments (customer_id, axis_name, segment_id, segment_name) put in the
    same segment, and how many either placed. The same means the same id and name (an explicit group such as
    `no_orders_yet` has no id: its name must match); a customer one side lacks counts as different."""
    import pyarrow.compute as pc

    joined = first.join(second, keys=["customer_id", "axis_name"], join_type="full outer", right_suffix="_2")

    def same(column: str) -> pa.ChunkedArray:
        left, right = joined.column(column), joined.column(f"{column}_2")
        both_null = pc.and_(pc.is_null(left), pc.is_null(right))
        return pc.or_(pc.fill_null(pc.equal(left, right), False), both_null)

    found = pc.and_(pc.is_valid(joined.column("segment_name")), pc.is_valid(joined.column("segment_name_2")))
    verdict = pa.table(
        {
            "axis_name": joined.column("axis_name"),
            "same": pc.and_(found, pc.and_(same("segment_id"), same("segment_name"))),
        }
    )
    counts = verdict.group_by("axis_name").aggregate([("same", "sum"), ("same", "count")]).to_pydict()
    return {
        axis: (matching, customers)
        for axis, matching, customers in zip(
            counts["axis_name"], counts["same_sum"], counts["same_count"], strict=True
        )
    }


def _target_agreement_lines(baseline: str, target: str) -> list[str]:
    """Per axis, the share of customers both targets put in the same segment (13 rows a customer, joined in
    Arrow)."""
    schema = pa.schema(list(_ASSIGNED_SCHEMA.items()))
    sides = []
    for name in (baseline, target):
        with Warehouse.from_profile(name).session() as session:
            sides.append(session.fetch_arrow(_ASSIGNED).select(schema.names).cast(schema))
    lines = ["  the same segment on both targets, per axis:"]
    for axis, (matching, customers) in sorted(same_segment_counts(*sides).items()):
        lines.append(f"    {axis:<28}{matching / customers:9.3%}  of {customers:,} customers")
    return lines


def _main(customers: str, seed: str, target: str) -> None:
    """The child process of one run: its lines on stdout, then its figures as one JSON line."""
    run = run_once(int(customers), int(seed), target, echo=lambda line: print(line, flush=True))
    print(_RESULT_PREFIX + json.dumps(dataclasses.asdict(run)), flush=True)


if __name__ == "__main__":
    _main(*sys.argv[1:4])
