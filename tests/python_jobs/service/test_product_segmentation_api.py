"""Product segmentation over HTTP, on a small hand-made catalogue (each target): a run started by POST works in
the service's pool, its SSE stream is read by a real HTTP client to the end, its segments are served; a run
failed by the (fake) LLM ends its stream with `failed` and resumes."""

from __future__ import annotations

import json

import httpx
import pyarrow as pa
import pytest

from python_jobs.product_segmentation.prompts import REFINE_TASK
from python_jobs.service.products import MAX_PRODUCT_IDS
from python_jobs.testing.fake_messages_api import FakeMessagesAPI, FakeReply
from python_jobs.testing.product_responders import offline_responder, request_task
from python_jobs.testing.service import running_service
from python_jobs.warehouse.raw_tables import RAW_SCHEMA, RAW_TABLES

CATEGORY = "Desk Lamps"
TITLES = {
    201: "LED desk lamp with USB charging port",
    202: "LED desk lamp, touch dimmer, USB port",
    203: "Clamp desk lamp LED for drafting tables",
    204: "Clamp-on architect desk lamp",
    205: "Banker's desk lamp, green glass shade",
    206: "Brass banker's lamp with pull chain",
    207: "Kids' desk lamp shaped like a rocket",
    208: "Garden hose 25 m with spray nozzle",
}


@pytest.fixture
def catalogue(warehouse):
    rows = [
        {
            "product_id": str(product_id),
            "title": title,
            "category": CATEGORY,
            "brand": "Acme",
            "price": 20.0 + product_id % 5,
            "description": title + ". A product of the test catalogue.",
        }
        for product_id, title in TITLES.items()
    ]
    with warehouse.session() as session:
        session.replace_table(RAW_SCHEMA, "products", pa.Table.from_pylist(rows, RAW_TABLES["products"]))
    return warehouse


def read_stream(client: httpx.Client, run_id: str) -> list[tuple[str, dict]]:
    """Every event of the run's stream, until the server closes it."""
    events, name = [], None
    with client.stream("GET", f"/product-segmentation/{run_id}/stream", timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.split(":", 1)[1])))
    return events


def test_a_run_streams_its_progress_to_done_and_serves_its_segments(catalogue, tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMENTS_LLM_ARCHIVE", str(tmp_path / "llm"))
    with running_service(catalogue) as service, service.client() as client:
        started = client.post(
            "/product-segmentation", json={"product_category": CATEGORY, "product_ids": "all"}
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        assert started.headers["location"] == f"/product-segmentation/{run_id}"
        events = read_stream(client, run_id)
        state = client.get(f"/product-segmentation/{run_id}").json()
        late = read_stream(client, run_id)
        segments = client.get(f"/product-segmentation/{run_id}/segments").json()
        again = client.post(f"/product-segmentation/{run_id}/resume")
        listed = client.get("/product-segmentation").json()["runs"]
    names = [name for name, _data in events]
    assert names[-1] == "done"
    assert set(names[:-1]) == {"progress"}
    percents = [data["percent"] for _name, data in events]
    assert percents == sorted(percents)
    assert percents[-1] == 100.0
    assert events[-1][1]["calls_done"] == events[-1][1]["calls_total"]
    assert state["stage"] == "done"
    assert state["total_products"] == len(TITLES)
    assert state["result_summary"] is not None
    # A client arriving after the end gets the state at once, then the final event.
    assert [name for name, _data in late] == ["progress", "done"]
    assert late[0][1]["percent"] == 100.0
    assert sorted(s["product_id"] for s in segments["segments"]) == sorted(TITLES)
    placed = {s["taxonomy_id"] for s in segments["segments"]}
    assert placed <= {t["id"] for t in segments["taxonomies"]}
    assert sum(t["product_count"] for t in segments["taxonomies"]) == len(TITLES)
    assert again.status_code == 409
    assert "done" in again.json()["detail"]
    assert [(r["run_id"], r["stage"], r["percent"]) for r in listed] == [(run_id, "done", 100.0)]


def _quota_on_refinement(request_json):
    if request_task(request_json) == REFINE_TASK:
        return FakeReply.error(
            429, "You have exceeded your monthly usage quota.", error_type="rate_limit_error"
        )
    return offline_responder(request_json)


def test_a_failed_run_ends_its_stream_with_failed_and_resumes(catalogue, tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMENTS_LLM_ARCHIVE", str(tmp_path / "llm"))
    with FakeMessagesAPI(_quota_on_refinement, require_output_schema=True) as fake_api:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-service-0000")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
        with running_service(catalogue) as service, service.client() as client:
            run_id = client.post(
                "/product-segmentation", json={"product_category": CATEGORY, "product_ids": list(TITLES)}
            ).json()["run_id"]
            events = read_stream(client, run_id)
            failed = client.get(f"/product-segmentation/{run_id}").json()
            fake_api.responder = offline_responder
            resumed = client.post(f"/product-segmentation/{run_id}/resume")
            after = read_stream(client, run_id)
    assert events[-1][0] == "failed"
    assert failed["stage"] == "failed"
    assert failed["result_summary"]["reason"] == "quota"
    assert resumed.status_code == 202, resumed.text
    assert resumed.json() == {"run_id": run_id}
    assert after[-1][0] == "done"
    assert after[-1][1]["percent"] == 100.0


def test_start_errors(catalogue):
    with running_service(catalogue) as service, service.client() as client:
        unknown_category = client.post(
            "/product-segmentation", json={"product_category": "Spaceships", "product_ids": "all"}
        )
        too_many = client.post(
            "/product-segmentation",
            json={"product_category": CATEGORY, "product_ids": list(range(MAX_PRODUCT_IDS + 1))},
        )
        unknown_run = client.get("/product-segmentation/RUN_none")
        unknown_stream = client.get("/product-segmentation/RUN_none/stream")
    assert unknown_category.status_code == 400
    assert "Spaceships" in unknown_category.json()["detail"]
    assert too_many.status_code == 422
    assert unknown_run.status_code == 404
    assert unknown_run.json()["error"] == "not_found"
    assert unknown_stream.status_code == 404


def test_a_quiet_stream_gets_heartbeats(duckdb_warehouse, tmp_path, monkeypatch):
    import time

    def slow_responder(request_json):
        time.sleep(0.8)
        return offline_responder(request_json)

    rows = [
        {
            "product_id": "1",
            "title": "LED desk lamp",
            "category": CATEGORY,
            "brand": "Acme",
            "price": 20.0,
            "description": "A lamp.",
        },
    ]
    with duckdb_warehouse.session() as session:
        session.replace_table(RAW_SCHEMA, "products", pa.Table.from_pylist(rows, RAW_TABLES["products"]))
    monkeypatch.setenv("SEGMENTS_LLM_ARCHIVE", str(tmp_path / "llm"))
    with FakeMessagesAPI(slow_responder, require_output_schema=True) as fake_api:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-service-0000")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
        with running_service(duckdb_warehouse, sse_ping_seconds=0.2) as service, service.client() as client:
            run_id = client.post(
                "/product-segmentation", json={"product_category": CATEGORY, "product_ids": [1]}
            ).json()["run_id"]
            with client.stream("GET", f"/product-segmentation/{run_id}/stream", timeout=60) as response:
                lines = list(response.iter_lines())
    assert any(line.startswith(": ping") for line in lines)
    assert "event: done" in lines
