"""`segments load-experiments`: an A/B testing tool's export into the raw experiment tables.

A bad file is refused whole, naming the file, the line and the column, and the warehouse is left exactly as it
was (on DuckDB and PostgreSQL); a good load replaces the four experiment tables, derives the experiments and
variants, keeps a context's unknown keys as they came, and leaves the other raw tables alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from python_jobs.cli.data import load_experiments_command
from python_jobs.ingest.experiments import check_experiment_files
from python_jobs.ingest.raw_loading import LoadError
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import RAW_SCHEMA, RAW_TABLES

HEADER = "experiment_id,variant_id,visitor_id,assigned_at,channel,context"
WEB_CONTEXT = (
    '"{""utm_source"": ""instagram"", ""user_agent"": ""Mozilla/5.0 (iPhone)"", ""beta_flag"": true}"'
)
GOOD = [
    HEADER,
    f"hero,A,v1,2026-06-01T09:30:00+02:00,web,{WEB_CONTEXT}",
    'hero,B,v2,2026-06-01 08:00:00,Web,"{""referrer"": ""https://www.pinterest.com/""}"',
    'mail, B ,v1,2026-06-02T10:00:00Z,EMAIL,"{""list_id"": ""weekly"", ""engagement_score"": 0.7}"',
    "mail,A,v3,2026-06-03T10:00:00Z,email,",
]
CONVERSIONS = [
    "experiment_id,visitor_id,converted_at,value",
    "hero,v1,2026-06-01T10:00:00Z,49.90",
    "mail,v3,2026-06-03T11:00:00Z,",
]


def write_csv(directory: Path, name: str, lines: list[str]) -> Path:
    path = directory / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def refusal(tmp_path: Path, assignments: list[str], conversions: list[str] | None = None) -> str:
    conversions_path = write_csv(tmp_path, "conversions.csv", conversions) if conversions else None
    with pytest.raises(LoadError) as refused:
        check_experiment_files(write_csv(tmp_path, "assignments.csv", assignments), conversions_path)
    return str(refused.value)


def test_a_good_export_gives_the_four_tables(tmp_path):
    load = check_experiment_files(
        write_csv(tmp_path, "a.csv", GOOD), write_csv(tmp_path, "c.csv", CONVERSIONS)
    )
    assignments = load.tables["experiment_assignments"].to_pylist()

    assert [(r["experiment_id"], r["variant_id"], r["visitor_id"], r["channel"]) for r in assignments] == [
        ("hero", "A", "v1", "web"),
        ("hero", "B", "v2", "web"),
        ("mail", "B", "v1", "email"),
        ("mail", "A", "v3", "email"),
    ]
    assert assignments[0]["assigned_at"].isoformat() == "2026-06-01T07:30:00+00:00"
    assert assignments[1]["assigned_at"].isoformat() == "2026-06-01T08:00:00+00:00"  # no zone: UTC
    assert json.loads(assignments[0]["context"])["beta_flag"] is True  # an unknown key, kept
    assert assignments[3]["context"] == "{}"
    experiments = load.tables["experiments"].to_pylist()
    assert [(e["experiment_id"], e["experiment_status"], e["time_zone"]) for e in experiments] == [
        ("hero", "running", None),
        ("mail", "running", None),
    ]
    assert experiments[0]["created_at"].isoformat() == "2026-06-01T07:30:00+00:00"
    assert [
        (v["experiment_id"], v["variant_id"]) for v in load.tables["experiment_variants"].to_pylist()
    ] == [
        ("hero", "A"),
        ("hero", "B"),
        ("mail", "A"),
        ("mail", "B"),
    ]
    conversions = load.tables["experiment_conversions"].to_pylist()
    assert [(c["visitor_id"], c["conversion_value"]) for c in conversions] == [("v1", 49.9), ("v3", None)]
    for name, table in load.tables.items():
        assert table.schema.equals(RAW_TABLES[name])


def test_without_conversions_the_conversions_are_empty(tmp_path):
    load = check_experiment_files(write_csv(tmp_path, "a.csv", GOOD))
    assert load.tables["experiment_conversions"].num_rows == 0


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        ('"{""utm_source"": ""instagram"""', "not valid JSON"),
        ("not json", "not valid JSON"),
        ('"[1, 2]"', "must be a JSON object"),
        ('"""instagram"""', "must be a JSON object"),
    ],
)
def test_a_context_that_is_not_a_json_object_is_a_bad_line(tmp_path, context, problem):
    message = refusal(tmp_path, [*GOOD, f"hero,A,v9,2026-06-01T09:30:00Z,web,{context}"])
    assert "assignments.csv: line 6, column 'context'" in message
    assert problem in message


