"""The product staging models and marts (product_segments, product_segment_summary), built for real by dbt.

A handful of products go into `raw.products` and hand-made rows into the four `ml.product_segment_*` tables,
on DuckDB and on PostgreSQL: two categories; for 'Dimmer Switches' an older done run, a newer failed run (spelt
'dimmer switches', to show categories match whatever their case) and a run still refining, so the marts must
read the latest *done* run; for 'Smart Bulbs' two done runs, the newer winning, with a product out of scope and
one left `__UNASSIGNED__`. Then the marts are compared row for row, and broken runs must fail the build.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
import yaml

from python_jobs import PROJECT_ROOT
from python_jobs.definitions import OUT_OF_SCOPE_SEGMENT, UNASSIGNED_SEGMENT
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.dbt_runner import DbtRun, run_dbt
from python_jobs.warehouse.ml_tables import (
    ML_SCHEMA,
    PRODUCT_RUN_STAGES,
    PRODUCT_SEGMENTATION_TABLES,
)
from python_jobs.warehouse.raw_tables import RAW_SCHEMA, RAW_TABLES

PRODUCT_MODELS = [
    "stg_raw__products+",
    *(f"source:ml.{name}+" for name in PRODUCT_SEGMENTATION_TABLES),
]
ML_SOURCES_YML = PROJECT_ROOT / "models" / "staging" / "ml" / "_ml__sources.yml"
ML_MODELS_YML = PROJECT_ROOT / "models" / "staging" / "ml" / "_ml__models.yml"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


PRODUCTS = [
    # product_id (text, as raw.products holds it), title, category, brand, price, description
    ("101", "  Lumenwell Rotary Dimmer Switch, 600W ", "Dimmer Switches", "Lumenwell", 14.99, "Turn to dim."),
    ("102", "Voltaris Smart Wi-Fi Dimmer", "Dimmer Switches", "Voltaris", 34.5, "Works with Alexa."),
    ("103", "Northgate Z-Wave Plus Dimmer", " dimmer switches", None, 41.99, None),
    ("104", "Yardly Garden Hose, 50 ft", "Dimmer Switches", "Yardly", 35.0, "A hose."),
    ("201", "Glowpoint RGBW Smart Bulb", "Smart Bulbs", "Glowpoint", 15.99, "Sixteen million colors."),
    ("202", "Aurelia Smart Filament Bulb", "Smart Bulbs", "Aurelia", 17.99, "Vintage look."),
    ("203", "Zenflex Yoga Mat", "Smart Bulbs", "Zenflex", None, "A mat."),
    ("204", "Kestrel Mystery Bulb", "SMART BULBS", "Kestrel", 9.99, "?"),
    ("301", "Climatrix Smart Thermostat", "Thermostats", "Climatrix", 199.0, "Learns."),  # no run yet
]


def run_row(run_id: str, category: str, stage: str, updated_at: dt.datetime, total: int) -> dict:
    return {
        "id": run_id,
        "created_at": updated_at - dt.timedelta(minutes=30),
        "updated_at": updated_at,
        "category": category,
        "stage": stage,
        "seg_batches_done": 1,
        "seg_batches_total": 1,
        "con_batches_done": 1,
        "con_batches_total": 1,
        "ref_batches_done": 1 if stage == "done" else 0,
        "ref_batches_total": 1,
        "calls_done": 3,
        "calls_total": 3,
        "percent": 100.0 if stage == "done" else 60.0,
        "total_products": total,
        "processed_products": total,
        "llm_config": '{"provider": "offline"}',
        "processing_params": "{}",
        "result_summary": "{}" if stage != "failed" else '{"failure_reason": "timeout"}',
    }


def taxonomy(taxonomy_id: str, run_id: str, name: str, stage: str, definition: str | None = None) -> dict:
    return {
        "id": taxonomy_id,
        "run_id": run_id,
        "segment_name": name,
        "definition": definition if definition is not None else f"{name} products",
        "stage": stage,
        "created_at": utc(2026, 1, 1),
    }


def assignment(run_id: str, product_id: int, initial: str | None, refined: str | None) -> dict:
    return {
        "run_id": run_id,
        "product_id": str(product_id),
        "taxonomy_id_initial": initial,
        "taxonomy_id_refined": refined,
    }


def ml_rows() -> dict[str, list[dict]]:
    dimmers_done, dimmers_failed, dimmers_running = "RUN_D_DONE", "RUN_D_FAILED", "RUN_D_RUNNING"
    bulbs_older, bulbs_latest = "RUN_B_OLDER", "RUN_B_LATEST"
    runs = [
        run_row(dimmers_done, "Dimmer Switches", "done", utc(2026, 1, 1, 12), 4),
        run_row(dimmers_failed, "dimmer switches", "failed", utc(2026, 1, 5, 12), 4),
        run_row(dimmers_running, "Dimmer Switches", "refinement", utc(2026, 1, 6, 12), 4),
        run_row(bulbs_older, "Smart Bulbs", "done", utc(2025, 12, 1, 12), 4),
        run_row(bulbs_latest, "Smart Bulbs", "done", utc(2026, 1, 2, 12), 4),
    ]
    taxonomies = [
        # The done dimmer run, every stage of its taxonomy; only final, system and the placeholder reach the marts.
        taxonomy("T_D_UN", dimmers_done, UNASSIGNED_SEGMENT, "init", ""),
        taxonomy("T_D_OOS", dimmers_done, OUT_OF_SCOPE_SEGMENT, "system", "Not a dimmer switch."),
        taxonomy("T_D_EX_KNOB", dimmers_done, "Knob dimmers", "extraction"),
        taxonomy("T_D_EX_APP", dimmers_done, "App dimmers", "extraction"),
        taxonomy("T_D_C0_SMART", dimmers_done, "Connected dimmers", "consolidation_l0"),
        taxonomy("T_D_ROTARY", dimmers_done, "Rotary dimmers", "final", "Turn a knob to dim."),
        taxonomy("T_D_SMART", dimmers_done, "Smart dimmers", "final", "Wi-Fi or Z-Wave control."),
        taxonomy("T_D_3WAY", dimmers_done, "Multi-location dimmers", "final", "Dim from two places."),
        taxonomy("T_DF_UN", dimmers_failed, UNASSIGNED_SEGMENT, "init", ""),
        taxonomy("T_DF_BAD", dimmers_failed, "Half-made segment", "extraction"),
        taxonomy("T_DR_UN", dimmers_running, UNASSIGNED_SEGMENT, "init", ""),
        taxonomy("T_BO_UN", bulbs_older, UNASSIGNED_SEGMENT, "init", ""),
        taxonomy("T_BO_OOS", bulbs_older, OUT_OF_SCOPE_SEGMENT, "system", ""),
        taxonomy("T_BO_ALL", bulbs_older, "All bulbs", "final"),
        taxonomy("T_B_UN", bulbs_latest, UNASSIGNED_SEGMENT, "init", ""),
        taxonomy("T_B_OOS", bulbs_latest, OUT_OF_SCOPE_SEGMENT, "system", "Not a bulb."),
        taxonomy("T_B_EX_RGB", bulbs_latest, "RGB bulbs", "extraction"),
        taxonomy("T_B_COLOR", bulbs_latest, "Color bulbs", "final", "Many colors."),
        taxonomy("T_B_FILAMENT", bulbs_latest, "Filament bulbs", "final", "Vintage filaments."),
    ]
    assignments = [
        assignment(dimmers_done, 101, "T_D_EX_KNOB", "T_D_ROTARY"),
        assignment(dimmers_done, 102, "T_D_EX_APP", "T_D_SMART"),
        assignment(dimmers_done, 103, "T_D_EX_APP", "T_D_SMART"),
        assignment(dimmers_done, 104, "T_D_OOS", "T_D_OOS"),
        # The failed and the running run never got to refine: nulls are fine for runs that are not done.
        *(assignment(dimmers_failed, p, "T_DF_BAD", None) for p in (101, 102, 103, 104)),
        *(assignment(dimmers_running, p, "T_DR_UN", None) for p in (101, 102, 103, 104)),
        *(assignment(bulbs_older, p, "T_BO_UN", "T_BO_ALL") for p in (201, 202, 203, 204)),
        assignment(bulbs_latest, 201, "T_B_EX_RGB", "T_B_COLOR"),
        assignment(bulbs_latest, 202, "T_B_UN", "T_B_FILAMENT"),
        assignment(bulbs_latest, 203, "T_B_OOS", "T_B_OOS"),
        assignment(bulbs_latest, 204, "T_B_UN", "T_B_UN"),  # left unassigned, and counted
    ]
    interactions = [
        {
            "id": f"I{index}",
            "run_id": run["id"],
            "file_path": f"archive/{run['id']}/{index}.json",
            "cache_key": f"key{index % 2}",
            "created_at": utc(2026, 1, 1),
        }
        for index, run in enumerate(runs)
    ]
    return {
        "product_segment_runs": runs,
        "product_segment_taxonomies": taxonomies,
        "product_segment_assignments": assignments,
        "product_segment_llm_interactions": interactions,
    }


def write_fixture(warehouse: Warehouse, rows: dict[str, list[dict]]) -> None:
    names = RAW_TABLES["products"].names
    products = pa.Table.from_pylist(
        [dict(zip(names, product, strict=True)) for product in PRODUCTS], schema=RAW_TABLES["products"]
    )
    with warehouse.session() as session:
        session.replace_table(RAW_SCHEMA, "products", products)
        for name, schema in PRODUCT_SEGMENTATION_TABLES.items():
            session.replace_table(ML_SCHEMA, name, pa.Table.from_pylist(rows[name], schema=schema))


def build(warehouse: Warehouse) -> DbtRun:
    return run_dbt(["build", "--select", *PRODUCT_MODELS], target=warehouse.target)


def failed(run: DbtRun) -> set[str]:
    return {r["unique_id"].split(".")[2] for r in run.results if r["status"] in {"fail", "error"}}


def fetch(warehouse: Warehouse, sql: str) -> list[tuple]:
    with warehouse.session() as session:
        return session.fetchall(sql)


# ------------------------------------------------------------------------------------------------ marts


def test_marts_read_the_latest_done_run_of_each_category(warehouse):
    """One build (they take seconds each) checked three ways below."""
    write_fixture(warehouse, ml_rows())

    run = build(warehouse)

    assert run.ok, f"dbt build of the product models failed: {failed(run)}"
    assert not run.problems(), run.problem_summary()
    check_product_segments(warehouse)
    check_summary(warehouse)
    check_staging(warehouse)


def check_product_segments(warehouse: Warehouse) -> None:
    rows = fetch(
        warehouse,
        "select product_id, title, brand, price, category, run_id, taxonomy_id, segment_name, "
        "segment_definition, is_out_of_scope, is_unassigned from marts.product_segments order by product_id",
    )

    d, b = "Dimmer Switches", "Smart Bulbs"
    assert rows == [
        ("101", "Lumenwell Rotary Dimmer Switch, 600W", "Lumenwell", Decimal("14.99"), d, "RUN_D_DONE",
         "T_D_ROTARY", "Rotary dimmers", "Turn a knob to dim.", False, False),
        ("102", "Voltaris Smart Wi-Fi Dimmer", "Voltaris", Decimal("34.50"), d, "RUN_D_DONE",
         "T_D_SMART", "Smart dimmers", "Wi-Fi or Z-Wave control.", False, False),
        ("103", "Northgate Z-Wave Plus Dimmer", None, Decimal("41.99"), d, "RUN_D_DONE",
         "T_D_SMART", "Smart dimmers", "Wi-Fi or Z-Wave control.", False, False),
        ("104", "Yardly Garden Hose, 50 ft", "Yardly", Decimal("35.00"), d, "RUN_D_DONE",
         "T_D_OOS", OUT_OF_SCOPE_SEGMENT, "Not a dimmer switch.", True, False),
        ("201", "Glowpoint RGBW Smart Bulb", "Glowpoint", Decimal("15.99"), b, "RUN_B_LATEST",
         "T_B_COLOR", "Color bulbs", "Many colors.", False, False),
        ("202", "Aurelia Smart Filament Bulb", "Aurelia", Decimal("17.99"), b, "RUN_B_LATEST",
         "T_B_FILAMENT", "Filament bulbs", "Vintage filaments.", False, False),
        ("203", "Zenflex Yoga Mat", "Zenflex", None, b, "RUN_B_LATEST",
         "T_B_OOS", OUT_OF_SCOPE_SEGMENT, "Not a bulb.", True, False),
        ("204", "Kestrel Mystery Bulb", "Kestrel", Decimal("9.99"), b, "RUN_B_LATEST",
         "T_B_UN", UNASSIGNED_SEGMENT, "", False, True),
    ]  # fmt: skip


def check_summary(warehouse: Warehouse) -> None:
    """Every final, system and placeholder segment, with its count, even 0; counts add up to total_products."""
    rows = fetch(
        warehouse,
        "select category, run_id, run_finished_at, taxonomy_id, segment_name, segment_definition, "
        "taxonomy_stage, is_out_of_scope, is_unassigned, product_count, product_share, run_total_products "
        "from marts.product_segment_summary",
    )
    rows.sort(key=lambda row: (row[1], row[3]))  # in Python: the databases' collations order '_' differently

    d, b = "Dimmer Switches", "Smart Bulbs"
    dimmers_done, bulbs_done = dt.datetime(2026, 1, 1, 12), dt.datetime(2026, 1, 2, 12)
    assert rows == [
        (b, "RUN_B_LATEST", bulbs_done, "T_B_COLOR", "Color bulbs", "Many colors.", "final", False, False, 1, 0.25, 4),
        (b, "RUN_B_LATEST", bulbs_done, "T_B_FILAMENT", "Filament bulbs", "Vintage filaments.", "final",
         False, False, 1, 0.25, 4),
        (b, "RUN_B_LATEST", bulbs_done, "T_B_OOS", OUT_OF_SCOPE_SEGMENT, "Not a bulb.", "system",
         True, False, 1, 0.25, 4),
        (b, "RUN_B_LATEST", bulbs_done, "T_B_UN", UNASSIGNED_SEGMENT, "", "init", False, True, 1, 0.25, 4),
        (d, "RUN_D_DONE", dimmers_done, "T_D_3WAY", "Multi-location dimmers", "Dim from two places.", "final",
         False, False, 0, 0.0, 4),
        (d, "RUN_D_DONE", dimmers_done, "T_D_OOS", OUT_OF_SCOPE_SEGMENT, "Not a dimmer switch.", "system",
         True, False, 1, 0.25, 4),
        (d, "RUN_D_DONE", dimmers_done, "T_D_ROTARY", "Rotary dimmers", "Turn a knob to dim.", "final",
         False, False, 1, 0.25, 4),
        (d, "RUN_D_DONE", dimmers_done, "T_D_SMART", "Smart dimmers", "Wi-Fi or Z-Wave control.", "final",
         False, False, 2, 0.5, 4),
        (d, "RUN_D_DONE", dimmers_done, "T_D_UN", UNASSIGNED_SEGMENT, "", "init", False, True, 0, 0.0, 4),
    ]  # fmt: skip


def check_staging(warehouse: Warehouse) -> None:
    """Titles trimmed, categories kept as written for display, matched by their lower-cased key."""
    rows = fetch(
        warehouse,
        "select product_id, title, category, category_key from staging.stg_raw__products order by product_id",
    )

    assert rows[0] == ("101", "Lumenwell Rotary Dimmer Switch, 600W", "Dimmer Switches", "dimmer switches")
    assert rows[2] == ("103", "Northgate Z-Wave Plus Dimmer", "dimmer switches", "dimmer switches")
    assert rows[7] == ("204", "Kestrel Mystery Bulb", "SMART BULBS", "smart bulbs")
    runs = fetch(warehouse, "select run_id, category_key from staging.stg_ml__product_segment_runs")
    assert {key for _, key in runs} == {"dimmer switches", "smart bulbs"}


def test_a_newer_done_run_replaces_the_category_and_leaves_the_other_alone(warehouse):
    rows = ml_rows()
    # The run that was still refining finishes: every dimmer now in one segment.
    for run in rows["product_segment_runs"]:
        if run["id"] == "RUN_D_RUNNING":
            run["stage"] = "done"
    rows["product_segment_taxonomies"].append(taxonomy("T_DR_ALL", "RUN_D_RUNNING", "All dimmers", "final"))
    for row in rows["product_segment_assignments"]:
        if row["run_id"] == "RUN_D_RUNNING":
            row["taxonomy_id_refined"] = "T_DR_ALL"
    write_fixture(warehouse, rows)

    run = build(warehouse)

    assert run.ok, failed(run)
    segments = fetch(
        warehouse,
        "select category, run_id, segment_name, count(*) from marts.product_segments "
        "group by category, run_id, segment_name",
    )
    assert sorted(segments) == [
        ("Dimmer Switches", "RUN_D_RUNNING", "All dimmers", 4),
        ("Smart Bulbs", "RUN_B_LATEST", "Color bulbs", 1),
        ("Smart Bulbs", "RUN_B_LATEST", "Filament bulbs", 1),
        ("Smart Bulbs", "RUN_B_LATEST", OUT_OF_SCOPE_SEGMENT, 1),
        ("Smart Bulbs", "RUN_B_LATEST", UNASSIGNED_SEGMENT, 1),
    ]


def test_empty_ml_tables_give_empty_marts(warehouse):
    write_fixture(warehouse, {name: [] for name in PRODUCT_SEGMENTATION_TABLES})

    run = build(warehouse)

    assert run.ok, failed(run)
    assert fetch(warehouse, "select count(*) from marts.product_segments") == [(0,)]
    assert fetch(warehouse, "select count(*) from marts.product_segment_summary") == [(0,)]


def test_unusable_products_are_quarantined_and_a_broken_feed_fails(warehouse):
    """A product without an id or a title, or with a negative price, is quarantined with the reason; three of
    twelve is far above max_quarantined_share, so the share test stops the build."""
    from python_jobs.ingest.products import write_products

    names = RAW_TABLES["products"].names
    bad = [
        (None, "No id", "Thermostats", None, 10.0, None),
        ("902", "   ", "Thermostats", None, 10.0, None),
        ("903", "Negative", "Thermostats", None, -1.0, None),
    ]
    table = pa.Table.from_pylist(
        [dict(zip(names, product, strict=True)) for product in [*PRODUCTS, *bad]],
        schema=RAW_TABLES["products"],
    )
    write_products(warehouse, table)  # creates the other raw tables, empty

    # `buildable`: the tests of these models and their ancestors, not the marts' tests reaching into stg_raw__products.
    run = run_dbt(
        [
            "build",
            "--select",
            "stg_raw__products",
            "quarantined_raw_rows",
            "--indirect-selection",
            "buildable",
        ],
        target=warehouse.target,
    )

    assert failed(run) == {"assert_quarantined_share_within_limit"}
    quarantined = fetch(
        warehouse, "select source_table, source_row_id, quarantine_reason from marts.quarantined_raw_rows"
    )
    assert sorted(quarantined, key=repr) == sorted(
        [
            ("products", None, "missing_product_id"),
            ("products", "902", "missing_title"),
            ("products", "903", "negative_price"),
        ],
        key=repr,
    )
    usable = fetch(warehouse, "select product_id from staging.stg_raw__products order by product_id")
    assert [row[0] for row in usable] == [product[0] for product in PRODUCTS]


# ------------------------------------------------------------------------------------------------ broken runs


def test_a_product_assigned_twice_in_a_done_run_fails_the_build(warehouse):
    rows = ml_rows()
    rows["product_segment_assignments"].append(assignment("RUN_B_LATEST", 201, "T_B_UN", "T_B_FILAMENT"))
    write_fixture(warehouse, rows)

    run = build(warehouse)

    assert not run.ok
    unique_assignment = "unique_combination_of_columns_stg_ml__product_segment_assignments_run_id__product_id"
    assert unique_assignment in failed(run)


def break_refined(rows: dict[str, list[dict]], run_id: str, product_id: int, refined: str | None) -> None:
    for row in rows["product_segment_assignments"]:
        if (row["run_id"], row["product_id"]) == (run_id, str(product_id)):
            row["taxonomy_id_refined"] = refined


def not_refined(rows):
    break_refined(rows, "RUN_B_LATEST", 202, None)


def refined_to_an_extraction_entry(rows):
    break_refined(rows, "RUN_B_LATEST", 201, "T_B_EX_RGB")


def refined_to_another_runs_entry(rows):
    break_refined(rows, "RUN_B_LATEST", 201, "T_BO_ALL")


def refined_to_an_unknown_entry(rows):
    break_refined(rows, "RUN_D_DONE", 101, "T_NOWHERE")


def total_products_wrong(rows):
    rows["product_segment_runs"][0]["total_products"] = 5


def placeholder_counted_at_a_stage_other_than_init(rows):
    for row in rows["product_segment_taxonomies"]:
        if row["id"] == "T_B_UN":
            row["stage"] = "extraction"


def unknown_run_stage(rows):
    rows["product_segment_runs"][1]["stage"] = "cancelled"


def duplicate_archive_file(rows):
    rows["product_segment_llm_interactions"][1]["file_path"] = rows["product_segment_llm_interactions"][0][
        "file_path"
    ]


END_IN_FINAL = "assert_product_runs_end_in_final_taxonomies"
STAY_IN_RUN = "assert_product_assignments_stay_in_their_run"
ADD_UP = "assert_product_segment_counts_add_up"
REFINED_EXISTS = (
    "relationships_stg_ml__product_segment_assignments_taxonomy_id_refined__taxonomy_id__"
    "ref_stg_ml__product_segment_taxonomies_"
)
RUN_STAGES = (
    "accepted_values_stg_ml__product_segment_runs_stage__"
    "init__extraction__consolidation__refinement__done__failed__abandoned"
)
ARCHIVE_FILE_UNIQUE = "unique_stg_ml__product_segment_llm_interactions_file_path"


BROKEN_RUNS = [
    (not_refined, {END_IN_FINAL}),
    (refined_to_an_extraction_entry, {END_IN_FINAL}),
    (refined_to_another_runs_entry, {END_IN_FINAL, STAY_IN_RUN}),
    (refined_to_an_unknown_entry, {END_IN_FINAL, REFINED_EXISTS}),
    (total_products_wrong, {ADD_UP}),
    (placeholder_counted_at_a_stage_other_than_init, {END_IN_FINAL}),
    (unknown_run_stage, {RUN_STAGES}),
    (duplicate_archive_file, {ARCHIVE_FILE_UNIQUE}),
]


@pytest.mark.parametrize(
    ("breakage", "expected_failures"), BROKEN_RUNS, ids=[breakage.__name__ for breakage, _ in BROKEN_RUNS]
)
def test_a_broken_run_fails_the_build(duckdb_warehouse, breakage, expected_failures):
    rows = ml_rows()
    breakage(rows)
    write_fixture(duckdb_warehouse, rows)

    run = build(duckdb_warehouse)

    assert not run.ok
    assert failed(run) == expected_failures


# ------------------------------------------------------------------------------------------------ one definition


def ml_source_tables() -> dict[str, dict]:
    [source] = [s for s in yaml.safe_load(ML_SOURCES_YML.read_text())["sources"] if s["name"] == "ml"]
    assert source["schema"] == ML_SCHEMA
    return {table["name"]: table for table in source["tables"]}


@pytest.mark.parametrize("table", list(PRODUCT_SEGMENTATION_TABLES))
def test_ml_source_columns_are_the_product_tables_columns_described(table):
    source = ml_source_tables()[table]

    assert [column["name"] for column in source["columns"]] == PRODUCT_SEGMENTATION_TABLES[table].names
    assert all(column.get("description") for column in source["columns"])


@pytest.mark.parametrize("table", list(PRODUCT_SEGMENTATION_TABLES))
def test_product_tables_are_no_segments_build_job_output(table):
    """The product job runs on demand: no meta.segments_job, so `segments build` never plans it."""
    config = ml_source_tables()[table].get("config", {})

    assert "segments_job" not in (config.get("meta") or {})
    assert "segments_job" not in (ml_source_tables()[table].get("meta") or {})


def test_run_stage_accepted_values_are_the_defined_stages():
    [model] = [
        m
        for m in yaml.safe_load(ML_MODELS_YML.read_text())["models"]
        if m["name"] == "stg_ml__product_segment_runs"
    ]
    [stage] = [c for c in model["columns"] if c["name"] == "stage"]
    [accepted] = [t["accepted_values"] for t in stage["data_tests"] if isinstance(t, dict)]

    assert tuple(accepted["arguments"]["values"]) == PRODUCT_RUN_STAGES
