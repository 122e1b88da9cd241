"""One customer's features from rows that are not in the warehouse, by the project's own dbt SQL.

`marts.customer_features` is the end of a chain of dbt models: staging cleans the raw tables, the intermediate
customer models attribute and aggregate, `customer_profiles` and `customer_features` compute the values the
clustering reads. Placing a new customer must give the numbers a build would give them, so this module does not
restate any of that SQL in Python: it asks dbt to compile the chain (`dbt compile --select +customer_features`
on a throwaway DuckDB target), keeps each model's compiled SQL, and per customer runs those statements in order
in a private in-memory DuckDB whose raw tables hold only that customer's rows. A change to a model or to
python_jobs/definitions.py reaches the live placement the next time the chain is compiled (the cache is keyed
on the project's files).

What the chain reads besides the raw rows:
- the seeds (product categories), loaded from the project's CSV with the types dbt_project.yml gives them;
- the ML sources (CLV predictions): empty, since nobody has predicted anything for a new customer yet;
- the observation window: by default the warehouse's own (`intermediate.int_observation_window` of the latest
  build), so that a customer is measured on the same date as everyone the centroids were fitted on, and rows
  dated after it are left out exactly as the build leaves them out; or, on request, the chain's own definition
  on the customer's rows (their last order date), for a customer whose orders all came after the last build.

The SQL is compiled for DuckDB whatever the warehouse is: the in-memory engine is DuckDB. The models are written
to be portable (cross-database macros), so a PostgreSQL warehouse computes the same values up to float rounding.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from python_jobs import PROJECT_ROOT
from python_jobs.warehouse.connection import PROFILES_DIR, quote_identifier
from python_jobs.warehouse.dbt_runner import dbt_py_executable, dbt_work_dir
from python_jobs.warehouse.ml_tables import CLV_TABLES, ML_TABLES
from python_jobs.warehouse.raw_tables import RAW_TABLES

# The ML tables the chain may read, which hold nothing for a customer the jobs have never seen.
_ML_SOURCES = {**ML_TABLES, **CLV_TABLES}
FEATURES_MODEL = "model.segment_warehouse.customer_features"
OBSERVATION_WINDOW_MODEL = "model.segment_warehouse.int_observation_window"
# What the compiled SQL depends on: a change to any of these recompiles the chain.
_PROJECT_INPUTS = ("models", "macros", "seeds", "dbt_project.yml", "python_jobs/definitions.py")


class FeatureChainError(RuntimeError):
    """The chain could not be compiled (dbt failed); the message says how to see why."""


@dataclass(frozen=True)
class Step:
    """One model of the chain: the table it makes and the SQL that makes it."""

    unique_id: str
    schema: str
    name: str
    sql: str


@dataclass(frozen=True)
class Seed:
    schema: str
    name: str
    rows: pa.Table


@dataclass(frozen=True)
class FeatureChain:
    """The compiled models from the raw tables to `marts.customer_features`, in dependency order."""

    database: str
    sources: tuple[tuple[str, str], ...]  # (schema, table) of every source the chain reads
    seeds: tuple[Seed, ...]
    steps: tuple[Step, ...]

    def features(
        self,
        raw_rows: Mapping[str, Sequence[Mapping[str, Any]]],
        observation_end: dt.date | None,
    ) -> tuple[list[dict[str, Any]], dt.date | None]:
        """The `customer_features` rows the chain computes from `raw_rows` (raw table name -> rows shaped like
        python_jobs.warehouse.raw_tables), and the observation end they were computed as of. `observation_end`
        replaces the chain's observation window; None keeps the chain's own (the last order date in the rows)."""
        import duckdb

        connection = duckdb.connect(":memory:", config={"threads": 1})
        try:
            # The compiled SQL names its tables "<database>"."<schema>"."<table>", after the compile target.
            connection.execute(f"attach ':memory:' as {quote_identifier(self.database)}")
            connection.execute(f"use {quote_identifier(self.database)}")
            schemas = {schema for schema, _ in self.sources} | {s.schema for s in self.steps}
            schemas |= {seed.schema for seed in self.seeds}
            for schema in sorted(schemas):
                connection.execute(f"create schema {quote_identifier(schema)}")
            for schema, table in self.sources:
                declared = RAW_TABLES[table] if schema == "raw" else _ML_SOURCES[table]
                rows = raw_rows.get(table, ()) if schema == "raw" else ()
                _load(connection, schema, table, pa.Table.from_pylist(list(rows), schema=declared))
            for seed in self.seeds:
                _load(connection, seed.schema, seed.name, seed.rows)
            for step in self.steps:
                relation = f"{quote_identifier(step.schema)}.{quote_identifier(step.name)}"
                if step.unique_id == OBSERVATION_WINDOW_MODEL and observation_end is not None:
                    connection.execute(
                        f"create table {relation} as select cast(? as date) as observation_end",
                        [observation_end],
                    )
                else:
                    connection.execute(f"create table {relation} as {step.sql}")
            features = self.steps[-1]
            rows = connection.sql(
                f"select * from {quote_identifier(features.schema)}.{quote_identifier(features.name)}"
            ).to_arrow_table()
            window = next(step for step in self.steps if step.unique_id == OBSERVATION_WINDOW_MODEL)
            ((used_end,),) = connection.sql(
                f"select observation_end from {quote_identifier(window.schema)}.{quote_identifier(window.name)}"
            ).fetchall()
            return rows.to_pylist(), used_end
        finally:
            connection.close()


def _load(connection: Any, schema: str, table: str, rows: pa.Table) -> None:
    connection.register("incoming_rows", rows)
    try:
        connection.execute(
            f"create table {quote_identifier(schema)}.{quote_identifier(table)} as select * from incoming_rows"
        )
    finally:
        connection.unregister("incoming_rows")


# ----------------------------------------------------------------------------------------------- compilation
_lock = threading.Lock()
_compiled: list[FeatureChain] = []
# The dbt compile running for this process, and its folder. A service stopped while it compiles (in a thread,
# `segments serve`) must not leave it running, nor leave its half-written folder behind.
_compiling: dict[subprocess.Popen, Path] = {}
_stopping = threading.Event()


@atexit.register
def stop_compiling() -> None:
    """Stop this process's dbt compile, if one runs, and remove its folder: for a service that stops (its
    shutdown calls this; so does the interpreter's exit)."""
    _stopping.set()
    for child, work in list(_compiling.items()):
        child.kill()
        child.wait()
        shutil.rmtree(work, ignore_errors=True)