@pytest.mark.parametrize(
    ("line", "column", "problem"),
    [
        ("hero,A,v9,2026-06-01T09:30:00Z,sms,{}", "channel", "unknown channel 'sms'"),
        ("hero,A,v9,yesterday,web,{}", "assigned_at", "cannot parse 'yesterday'"),
        ("hero,A, ,2026-06-01T09:30:00Z,web,{}", "visitor_id", "empty visitor id"),
        (",A,v9,2026-06-01T09:30:00Z,web,{}", "experiment_id", "empty experiment id"),
        ("hero,,v9,2026-06-01T09:30:00Z,web,{}", "variant_id", "empty variant id"),
        (
            "hero,B,v1,2026-06-01T09:30:00Z,web,{}",
            "visitor_id",
            "assigned twice in experiment 'hero' (first on line 2)",
        ),
    ],
)
def test_a_bad_assignment_names_its_line_and_column(tmp_path, line, column, problem):
    message = refusal(tmp_path, [*GOOD, line])
    assert f"assignments.csv: line 6, column '{column}'" in message
    assert problem in message


def test_a_missing_column_is_named_on_line_1(tmp_path):
    message = refusal(
        tmp_path, ["experiment_id,variant_id,visitor_id,assigned_at,channel", "hero,A,v1,2026-06-01,web"]
    )
    assert "line 1: missing column 'context'" in message


def test_a_wrong_field_count_is_refused(tmp_path):
    message = refusal(tmp_path, [*GOOD, "hero,A,v9,2026-06-01T09:30:00Z,web"])
    assert "line 6: expected 6 fields, found 5" in message


@pytest.mark.parametrize(
    ("line", "column", "problem"),
    [
        ("hero,v404,2026-06-01T10:00:00Z,1", "visitor_id", "has no assignment there"),
        ("mail,v2,2026-06-01T10:00:00Z,1", "visitor_id", "has no assignment there"),  # v2 is in hero only
        ("hero,v1,soon,1", "converted_at", "cannot parse 'soon'"),
        ("hero,v1,2026-06-01T10:00:00Z,12 EUR", "value", "cannot parse value '12 EUR'"),
        ("hero,v1,2026-06-01T10:00:00Z,1e30", "value", "cannot parse value"),
    ],
)
def test_a_bad_conversion_names_its_line_and_column(tmp_path, line, column, problem):
    message = refusal(tmp_path, GOOD, [*CONVERSIONS, line])
    assert f"conversions.csv: line 4, column '{column}'" in message
    assert problem in message


def test_conversions_without_a_value_column_load(tmp_path):
    conversions = ["experiment_id,visitor_id,converted_at", "hero,v1,2026-06-01T10:00:00Z"]
    load = check_experiment_files(
        write_csv(tmp_path, "a.csv", GOOD), write_csv(tmp_path, "c.csv", conversions)
    )
    assert load.tables["experiment_conversions"].column("conversion_value").to_pylist() == [None]


# ------------------------------------------------------------------------------------------------ warehouse


def raw_rows(warehouse: Warehouse, table: str) -> list[tuple]:
    with warehouse.session() as session:
        if not session.table_exists(RAW_SCHEMA, table):
            return []
        return sorted(session.fetchall(f"select * from {RAW_SCHEMA}.{table}"), key=repr)


def invoke(warehouse: Warehouse, assignments: Path, conversions: Path | None = None):
    args = ["--assignments", str(assignments), "--target", warehouse.target]
    if conversions:
        args += ["--conversions", str(conversions)]
    return CliRunner().invoke(load_experiments_command, args)


def test_a_good_load_replaces_the_experiment_tables_and_leaves_the_others(tmp_path, warehouse):
    products = pa.Table.from_pylist([{"product_id": "1", "title": "Lamp"}], schema=RAW_TABLES["products"])
    with warehouse.session() as session:
        session.replace_table(RAW_SCHEMA, "products", products)
    first = invoke(warehouse, write_csv(tmp_path, "a.csv", GOOD), write_csv(tmp_path, "c.csv", CONVERSIONS))
    assert first.exit_code == 0, first.output
    assert "Loaded 4 assignments to 2 experiments (4 variants) and 2 conversions" in first.output

    second = invoke(warehouse, write_csv(tmp_path, "b.csv", GOOD[:2]))

    assert second.exit_code == 0, second.output
    assert len(raw_rows(warehouse, "experiment_assignments")) == 1
    assert raw_rows(warehouse, "experiment_conversions") == []
    assert [row[0] for row in raw_rows(warehouse, "experiments")] == ["hero"]
    assert raw_rows(warehouse, "products") == [("1", "Lamp", None, None, None, None)]


def test_a_refused_file_leaves_the_warehouse_as_it_was(tmp_path, warehouse):
    assert invoke(warehouse, write_csv(tmp_path, "a.csv", GOOD)).exit_code == 0
    before = {name: raw_rows(warehouse, name) for name in RAW_TABLES}

    result = invoke(warehouse, write_csv(tmp_path, "bad.csv", [*GOOD[:3], "hero,A,v7,2026-06-01,web,{oops"]))

    assert result.exit_code == 1
    assert "refused:" in result.output
    assert "bad.csv: line 4, column 'context'" in result.output
    assert "Nothing was loaded." in result.output
    assert {name: raw_rows(warehouse, name) for name in RAW_TABLES} == before
