"""A catalogue identified by ASINs and SKUs, end to end on each target: `segments load-products`, a run (offline,
and through the real SDK against the fake Messages API), `show --json`, the archive, and the marts rebuilt by
the run (dbt's tests of the product models included). An integer catalogue keeps its JSON numbers, and a run
written when ids were `bigint` stays readable once the table holds text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner

from python_jobs.cli import main
from python_jobs.product_segmentation import tables
from python_jobs.product_segmentation.job import start_run
from python_jobs.product_segmentation.offline_embeddings import offline_handlers
from python_jobs.product_segmentation.product_ids import is_integer_id
from python_jobs.product_segmentation.prompts import EXTRACT_TASK, REFINE_TASK, parse_prompt
from python_jobs.product_segmentation.show import run_report
from python_jobs.testing.fake_messages_api import FakeReply, output_schema_of
from python_jobs.testing.product_responders import prompt_text, request_task
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.ml_tables import ML_SCHEMA, PRODUCT_SEGMENTATION_TABLES

CATEGORY = "Dimmer Switches"
# Text ids as catalogues have them, one of them all digits ("42": a text run still sends it as a string) and
# one with leading zeros ("007", not the product "7").
CATALOGUE = [
    ("B07XJ8C8F5", "Smart Wi-Fi dimmer switch", "Wi-Fi dimmer with app control, schedules and Alexa voice control."),
    ("SKU-0042-BLK", "Smart Wi-Fi dimmer switch with app", "Hub-free Wi-Fi smart dimmer; app schedules and scenes."),
    ("SKU-0042-WHT", "Smart Wi-Fi in-wall dimmer", "Wi-Fi dimmer switch working with Google Home and Alexa."),
    ("42", "Rotary dimmer switch", "Classic rotary knob dimmer, push on/off, for incandescent bulbs."),
    ("007", "Rotary dimmer switch 400W", "Rotary knob dimmer with a smooth turn, single pole."),
    ("7", "Rotary LED dimmer knob", "Rotary dimmer switch with a knob, for dimmable LED bulbs."),
    ("B0SLIDE001", "Slide dimmer switch", "Slide dimmer with a linear slider and preset on/off."),
    ("sku 9/slide#600", "Slide dimmer switch 600W", "Slider dimmer for halogen bulbs; slide to fade the light."),
    ("B0HOSE0025", "Garden hose 25 m", "Flexible garden hose with brass fittings and a spray nozzle."),
    ("CASE-PHONE-1", "Phone case", "Shock absorbing silicone phone case with a raised camera lip."),
]  # fmt: skip
TEXT_IDS = [product_id for product_id, _, _ in CATALOGUE]
OUT_OF_SCOPE = {"B0HOSE0025", "CASE-PHONE-1"}


def write_catalogue(directory: Path, ids: list[str]) -> Path:
    path = directory / "catalogue.csv"
    lines = ["id,title,category,brand,price,description"]
    lines += [
        f'"  {product_id} ",{title},{CATEGORY},Acme,19.50,"{description}"'
        for product_id, (_, title, description) in zip(ids, CATALOGUE, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def archived(archive: Path, run_id: str) -> list[dict[str, Any]]:
    """Every archived call of the run (the prompt templates aside)."""
    folder = archive / "product_segmentation" / run_id
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*/*.json"))]


def fetch(warehouse: Warehouse, sql: str) -> list[tuple]:
    with warehouse.session(read_only=True) as session:
        return session.fetchall(sql)


# ---------------------------------------------------------------------------------------------- end to end


def test_a_text_catalogue_is_loaded_segmented_shown_and_in_the_marts(warehouse, tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    target = ["--target", warehouse.target]
    archive = tmp_path / "llm"
    invoke("load-products", str(write_catalogue(tmp_path, TEXT_IDS)), "--id-col", "id", "--title-col", "title",
           "--category-col", "category", "--brand-col", "brand", "--price-col", "price",
           "--description-col", "description", *target)  # fmt: skip

    # Without --no-rebuild the run builds the product marts and runs their dbt tests: a failing test fails it.
    output = invoke("product-segmentation", "run", "--category", CATEGORY, "--all", "--provider", "offline",
                    "--archive-root", str(archive), *target)  # fmt: skip
    run_id = output.strip().splitlines()[-1]
    shown = json.loads(invoke("product-segmentation", "show", run_id, "--json", *target))

    segments = {row["product_id"]: row["taxonomy_id"] for row in shown["segments"]}
    assert sorted(segments) == sorted(TEXT_IDS)  # trimmed, as given, every one a string ("42" too)
    assert all(isinstance(product_id, str) for product_id in segments)
    out_of_scope = next(t["id"] for t in shown["taxonomies"] if t["segment_name"] == "__OUT_OF_SCOPE__")
    assert {
        product_id for product_id, taxonomy in segments.items() if taxonomy == out_of_scope
    } == OUT_OF_SCOPE
    assert sum(t["product_count"] for t in shown["taxonomies"]) == len(TEXT_IDS)
    text = invoke("product-segmentation", "show", run_id, *target)
    assert "  sku 9/slide#600  " in text

    calls = archived(archive, run_id)
    assert calls
    for call in calls:
        sent = parse_prompt(call["prompt"]["user"])[1].get("products", [])
        assert [product["product_id"] for product in sent] == call["metadata"]["product_ids"]
        assert all(isinstance(product_id, str) for product_id in call["metadata"]["product_ids"])
    assert {i for call in calls for i in call["metadata"]["product_ids"]} == set(TEXT_IDS)

    marts = fetch(warehouse, "select product_id, title, run_id, is_out_of_scope from marts.product_segments")
    assert sorted(row[0] for row in marts) == sorted(TEXT_IDS)
    assert all(row[1] and row[2] == run_id for row in marts)  # every product joined to its catalogue row
    assert {row[0] for row in marts if row[3]} == OUT_OF_SCOPE
    summary = fetch(
        warehouse, f"select sum(product_count) from marts.product_segment_summary where run_id = '{run_id}'"
    )
    assert int(summary[0][0]) == len(TEXT_IDS)


def test_an_integer_catalogue_keeps_its_json_numbers(duckdb_warehouse, tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    target = ["--target", duckdb_warehouse.target]
    archive = tmp_path / "llm"
    ids = [str(n) for n in range(101, 101 + len(CATALOGUE))]
    invoke("load-products", str(write_catalogue(tmp_path, ids)), "--id-col", "id", "--title-col", "title",
           "--category-col", "category", "--description-col", "description", *target)  # fmt: skip

    output = invoke("product-segmentation", "run", "--category", CATEGORY, "--product-ids", "101,102, 103 104",
                    "--provider", "offline", "--archive-root", str(archive), "--no-rebuild", *target)  # fmt: skip
    run_id = output.strip().splitlines()[-1]
    shown = json.loads(invoke("product-segmentation", "show", run_id, "--json", *target))

    assert [row["product_id"] for row in shown["segments"]] == [101, 102, 103, 104]
    for call in archived(archive, run_id):
        assert all(type(product_id) is int for product_id in call["metadata"]["product_ids"])
        sent = parse_prompt(call["prompt"]["user"])[1].get("products", [])
        assert all(type(product["product_id"]) is int for product in sent)


# ------------------------------------------------------------------------------------------ the fake API


def _numbers_for_digit_ids(request_json: dict[str, Any]) -> FakeReply:
    """The offline answers, except that an id a number can spell comes back as one: `42` for `"42"` (not `7`
    for `"007"`: that is the product `"7"`)."""
    task, payload = parse_prompt(prompt_text(request_json))
    answer = offline_handlers()[task](payload)
    for placement in answer.get("assignments", []):
        if is_integer_id(placement["product_id"]):
            placement["product_id"] = int(placement["product_id"])
    return FakeReply.json(answer)


def test_a_model_writing_a_text_id_as_a_number_still_places_the_product(catalogue_of_text_ids, fake_api, kit,
                                                                       tmp_path):  # fmt: skip
    fake_api.responder = _numbers_for_digit_ids

    run_id = start_run(catalogue_of_text_ids, CATEGORY, None, kit.config(fake_api), archive_root=tmp_path / "llm",
                       echo=lambda _line: None)  # fmt: skip

    report = run_report(catalogue_of_text_ids, run_id)
    names = {t["id"]: t["segment_name"] for t in report["taxonomies"]}
    placed = {row["product_id"]: names[row["taxonomy_id"]] for row in report["segments"]}
    assert sorted(placed) == sorted(TEXT_IDS)
    assert "__UNASSIGNED__" not in placed.values()  # "42", answered as 42, was matched
    assert placed["42"] == placed["7"]  # both rotary dimmers, in the same segment
    with catalogue_of_text_ids.session(read_only=True) as session:
        summary = tables.fetch_run(session, run_id)["result_summary"]
    assert (summary["invented_product_ids"], summary["unassigned_products"]) == (0, 0)
    # The API was asked for string ids, and was sent them.
    extract = next(r for r in fake_api.requests if request_task(r.json) == EXTRACT_TASK)
    schema = output_schema_of(extract.json)
    placement = next(d for d in schema["$defs"].values() if "product_id" in d["properties"])
    assert placement["properties"]["product_id"]["type"] == "string"
    refine = next(r for r in fake_api.requests if request_task(r.json) == REFINE_TASK)
    sent = [p["product_id"] for p in parse_prompt(prompt_text(refine.json))[1]["products"]]
    assert "42" in sent
    assert 42 not in sent


@pytest.fixture
def catalogue_of_text_ids(duckdb_warehouse: Warehouse, kit) -> Warehouse:
    rows = [
        {"product_id": product_id, "title": title, "category": CATEGORY, "brand": "Acme", "price": 19.5,
         "description": description}
        for product_id, title, description in CATALOGUE
    ]  # fmt: skip
    kit.write_products(duckdb_warehouse, rows)
    return duckdb_warehouse


# ------------------------------------------------------------------------------------------ older tables


def test_a_run_written_when_ids_were_bigint_stays_readable_beside_text_ids(warehouse):
    """Tables created with `product_id bigint` are converted on the next run's first write; the old run's ids
    still come out as numbers, a text run's as strings."""
    old = {**PRODUCT_SEGMENTATION_TABLES}
    assignments = tables.ASSIGNMENTS
    old[assignments] = pa.schema(
        [pa.field("product_id", pa.int64()) if f.name == "product_id" else f for f in old[assignments]]
    )
    now = tables.utc_now()
    with warehouse.session() as session:
        session.ensure_schema(ML_SCHEMA)
        for name, schema in old.items():
            session.create_table(ML_SCHEMA, name, schema)
        session.append_table(ML_SCHEMA, tables.RUNS, pa.Table.from_pylist(
            [{"id": "RUN_OLD", "created_at": now, "updated_at": now, "category": CATEGORY, "stage": "done"}],
            schema=old[tables.RUNS]))  # fmt: skip
        session.append_table(ML_SCHEMA, tables.TAXONOMIES, pa.Table.from_pylist(
            [{"id": "T1", "run_id": "RUN_OLD", "segment_name": "Rotary", "definition": "Knobs.", "stage": "final",
              "created_at": now}], schema=old[tables.TAXONOMIES]))  # fmt: skip
        session.append_table(ML_SCHEMA, assignments, pa.Table.from_pylist(
            [{"run_id": "RUN_OLD", "product_id": n, "taxonomy_id_initial": "T1", "taxonomy_id_refined": "T1"}
             for n in (10, 9, 101)], schema=old[assignments]))  # fmt: skip

    with warehouse.session() as session:
        tables.ensure_tables(session)
        tables.replace_assignments(session, "RUN_TEXT", [
            {"run_id": "RUN_TEXT", "product_id": "SKU-0042-BLK", "taxonomy_id_initial": "T1",
             "taxonomy_id_refined": "T1"}])  # fmt: skip
        column_type = session.fetchone(
            "select data_type from information_schema.columns where table_schema = 'ml' "
            "and table_name = 'product_segment_assignments' and column_name = 'product_id'"
        )[0]
        tables.ensure_tables(session)  # a second time: nothing left to convert

    assert column_type.lower() in ("varchar", "text")
    report = run_report(warehouse, "RUN_OLD")
    assert [row["product_id"] for row in report["segments"]] == [9, 10, 101]  # numeric order, JSON numbers
    with warehouse.session(read_only=True) as session:
        assert [r["product_id"] for r in tables.fetch_assignments(session, "RUN_TEXT")] == ["SKU-0042-BLK"]


# ------------------------------------------------------------------------------------------ the command line


def test_product_ids_on_the_command_line_are_text():
    from python_jobs.cli.products import parse_product_ids

    text = "B07XJ8C8F5,SKU-0042-BLK  SKU#42\n# a comment line\n007 42 # the rest is a comment, 9"

    assert parse_product_ids(text) == ["B07XJ8C8F5", "SKU-0042-BLK", "SKU#42", "007", "42"]


def test_a_bad_id_in_a_product_ids_file_is_refused_with_its_line(duckdb_warehouse, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("B07XJ8C8F5\nSKU-0042-BLK\n" + "x" * 257 + "\n", encoding="utf-8")

    result = CliRunner().invoke(
        main,
        ["product-segmentation", "run", "--category", CATEGORY, "--product-ids-file", str(ids),
         "--provider", "offline", "--no-rebuild", "--target", duckdb_warehouse.target],
    )  # fmt: skip

    assert result.exit_code == 2
    assert f"{ids}: line 3: a product id of 257 characters, longer than the 256 allowed" in result.output
    assert "Traceback" not in result.output