def project_fingerprint() -> str:
    """A digest of every project file the compiled SQL depends on."""
    digest = hashlib.sha256()
    for name in _PROJECT_INPUTS:
        path = PROJECT_ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(PROJECT_ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def feature_chain() -> FeatureChain:
    """The compiled chain of the project this process runs: compiled once (dbt parses and compiles the
    project, seconds), kept for the process, and kept on disk for the next process of the same project files."""
    with _lock:
        if not _compiled:
            folder = dbt_work_dir() / "target" / "feature_chain" / project_fingerprint()
            if not (folder / "target" / "manifest.json").exists():
                _compile(folder)
            _compiled.append(
                chain_from_manifest(json.loads((folder / "target" / "manifest.json").read_text()))
            )
        return _compiled[0]


def _compile(folder: Path) -> None:
    """Compile into a folder of this process, then move it into place: two processes compiling at once never
    read each other's half-written manifest."""
    work = folder.with_name(f"{folder.name}.{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    # A DuckDB target of its own: dbt opens the file while compiling, and the warehouse's may be held by the
    # service itself. The file's name becomes the database name the compiled SQL uses.
    environment = {
        **os.environ,
        "SEGMENTS_DUCKDB_PATH": str(work / "feature_chain.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "NO_COLOR": "1",
    }
    command = [
        dbt_py_executable(),
        "compile",
        "--select",
        "+customer_features",
        "--quiet",
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target",
        "local",
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    # dbt-py reads `[tool.dbt-py]` from pyproject.toml in the working directory.
    with subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        _compiling[child] = work
        try:
            child.communicate()
        finally:
            _compiling.pop(child, None)
    if _stopping.is_set():
        raise FeatureChainError("the process stopped before the feature models were compiled")
    if child.returncode != 0:
        raise FeatureChainError(
            f"`dbt compile --select +customer_features` failed (exit {child.returncode}); its log is in "
            f"{work / 'logs'}"
        )
    try:
        work.rename(folder)
    except OSError:  # another process got there first: its compilation is the same
        shutil.rmtree(work, ignore_errors=True)


def chain_from_manifest(manifest: dict[str, Any]) -> FeatureChain:
    """The chain ending at customer_features, from a manifest holding its compiled SQL."""
    nodes, sources = manifest["nodes"], manifest["sources"]
    order: list[str] = []
    seen: set[str] = set()

    def visit(unique_id: str) -> None:
        if unique_id in seen:
            return
        seen.add(unique_id)
        node = nodes.get(unique_id) or sources[unique_id]
        for parent in node.get("depends_on", {}).get("nodes", []):
            visit(parent)
        order.append(unique_id)

    visit(FEATURES_MODEL)
    steps, seeds, source_tables = [], [], []
    for unique_id in order:
        if unique_id in sources:
            source = sources[unique_id]
            source_tables.append((source["schema"], source["identifier"]))
            continue
        node = nodes[unique_id]
        if node["resource_type"] == "seed":
            seeds.append(Seed(node["schema"], node["alias"], _seed_rows(node)))
        elif node["config"]["materialized"] != "ephemeral":  # an ephemeral model is inlined where it is used
            steps.append(Step(unique_id, node["schema"], node["alias"], node["compiled_code"]))
    return FeatureChain(
        database=nodes[FEATURES_MODEL]["database"],
        sources=tuple(source_tables),
        seeds=tuple(seeds),
        steps=tuple(steps),
    )


def _seed_rows(node: dict[str, Any]) -> pa.Table:
    """A seed's CSV with the column types its config gives (the others as text), as the build loads it."""
    import duckdb

    path = PROJECT_ROOT / node["original_file_path"]
    types = node["config"].get("column_types") or {}
    connection = duckdb.connect(":memory:")
    try:
        header = connection.execute(
            "select * from read_csv(?, header = true, all_varchar = true) limit 0", [str(path)]
        )
        columns = [column[0] for column in header.description]
        # The types are the project's own configuration (dbt_project.yml), never a request's.
        select = ", ".join(
            f"cast({quote_identifier(c)} as {types[c]}) as {quote_identifier(c)}"
            if c in types
            else quote_identifier(c)
            for c in columns
        )
        return connection.sql(
            f"select {select} from read_csv($path, header = true, all_varchar = true)",
            params={"path": str(path)},
        ).to_arrow_table()
    finally:
        connection.close()
