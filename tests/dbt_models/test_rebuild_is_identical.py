"""Two builds of the same data give the same warehouse, value for value.

Takes the session's built warehouse (generated, then built by `segments build`), builds a copy of it again, and
compares every table in schemas `marts` and `ml` row by row between the two. Floats are compared exactly: a
feature that depends on the order in which the database happens to add up rows (parallel aggregation on DuckDB)
differs in its last digits between builds, and that difference flows on into the clustering and the membership
strengths. The clustering job runs on every build and tags what it writes with a new run id, so run ids and the
run's own timestamps are left out, and the `ml` tables are compared run against run.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from click.testing import CliRunner

from python_jobs.cli import main
from python_jobs.warehouse.connection import Warehouse

COMPARED_SCHEMAS = ("marts", "ml")
# Columns that name or time the run that wrote a row: they differ between builds by design.
RUN_ID_COLUMNS = frozenset({"run_id", "segmentation_run_id", "clv_run_id", "insight_run_id"})
RUN_TIME_COLUMNS = frozenset(
    {
        "started_at",
        "finished_at",
        "fitted_at",
        "created_at",
        "updated_at",
        "run_finished_at",
        "computed_at",
        "weights_computed_at",
        "recommended_at",
        "activated_at",
        "decided_at",
        "trained_at",
        "parsed_at",
        "explained_at",
    }
)
# How an LLM job's run went: the second build answers the same segments from the cache (that its answers are the
# same is what the rest of the row shows), so it makes no calls and spends no tokens.
RUN_ACCOUNTING_COLUMNS = frozenset(
    {"cache_hit", "provider_calls", "cache_hits", "input_tokens", "output_tokens"}
)
# Columns that name the process that owned the run and its last sign of life (see warehouse/run_owner.py).
RUN_OWNER_COLUMNS = frozenset({"owner_host", "owner_pid", "owner_started_at", "heartbeat_at"})
# The tables the clustering and CLV jobs append a run to: compared run against run, not as a whole.
RUN_KEY = "run_id"
# Tables a job only adds what is new to (the user-agent lookup parses each agent once, ever): a rebuild of unchanged
# data adds nothing to them, so they are compared whole, not run against run.
ACCUMULATING_TABLES = frozenset(
    {
        "ml.user_agent_lookup",
        # A recommendation is added only when it changes; an activation or a cluster model only when due.
        "ml.experiment_segmentation_recommendations",
        "ml.experiment_auto_activations",
        "ml.experiment_recommendation_decisions",
        "ml.experiment_cluster_models",
    }
)


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple] = field(default_factory=list)


Snapshot = dict[str, Table]


def invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _comparable(value: Any) -> Any:
    """JSON values (jsonb comes back from PostgreSQL as a dict) as canonical text, so rows can be counted."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def _sort_key(row: tuple) -> str:
    return repr(row)


def snapshot(warehouse: Warehouse, runs_to_skip: frozenset[str] = frozenset()) -> tuple[Snapshot, set[str]]:
    """Every table of the compared schemas, its rows without run ids and run timestamps, in a stable order.

    Rows of runs in `runs_to_skip` are left out, so the second build's snapshot holds only its own run. Returns
    the snapshot and the run ids seen.
    """
    tables: Snapshot = {}
    runs_seen: set[str] = set()
    with warehouse.session(read_only=True) as session:
        names = session.fetchall(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'ml') and table_type = 'BASE TABLE' "
            "order by table_schema, table_name"
        )
        for schema, table in names:
            columns = [
                row[0]
                for row in session.fetchall(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                )
            ]
            kept = [
                index
                for index, column in enumerate(columns)
                if column
                not in RUN_ID_COLUMNS | RUN_TIME_COLUMNS | RUN_OWNER_COLUMNS | RUN_ACCOUNTING_COLUMNS
            ]
            accumulating = f"{schema}.{table}" in ACCUMULATING_TABLES
            run_index = columns.index(RUN_KEY) if RUN_KEY in columns and not accumulating else None
            compared = Table([columns[index] for index in kept])
            for row in session.fetchall(f'select * from "{schema}"."{table}"'):
                if run_index is not None:
                    if row[run_index] in runs_to_skip:
                        continue
                    runs_seen.add(row[run_index])
                compared.rows.append(tuple(_comparable(row[index]) for index in kept))
            compared.rows.sort(key=_sort_key)
            tables[f"{schema}.{table}"] = compared
    return tables, runs_seen


def _example(columns: list[str], first: list[tuple], second: list[tuple]) -> str:
    """The first row of build 1 that differs, beside build 2's row with the same leading value (its key)."""
    if not first or not second:
        return f"e.g. {min(first or second, key=_sort_key)}"
    row = min(first, key=_sort_key)
    partner = next((other for other in sorted(second, key=_sort_key) if other[0] == row[0]), None)
    if partner is None:
        return f"e.g. {row} has no counterpart"
    changed = [
        f"{column} {a!r} vs {b!r}" for column, a, b in zip(columns, row, partner, strict=True) if a != b
    ]
    return f"e.g. {columns[0]}={row[0]!r}: " + ", ".join(changed)


def differences(first: Snapshot, second: Snapshot) -> dict[str, str]:
    """Per table that differs: how many rows each build has that the other lacks, with an example."""
    found = {}
    for name in sorted(set(first) | set(second)):
        if name not in first or name not in second:
            found[name] = "only in one build"
            continue
        only_first = Counter(first[name].rows) - Counter(second[name].rows)
        only_second = Counter(second[name].rows) - Counter(first[name].rows)
        if only_first or only_second:
            found[name] = (
                f"{only_first.total()} rows only in build 1, {only_second.total()} only in build 2; "
                + _example(first[name].columns, list(only_first), list(only_second))
            )
    return found


def test_two_builds_of_unchanged_data_are_identical(built, built_copy):
    first, first_runs = snapshot(built.warehouse)
    target = built.warehouse.target
    # The copy's `segments build` runs with the built warehouse's settings (one dbt thread on DuckDB, see
    # tests/conftest.py), in the environment `built_copy` points at the copy.
    invoke("build", "--target", target)
    second, second_runs = snapshot(built_copy.warehouse, runs_to_skip=frozenset(first_runs))

    # The comparison means something only if both builds wrote the marts, a clustering run and a CLV fit each.
    assert {"clv_", "seg_"} <= {run[:4] for run in first_runs}
    assert {"clv_", "seg_"} <= {run[:4] for run in second_runs - first_runs}
    for table in ("marts.customer_features", "marts.customer_segments", "ml.segment_centroids"):
        assert first[table].rows, table

    found = differences(first, second)
    assert not found, "the second build differs:\n" + "\n".join(f"{t}: {d}" for t, d in found.items())
