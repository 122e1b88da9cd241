"""Product segmentation over HTTP with a catalogue of text ids (each target): a run started with SKUs serves
them back as strings; an integer catalogue's ids stay numbers; ids that break the rules are refused with 422."""

from __future__ import annotations

import time

import httpx
import pyarrow as pa
import pytest

from python_jobs.testing.service import running_service
from python_jobs.warehouse.raw_tables import RAW_SCHEMA, RAW_TABLES

CATEGORY = "Desk Lamps"
TITLES = {
    "B07XJ8C8F5": "LED desk lamp with USB charging port",
    "SKU-0042-BLK": "LED desk lamp, touch dimmer, USB port",
    "SKU-0042-WHT": "Clamp desk lamp LED for drafting tables",
    "42": "Clamp-on architect desk lamp",
    "007": "Banker's desk lamp, green glass shade",
    "B0HOSE0025": "Garden hose 25 m with spray nozzle",
}


def write_catalogue(warehouse, ids: list[str]) -> None:
    rows = [
        {"product_id": product_id, "title": title, "category": CATEGORY, "brand": "Acme", "price": 20.0,
         "description": f"{title}. A product of the test catalogue."}
        for product_id, title in zip(ids, TITLES.values(), strict=True)
    ]  # fmt: skip
    with warehouse.session() as session:
        session.replace_table(RAW_SCHEMA, "products", pa.Table.from_pylist(rows, RAW_TABLES["products"]))


def wait_until_done(client: httpx.Client, run_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/product-segmentation/{run_id}").json()
        if state["stage"] in ("done", "failed", "abandoned"):
            return state
        time.sleep(0.1)
    pytest.fail(f"run {run_id} did not finish within {timeout:g} s")


def test_a_run_of_text_ids_serves_its_segments_with_the_ids_as_given(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMENTS_LLM_ARCHIVE", str(tmp_path / "llm"))
    write_catalogue(warehouse, list(TITLES))
    chosen = ["SKU-0042-BLK", " B07XJ8C8F5 ", "42", "007", "B0HOSE0025"]
    with running_service(warehouse) as service, service.client() as client:
        started = client.post(
            "/product-segmentation", json={"product_category": CATEGORY, "product_ids": chosen}
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        state = wait_until_done(client, run_id)
        segments = client.get(f"/product-segmentation/{run_id}/segments")

    assert state["stage"] == "done", state
    assert segments.status_code == 200
    ids = [row["product_id"] for row in segments.json()["segments"]]
    assert sorted(ids) == sorted(product_id.strip() for product_id in chosen)
    assert all(isinstance(product_id, str) for product_id in ids)  # "42" too: the run's ids are text


def test_an_integer_catalogue_is_served_with_numbers_and_can_be_asked_for_by_number(duckdb_warehouse, tmp_path,
                                                                                     monkeypatch):  # fmt: skip
    monkeypatch.setenv("SEGMENTS_LLM_ARCHIVE", str(tmp_path / "llm"))
    write_catalogue(duckdb_warehouse, [str(n) for n in range(201, 201 + len(TITLES))])
    with running_service(duckdb_warehouse) as service, service.client() as client:
        run_id = client.post(
            "/product-segmentation", json={"product_category": CATEGORY, "product_ids": [203, "201", 202]}
        ).json()["run_id"]
        wait_until_done(client, run_id)
        segments = client.get(f"/product-segmentation/{run_id}/segments").json()

    assert [row["product_id"] for row in segments["segments"]] == [201, 202, 203]


@pytest.mark.parametrize(
    ("bad_id", "problem"),
    [
        ("   ", "empty product id"),
        ("x" * 257, "a product id of 257 characters, longer than the 256 allowed"),
        ("SKU\u000742", "a control character (\\x07) in product id"),
        (4.5, "product_ids"),
        (None, "product_ids"),
    ],
    ids=["empty", "too long", "control character", "a float", "null"],
)
def test_ids_that_break_the_rules_are_refused(duckdb_warehouse, bad_id, problem):
    write_catalogue(duckdb_warehouse, list(TITLES))
    with running_service(duckdb_warehouse) as service, service.client() as client:
        refused = client.post(
            "/product-segmentation", json={"product_category": CATEGORY, "product_ids": ["42", bad_id]}
        )
        runs = client.get("/product-segmentation").json()["runs"]

    assert refused.status_code == 422, refused.text
    assert problem in refused.json()["detail"]
    assert runs == []
