"""One definition: the features, raw tables and enums written once in Python and the dbt YAML/SQL that use them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from python_jobs import PROJECT_ROOT, definitions
from python_jobs.warehouse import raw_tables
from python_jobs.warehouse.raw_tables import RAW_TABLES

CUSTOMERS_YML = PROJECT_ROOT / "models" / "marts" / "customers" / "_customers__models.yml"
RAW_SOURCES_YML = PROJECT_ROOT / "models" / "staging" / "raw" / "_raw__sources.yml"
RAW_MODELS_YML = PROJECT_ROOT / "models" / "staging" / "raw" / "_raw__models.yml"


def load_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def customer_features_columns() -> list[dict[str, Any]]:
    models = [m for m in load_yaml(CUSTOMERS_YML)["models"] if m["name"] == "customer_features"]
    assert len(models) == 1
    return models[0]["columns"]


# ------------------------------------------------------------------------------------------------ features


def test_customer_features_columns_are_the_defined_features_in_order():
    names = [column["name"] for column in customer_features_columns()]

    assert names == ["customer_id", *definitions.feature_names()]


def test_each_feature_column_is_a_double_described_with_its_axis():
    columns = {column["name"]: column for column in customer_features_columns()}

    for axis in definitions.AXES:
        for feature in axis.features:
            column = columns[feature.name]
            assert column["data_type"] == "double precision", feature.name
            assert axis.name in column["description"], feature.name
            assert feature.description in column["description"], feature.name


def test_feature_names_follow_the_axes():
    assert definitions.feature_names() == [f.name for axis in definitions.AXES for f in axis.features]
    assert tuple(axis.name for axis in definitions.AXES) == definitions.AXIS_NAMES


def test_axis_names_are_unique():
    assert len(set(definitions.AXIS_NAMES)) == len(definitions.AXIS_NAMES)


def test_feature_names_are_unique_across_axes():
    names = definitions.feature_names()
    duplicates = sorted({name for name in names if names.count(name) > 1})

    assert duplicates == []


def test_every_axis_has_at_least_two_features():
    thin = [axis.name for axis in definitions.AXES if len(axis.features) < 2]

    assert thin == []


def test_feature_names_are_plain_sql_identifiers():
    for name in [*definitions.AXIS_NAMES, *definitions.feature_names()]:
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", name), name


# ------------------------------------------------------------------------------------------------ raw tables


def raw_source() -> dict[str, Any]:
    sources = [s for s in load_yaml(RAW_SOURCES_YML)["sources"] if s["name"] == "raw"]
    assert len(sources) == 1
    return sources[0]


def test_raw_source_schema_is_the_raw_schema():
    assert raw_source()["schema"] == raw_tables.RAW_SCHEMA


def test_raw_source_tables_are_the_raw_tables_in_order():
    assert [table["name"] for table in raw_source()["tables"]] == list(RAW_TABLES)


@pytest.mark.parametrize("table", list(RAW_TABLES))
def test_raw_source_columns_are_the_raw_table_columns_in_order(table):
    tables = {t["name"]: t for t in raw_source()["tables"]}

    assert [column["name"] for column in tables[table]["columns"]] == RAW_TABLES[table].names


ACCEPTED_VALUES = {
    "order_status": raw_tables.ORDER_STATUSES,
    "sales_channel": raw_tables.SALES_CHANNELS,
    "event_type": raw_tables.EVENT_TYPES,
    "page_type": raw_tables.PAGE_TYPES,
    "device_type": raw_tables.DEVICE_TYPES,
    "contact_channel": raw_tables.CONTACT_CHANNELS,
    "complexity": raw_tables.COMPLEXITIES,
    "topic": raw_tables.TICKET_TOPICS,
}


def accepted_values_in_yaml() -> dict[str, list[tuple[str, ...]]]:
    found: dict[str, list[tuple[str, ...]]] = {}
    for model in load_yaml(RAW_MODELS_YML)["models"]:
        for column in model.get("columns", []):
            for test in column.get("data_tests", []):
                if isinstance(test, dict) and "accepted_values" in test:
                    config = test["accepted_values"]
                    values = config.get("arguments", config)["values"]
                    found.setdefault(column["name"], []).append(tuple(values))
    return found


def test_every_accepted_values_list_is_checked_here():
    assert set(accepted_values_in_yaml()) == set(ACCEPTED_VALUES)


@pytest.mark.parametrize("column", list(ACCEPTED_VALUES))
def test_accepted_values_are_the_raw_schema_enums(column):
    assert accepted_values_in_yaml()[column] == [ACCEPTED_VALUES[column]]


# ------------------------------------------------------------------------------------------------ rendered SQL


@pytest.fixture(scope="module")
def compiled_customer_features(tmp_path_factory) -> str:
    work = tmp_path_factory.mktemp("dbt_compile")
    target_path = work / "target"
    env = {
        **os.environ,
        "SEGMENTS_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "NO_COLOR": "1",
    }
    dbt_py = Path(sys.executable).parent / "dbt-py"
    run = subprocess.run(
        [
            str(dbt_py),
            "compile",
            "--select",
            "customer_features",
            "--profiles-dir",
            "profiles",
            "--target",
            "local",
            "--target-path",
            str(target_path),
            "--log-path",
            str(work / "logs"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    compiled = target_path / "compiled" / "segment_warehouse" / "models" / "marts" / "customers"
    return (compiled / "customer_features.sql").read_text()


def features_cte(sql: str) -> str:
    """The body of the final `features` CTE, where the defined features become columns."""
    match = re.search(r"\bfeatures as \((.*?)\n\)", sql, flags=re.DOTALL)
    assert match, "no `features as (...)` CTE in the compiled SQL"
    return match.group(1)


def test_compiled_customer_features_selects_every_feature(compiled_customer_features):
    for name in definitions.feature_names():
        assert re.search(rf"\bas {name}\b", compiled_customer_features), name


def test_compiled_features_cte_is_customer_id_then_the_features_in_order(compiled_customer_features):
    body = features_cte(compiled_customer_features)

    aliases = re.findall(r"\bas (\w+)", body)
    aliases = [alias for alias in aliases if alias != "double"]  # `cast(... as double precision)`

    assert re.match(r"\s*select\s+customer_id,", body)
    assert aliases == definitions.feature_names()


def test_compiled_features_fill_with_the_defined_value(compiled_customer_features):
    body = features_cte(compiled_customer_features)

    for feature in definitions.FEATURES:
        expected = f"cast(coalesce({feature.name}, {feature.fill_value}) as double precision)"
        assert expected in body, feature.name
