"""The experiment pipeline at scale, for `segments bench-bandit`: N generated assignments on a scratch DuckDB file,
then what `segments build` runs for them, stage by stage, each timed.

The assignments are those of the demo experiments (`python_jobs.ingest.generate.experiments`: the same five
experiments, channels, time zones, growing daily traffic and segment effects), made in bulk: each experiment draws
a pool of contexts with the demo generator, and its visitors take contexts from the pool, variants and hours at
random, vectorised (the demo generator builds one Python dict per visitor, far too slow for ten million). The
stages are the dbt models (`dbt run`: the data tests are the build's business, not this figure's) and the jobs:

- user-agent lookup: the distinct user agents (`int_experiment_user_agents`) and the `parse_user_agents` job;
- contexts: one uniform context per assignment (`int_experiment_contexts`) and the manual segment keys;
- stats: the traffic stats mart and the counts the sampler learns from (with the outcomes and cluster
  assignments they are built from);
- weights: the `update_experiment_weights` job (Thompson sampling, sample-ratio checks).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from python_jobs.ingest.generate.experiments import (
    EXPERIMENT_DAYS,
    EXPERIMENTS,
    EXPERIMENTS_END,
    daily_visitors,
)
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import RAW_SCHEMA, RAW_TABLES

# Distinct contexts drawn per experiment; visitors share them, as real visitors share sources and devices.
CONTEXT_POOL_SIZE = 20_000
TARGET_SECONDS = 60.0
# Each dbt stage: what it builds (with the staging views it needs) and what an earlier stage built already.
_DBT_STAGES = {
    "user-agent lookup": (("+int_experiment_user_agents",), ()),
    "contexts": (("+int_experiment_segment_keys",), ("+int_experiment_user_agents",)),
    "stats": (
        ("+experiment_traffic_stats", "+int_experiment_segment_counts"),
        ("+int_experiment_segment_keys", "+int_experiment_user_agents"),
    ),
}
STAGES = ("user-agent lookup", "contexts", "stats", "weights")


@dataclass(frozen=True)
class PipelineRun:
    assignments: int
    conversions: int
    distinct_user_agents: int
    generate_seconds: float
    load_seconds: float
    stage_seconds: dict[str, float]

    @property
    def total_seconds(self) -> float:
        return sum(self.stage_seconds.values())


def _split(total: int) -> list[np.ndarray]:
    """Each experiment's visitors per day: the demo's growing traffic, scaled so that they add up to `total`."""
    demo = [daily_visitors(experiment, EXPERIMENT_DAYS, 1.0) for experiment in EXPERIMENTS]
    scale = total / sum(int(days.sum()) for days in demo)
    counts = [np.floor(days * scale).astype(np.int64) for days in demo]
    counts[0][-1] += total - sum(int(days.sum()) for days in counts)  # the rounding, on the busiest day
    return counts


def generate_pipeline_tables(assignments: int, seed: int = 42) -> dict[str, pa.Table]:
    """The four raw experiment tables with `assignments` assignments in all (same seed, same tables)."""
    rng = np.random.default_rng([seed, 20])
    start = EXPERIMENTS_END - dt.timedelta(days=EXPERIMENT_DAYS)
    start_microseconds = int(start.timestamp()) * 1_000_000
    timestamp = pa.timestamp("us", tz="UTC")
    experiments, variants, assignment_parts, conversion_parts = [], [], [], []
    for number, (experiment, per_day) in enumerate(
        zip(EXPERIMENTS, _split(assignments), strict=True), start=1
    ):
        experiments.append(
            {
                "experiment_id": experiment.experiment_id,
                "experiment_name": experiment.name,
                "experiment_status": "running",
                "created_at": start - dt.timedelta(days=1),
                "time_zone": experiment.time_zone,
            }
        )
        variants += [
            {"experiment_id": experiment.experiment_id, "variant_id": v, "variant_name": f"Variant {v}"}
            for v in experiment.variants
        ]
        count = int(per_day.sum())
        if count == 0:
            continue
        pool_contexts, pool_segments = experiment.contexts(rng, min(count, CONTEXT_POOL_SIZE))
        pool_json = pa.array([json.dumps(c, separators=(",", ":")) for c in pool_contexts], pa.string())
        pool_rates = np.array([experiment.rates.get(s) or experiment.rates["*"] for s in pool_segments])
        context_index = rng.integers(len(pool_json), size=count)
        variant_index = rng.integers(len(experiment.variants), size=count)
        day = np.repeat(np.arange(EXPERIMENT_DAYS), per_day)
        seconds = day * 86_400 + rng.integers(0, 86_400, size=count)
        assigned_at = start_microseconds + seconds * 1_000_000
        visitor_id = pc.binary_join_element_wise(
            f"v{number}_", pc.cast(pa.array(np.arange(count)), pa.string()), ""
        )
        assignment_parts.append(
            pa.table(
                {
                    "experiment_id": pa.repeat(pa.scalar(experiment.experiment_id), count),
                    "variant_id": pa.array(experiment.variants, pa.string()).take(pa.array(variant_index)),
                    "visitor_id": visitor_id,
                    "assigned_at": pa.array(assigned_at, timestamp),
                    "channel": pa.repeat(pa.scalar(experiment.channel), count),
                    "context": pool_json.take(pa.array(context_index)),
                }
            )
        )
        converted = np.flatnonzero(rng.random(count) < pool_rates[context_index, variant_index])
        delays = rng.integers(60, 6 * 3_600, size=len(converted)) * 1_000_000
        conversion_parts.append(
            pa.table(
                {
                    "experiment_id": pa.repeat(pa.scalar(experiment.experiment_id), len(converted)),
                    "visitor_id": visitor_id.take(pa.array(converted)),
                    "converted_at": pa.array(assigned_at[converted] + delays, timestamp),
                    "conversion_value": pa.array(np.round(rng.lognormal(3.8, 0.6, len(converted)), 2)),
                }
            )
        )

    def typed(name: str, parts: list[pa.Table]) -> pa.Table:
        schema = RAW_TABLES[name]
        if not parts:
            return schema.empty_table()
        table = pa.concat_tables(parts)
        return pa.table({field.name: _column(table, field, len(table)) for field in schema}, schema=schema)

    return {
        "experiments": pa.Table.from_pylist(experiments, schema=RAW_TABLES["experiments"]),
        "experiment_variants": pa.Table.from_pylist(variants, schema=RAW_TABLES["experiment_variants"]),
        "experiment_assignments": typed("experiment_assignments", assignment_parts),
        "experiment_conversions": typed("experiment_conversions", conversion_parts),
    }


def _column(table: pa.Table, field: pa.Field, rows: int) -> pa.ChunkedArray | pa.Array:
    if field.name in table.column_names:
        return table[field.name].cast(field.type)
    return pa.nulls(rows, field.type)


@contextmanager
def _scratch_duckdb() -> Iterator[Warehouse]:
    """The `local` target on a fresh DuckDB file, for the duration; the environment is put back after."""
    saved = os.environ.get("SEGMENTS_DUCKDB_PATH")
    with tempfile.TemporaryDirectory(prefix="segments-bench-pipeline-") as scratch:
        os.environ["SEGMENTS_DUCKDB_PATH"] = str(Path(scratch) / "pipeline.duckdb")
        try:
            yield Warehouse.from_profile("local")
        finally:
            if saved is None:
                os.environ.pop("SEGMENTS_DUCKDB_PATH", None)
            else:
                os.environ["SEGMENTS_DUCKDB_PATH"] = saved


def _dbt_run(warehouse: Warehouse, select: tuple[str, ...], exclude: tuple[str, ...]) -> None:
    from python_jobs.warehouse.dbt_runner import run_dbt

    command = ["run", "--select", *select] + (["--exclude", *exclude] if exclude else [])
    run = run_dbt(command, target=warehouse.target)
    if not run.ok:
        raise RuntimeError(f"dbt failed on the scratch warehouse: {run.problem_summary()}")


def _create_empty_ml_tables(warehouse: Warehouse) -> None:
    """The tables the stages read before any job wrote them: the config history and the clustering models."""
    from python_jobs.experiments.clustering import ensure_tables as ensure_cluster_tables
    from python_jobs.warehouse.ml_tables import EXPERIMENT_TABLES, ML_SCHEMA

    with warehouse.session() as session:
        session.ensure_schema(ML_SCHEMA)
        config = "experiment_segmentation_config"
        session.create_table(ML_SCHEMA, config, EXPERIMENT_TABLES[config])
        ensure_cluster_tables(session)


def run_pipeline(assignments: int, seed: int = 42, echo: Callable[[str], None] = print) -> PipelineRun:
    """Generate, load, then time each stage on a scratch DuckDB file (deleted afterwards)."""
    from python_jobs.warehouse.dbt_runner import dbt_session

    echo(f"generating {assignments:,} assignments...")
    started = time.perf_counter()
    tables = generate_pipeline_tables(assignments, seed)
    generate_seconds = time.perf_counter() - started
    with _scratch_duckdb() as warehouse:
        echo("loading them into a scratch DuckDB file...")
        started = time.perf_counter()
        with warehouse.session() as session:
            session.replace_tables(RAW_SCHEMA, tables)
        _create_empty_ml_tables(warehouse)
        load_seconds = time.perf_counter() - started
        conversions = tables["experiment_conversions"].num_rows
        del tables
        # The stages' dbt commands in one dbt process, as in `segments build` (python_jobs/warehouse/dbt_worker.py).
        with dbt_session(warehouse.target):
            stage_seconds = _timed_stages(warehouse, echo)
        with warehouse.session(read_only=True) as session:
            distinct = session.fetchone("select count(*) from ml.user_agent_lookup")[0]
    return PipelineRun(assignments, conversions, distinct, generate_seconds, load_seconds, stage_seconds)


def _timed_stages(warehouse: Warehouse, echo: Callable[[str], None]) -> dict[str, float]:
    from python_jobs.experiments.user_agent_job import parse_new_user_agents
    from python_jobs.experiments.weights_job import update_weights

    quiet = lambda _line: None  # noqa: E731 - the jobs' own lines would drown the figures
    stage_seconds: dict[str, float] = {}
    for stage in STAGES:
        echo(f"  {stage}...")
        started = time.perf_counter()
        if stage == "weights":
            update_weights(warehouse, echo=quiet)
        else:
            _dbt_run(warehouse, *_DBT_STAGES[stage])
        if stage == "user-agent lookup":
            parse_new_user_agents(warehouse, echo=quiet)
        stage_seconds[stage] = time.perf_counter() - started
    return stage_seconds


def pipeline_lines(run: PipelineRun) -> list[str]:
    met = "met" if run.total_seconds < TARGET_SECONDS else "NOT met"
    lines = [
        f"experiment pipeline on DuckDB: {run.assignments:,} assignments, {run.conversions:,} conversions, "
        f"{run.distinct_user_agents:,} distinct user agents (generated in {run.generate_seconds:.1f} s, "
        f"loaded in {run.load_seconds:.1f} s, not counted)"
    ]
    lines += [f"  {stage:<20} {run.stage_seconds[stage]:>8.1f} s" for stage in STAGES]
    lines.append(f"  {'total':<20} {run.total_seconds:>8.1f} s (target under {TARGET_SECONDS:.0f} s: {met})")
    return lines
