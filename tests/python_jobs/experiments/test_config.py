"""The segmentation configuration, kept as history: `segments experiments config` appends a row, the settings not
given carry over, nothing is overwritten, and `int_experiment_segmentation_config_current` gives the latest row
(or the defaults) per experiment; on DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from click.testing import CliRunner

from python_jobs import PROJECT_ROOT
from python_jobs.cli.experiments import config_command
from python_jobs.experiments import definitions
from python_jobs.experiments.config import ConfigError, change_config, parse_segment_by
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.dbt_runner import run_dbt
from python_jobs.warehouse.ml_tables import EXPERIMENT_TABLES, ML_SCHEMA

ML_DIR = PROJECT_ROOT / "models" / "staging" / "ml"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def write_experiments(write_experiment_tables):
    def write(warehouse: Warehouse, *ids: str) -> None:
        write_experiment_tables(warehouse, experiments=[experiment(i) for i in ids])

    return write


def experiment(experiment_id: str) -> dict:
    return {
        "experiment_id": f" {experiment_id} ",
        "experiment_name": experiment_id,
        "experiment_status": "Running",
        "created_at": utc(2026, 6, 1),
    }


def history(warehouse: Warehouse) -> list[tuple]:
    with warehouse.session() as session:
        return session.fetchall(
            "select experiment_id, mode, segment_by, min_samples_per_segment, auto_activation, "
            f"auto_activation_threshold, changed_by from {ML_SCHEMA}.experiment_segmentation_config "
            "order by changed_at"
        )


def config(warehouse: Warehouse, *args: str):
    return CliRunner().invoke(config_command, [*args, "--target", warehouse.target])


def test_each_change_appends_a_row_and_the_rest_carries_over(warehouse, write_experiments):
    write_experiments(warehouse, "hero", "mail")

    first = config(warehouse, "hero", "--mode", "manual", "--segment-by", "Source, device")
    second = config(warehouse, "hero", "--auto-activation", "--auto-activation-threshold", "2500")
    third = config(warehouse, "mail", "--min-samples-per-segment", "50")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert third.exit_code == 0, third.output
    assert "mode manual, segment by source, device" in first.output
    assert history(warehouse) == [
        ("hero", "manual", '["source", "device"]', 100, False, 1000, "cli"),
        ("hero", "manual", '["source", "device"]', 100, True, 2500, "cli"),
        ("mail", "disabled", "[]", 50, False, 1000, "cli"),
    ]
    shown = config(warehouse, "hero")
    assert shown.output.strip() == (
        "hero: mode manual, segment by source, device, at least 100 assignments per segment, "
        "auto-activation on at 2,500 visitors a day."
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--mode", "auto"], "no experiment 'nope' in raw.experiments"),
        (["hero", "--segment-by", "source,colour"], "unknown context field 'colour'"),
        (["hero", "--segment-by", "source,source"], "'source' is named twice"),
        (["hero", "--mode", "manual"], "--mode manual needs the fields to segment by"),
        (["hero", "--min-samples-per-segment", "0"], "--min-samples-per-segment must be at least 1"),
    ],
)
def test_a_bad_change_is_refused_and_writes_nothing(duckdb_warehouse, write_experiments, args, message):
    write_experiments(duckdb_warehouse, "hero")
    result = config(duckdb_warehouse, *args)

    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    with duckdb_warehouse.session() as session:
        assert not session.table_exists(ML_SCHEMA, "experiment_segmentation_config")


def test_segment_by_keeps_the_order_given():
    assert parse_segment_by("device,source") == ("device", "source")
    assert parse_segment_by(" hour , channel ") == ("hour", "channel")
    with pytest.raises(ConfigError, match="at most 4 fields"):
        parse_segment_by("channel,source,medium,device,os")


def test_the_model_gives_the_latest_row_or_the_defaults(warehouse, write_experiments):
    write_experiments(warehouse, "hero", "mail", "push")
    change_config(
        warehouse, "hero", changed_by="cli", mode="manual", segment_by=("source",), now=utc(2026, 6, 2)
    )
    change_config(warehouse, "mail", changed_by="cli", mode="auto", now=utc(2026, 6, 3))
    change_config(
        warehouse, "hero", changed_by="recommendation 7", segment_by=("device", "source"), now=utc(2026, 6, 4)
    )

    run = run_dbt(
        [
            "build",
            "--select",
            "stg_raw__experiment_variants",
            "stg_raw__experiment_assignments",
            "+int_experiment_segmentation_config_current",
        ],
        target=warehouse.target,
    )

    assert run.ok, run.problem_summary()
    with warehouse.session() as session:
        rows = session.fetchall(
            "select experiment_id, segmentation_mode, segment_field_1, segment_field_2, segment_field_3, "
            "min_samples_per_segment, auto_activation, auto_activation_threshold, changed_by, is_default "
            "from intermediate.int_experiment_segmentation_config_current order by experiment_id"
        )
    assert rows == [
        ("hero", "manual", "device", "source", None, 100, False, 1000, "recommendation 7", False),
        ("mail", "auto", None, None, None, 100, False, 1000, "cli", False),
        ("push", "disabled", None, None, None, 100, False, 1000, None, True),
    ]


def ml_source_tables() -> dict[str, dict]:
    [source] = [
        s for s in yaml.safe_load((ML_DIR / "_ml__sources.yml").read_text())["sources"] if s["name"] == "ml"
    ]
    return {table["name"]: table for table in source["tables"]}


@pytest.mark.parametrize("table", list(EXPERIMENT_TABLES))
def test_ml_source_columns_are_the_experiment_tables_columns(table):
    assert [column["name"] for column in ml_source_tables()[table]["columns"]] == EXPERIMENT_TABLES[
        table
    ].names


def test_accepted_values_are_the_definitions():
    models = {m["name"]: m for m in yaml.safe_load((ML_DIR / "_ml__models.yml").read_text())["models"]}

    def accepted(model: str, column: str) -> tuple[str, ...]:
        [found] = [c for c in models[model]["columns"] if c["name"] == column]
        [test] = [t for t in found["data_tests"] if isinstance(t, dict) and "accepted_values" in t]
        return tuple(test["accepted_values"]["arguments"]["values"])

    assert (
        accepted("stg_ml__experiment_segmentation_config", "segmentation_mode")
        == definitions.SEGMENTATION_MODES
    )
    assert accepted("stg_ml__user_agent_lookup", "device") == definitions.DEVICE_CLASSES
