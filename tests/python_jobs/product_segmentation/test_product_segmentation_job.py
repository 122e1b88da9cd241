"""The product segmentation job end to end: the real Anthropic SDK against the fake Messages API (or the offline
provider), real DuckDB and PostgreSQL warehouses, the real archive on disk."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from python_jobs.product_segmentation.job import (
    CallPlan,
    ProductSegmentationError,
    RunProgress,
    SegmentationParams,
    merges_per_level,
    placeholder_ids,
    resume_run,
    start_run,
)
from python_jobs.product_segmentation.offline_embeddings import offline_handlers
from python_jobs.product_segmentation.prompts import CONSOLIDATE_TASK, EXTRACT_TASK, REFINE_TASK, parse_prompt
from python_jobs.product_segmentation.show import run_report
from python_jobs.testing.fake_messages_api import FakeReply
from python_jobs.testing.product_responders import offline_responder, prompt_text, request_task
from python_jobs.warehouse.connection import Warehouse

ARCHIVE_NAME = re.compile(r"^\d{8}T\d{9}Z_(b\d{4}|l\d+_m\d{3}|b\d{4}_followup)_a\d_[0-9a-f]{8}\.json$")
# 10 products in batches of 3 -> 4 extraction calls, 3 merges over 2 levels; refinement in batches of 4 -> 3.
SMALL_BATCHES = SegmentationParams(batch_size=3, refine_batch_size=4)
ONE_BATCH = SegmentationParams(batch_size=10, refine_batch_size=10)


def _run(
    warehouse: Warehouse, config: Any, archive: Path, params: SegmentationParams = SMALL_BATCHES, **kwargs
) -> str:
    kwargs.setdefault("echo", lambda _line: None)
    return start_run(
        warehouse, "Dimmer Switches", kwargs.pop("product_ids", None), config, params, archive, **kwargs
    )


def _rows(warehouse: Warehouse, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with warehouse.session() as session:
        return session.fetch_arrow(sql, params).to_pylist()


def _run_row(warehouse: Warehouse, run_id: str) -> dict[str, Any]:
    row = _rows(warehouse, "select * from ml.product_segment_runs where id = ?", [run_id])[0]
    for name in ("llm_config", "processing_params", "result_summary"):
        row[name] = json.loads(row[name]) if row[name] else None
    return row


def _requests_by_task(api: Any) -> dict[str, int]:
    counts = {EXTRACT_TASK: 0, CONSOLIDATE_TASK: 0, REFINE_TASK: 0}
    for request in api.requests:
        counts[request_task(request.json)] += 1
    return counts


def _archived_calls(archive: Path, run_id: str) -> set[str]:
    """Relative paths of the run's archived call files (not the prompt templates or progress.json)."""
    folder = archive / "product_segmentation" / run_id
    return {
        path.relative_to(archive).as_posix()
        for phase in ("extraction", "consolidation", "refinement")
        for path in (folder / phase).glob("*.json")
    }


def _indexed(warehouse: Warehouse, run_id: str) -> list[dict[str, Any]]:
    return _rows(warehouse, "select * from ml.product_segment_llm_interactions where run_id = ?", [run_id])


def _stage_counts(warehouse: Warehouse, run_id: str) -> dict[str, int]:
    rows = _rows(
        warehouse,
        "select stage, count(*) as n from ml.product_segment_taxonomies where run_id = ? group by stage",
        [run_id],
    )
    return {row["stage"]: row["n"] for row in rows}


# --------------------------------------------------------------------------------------------------- plan


@pytest.mark.parametrize(
    ("batches", "levels"),
    [(1, ()), (2, (1,)), (3, (1, 1)), (4, (2, 1)), (5, (2, 1, 1)), (25, (12, 6, 3, 2, 1))],
)
def test_consolidation_takes_one_merge_less_than_batches(batches, levels):
    assert merges_per_level(batches) == levels
    assert sum(levels) == batches - 1


def test_the_call_plan_is_known_before_the_first_call():
    plan = CallPlan.for_products([str(n) for n in range(1, 1001)], SegmentationParams())
    assert (len(plan.extraction_batches), plan.merge_calls, len(plan.refinement_batches)) == (25, 24, 25)
    assert plan.calls_total == 74


# ------------------------------------------------------------------------------------------- normal run


def test_a_run_through_the_sdk_records_calls_archive_index_and_progress(catalogue, fake_api, kit, tmp_path):
    archive = tmp_path / "llm"
    seen: list[RunProgress] = []
    run_id = _run(catalogue, kit.config(fake_api), archive, on_progress=seen.append)

    assert re.fullmatch(r"RUN_\d{8}T\d{6}Z_[0-9a-f]{8}", run_id)
    assert _requests_by_task(fake_api) == {EXTRACT_TASK: 4, CONSOLIDATE_TASK: 3, REFINE_TASK: 3}
    assert fake_api.max_in_flight <= 2
    sent_keys = {
        r.headers.get("x-api-key") or r.headers["authorization"].removeprefix("Bearer ")
        for r in fake_api.requests
    }
    assert sent_keys == {kit.api_key}

    run = _run_row(catalogue, run_id)
    assert run["stage"] == "done"
    assert (run["seg_batches_done"], run["seg_batches_total"]) == (4, 4)
    assert (run["con_batches_done"], run["con_batches_total"]) == (3, 3)
    assert (run["ref_batches_done"], run["ref_batches_total"]) == (3, 3)
    assert (run["calls_done"], run["calls_total"], run["percent"]) == (10, 10, 100.0)
    assert (run["total_products"], run["processed_products"]) == (10, 10)
    assert run["processing_params"]["consolidation_levels"] == 2
    assert run["processing_params"]["merge_calls"] == 3
    assert run["llm_config"]["provider"] == "anthropic"
    summary = run["result_summary"]
    assert (summary["provider_calls"], summary["cache_hits"], summary["invented_product_ids"]) == (10, 0, 0)
    assert summary["out_of_scope_products"] == len(kit.out_of_scope_ids)

    # Progress: one step per response, never down, exactly 100.0 at the end.
    percents = [p.percent for p in seen]
    assert percents == sorted(percents)
    assert percents[-1] == 100.0
    assert sorted({p.calls_done for p in seen}) == list(range(0, 11))
    assert [p.stage for p in seen][-1] == "done"
    progress_file = json.loads((archive / "product_segmentation" / run_id / "progress.json").read_text())
    assert (progress_file["stage"], progress_file["percent"]) == ("done", 100.0)

    # Archive: one file per call, named <ISO>_<batch>_a<attempt>_<hash8>.json, in its phase's folder.
    calls = _archived_calls(archive, run_id)
    by_phase = {
        phase: sum(1 for path in calls if f"/{phase}/" in path)
        for phase in ("extraction", "consolidation", "refinement")
    }
    assert by_phase == {"extraction": 4, "consolidation": 3, "refinement": 3}
    assert all(ARCHIVE_NAME.match(Path(path).name) for path in calls)
    prompts_folder = archive / "product_segmentation" / run_id / "prompts"
    assert sorted(p.name for p in prompts_folder.iterdir()) == [
        "consolidate_taxonomy_prompt.txt",
        "extract_taxonomy_prompt.txt",
        "refine_assignments_prompt.txt",
    ]

    # Index: exactly the archived files, each once.
    index = _indexed(catalogue, run_id)
    assert {row["file_path"] for row in index} == calls
    assert len(index) == len(calls)
    assert all(re.fullmatch(r"[0-9a-f]{64}", row["cache_key"]) for row in index)

    # Taxonomies and assignments.
    stages = _stage_counts(catalogue, run_id)
    assert stages["init"] == 1
    assert stages["system"] == 1
    assert stages["extraction"] >= 4
    assert stages["consolidation_l0"] >= 2
    assert stages["final"] >= 1
    unassigned_id, out_of_scope_id = placeholder_ids(run_id)
    final_ids = {
        row["id"]
        for row in _rows(catalogue, "select id from ml.product_segment_taxonomies where stage = 'final'")
    }
    assignments = {
        int(row["product_id"]): row  # the table holds ids as text
        for row in _rows(catalogue, "select * from ml.product_segment_assignments where run_id = ?", [run_id])
    }
    assert sorted(assignments) == list(kit.product_ids)
    for product_id, row in assignments.items():
        assert row["taxonomy_id_initial"]
        assert row["taxonomy_id_refined"]
        if product_id in kit.out_of_scope_ids:
            assert row["taxonomy_id_initial"] == row["taxonomy_id_refined"] == out_of_scope_id
        else:
            assert row["taxonomy_id_refined"] in final_ids
            assert row["taxonomy_id_initial"] not in (unassigned_id, out_of_scope_id)

    # The key went to the API in a header, and nowhere else.
    for path in archive.rglob("*"):
        if path.is_file():
            assert kit.api_key not in path.read_text()
    assert kit.api_key not in json.dumps(
        _rows(catalogue, "select * from ml.product_segment_runs"), default=str
    )


def test_another_process_can_follow_the_progress_in_the_duckdb_file(catalogue, fake_api, kit, tmp_path):
    """The job never keeps the file open across calls, so a reader in another process gets in between."""
    fake_api.delay_seconds = 0.25
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(catalogue.duckdb_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        _run(catalogue, kit.config(fake_api), tmp_path / "llm")
        output, _ = reader.communicate(timeout=30)
    finally:
        reader.kill()
    observed = [tuple(row) for row in json.loads(output)]
    mid_run = [row for row in observed if row[0] not in ("init", "done") and 0 < row[1] < row[2]]
    assert mid_run, f"the reader never saw the run in progress: {observed}"
    percents = [row[3] for row in observed]
    assert percents == sorted(percents)
    assert observed[-1][0] == "done"
    assert observed[-1][3] == 100.0


_READER = """
import json, sys, time
import duckdb
seen, deadline = [], time.time() + 25
while time.time() < deadline:
    try:
        connection = duckdb.connect(sys.argv[1], read_only=True)
    except Exception:
        time.sleep(0.01)
        continue
    try:
        row = connection.execute(
            "select stage, calls_done, calls_total, percent from ml.product_segment_runs"
        ).fetchone()
    except Exception:
        row = None
    finally:
        connection.close()
    if row:
        seen.append(row)
        if row[0] == "done":
            break
    time.sleep(0.03)
print(json.dumps(seen))
"""


# ------------------------------------------------------------------------------------- unreliable model


@pytest.mark.parametrize(
    ("first_reply", "config_overrides", "extraction_files"),
    [
        pytest.param(FakeReply.rate_limited(retry_after="1"), {}, 1, id="429-retry-after"),
        pytest.param(FakeReply.error(500, "internal error"), {}, 1, id="500-then-ok"),
        pytest.param(FakeReply(text="{}", delay_seconds=2.0), {"timeout_seconds": 0.5}, 1, id="timeout"),
        pytest.param(FakeReply(text="Sure! Here are the segments: {not json"), {}, 2, id="malformed-json"),
        pytest.param(
            FakeReply(text='{"segments": [{"name": "Smart', stop_reason="max_tokens"),
            {},
            2,
            id="max-tokens-cut-off",
        ),
    ],
)
def test_a_bad_reply_costs_one_more_request_and_the_run_still_completes(
    catalogue, fake_api, kit, tmp_path, first_reply, config_overrides, extraction_files
):
    fake_api.enqueue(first_reply)
    archive = tmp_path / "llm"
    started = time.perf_counter()
    run_id = _run(catalogue, kit.config(fake_api, max_concurrency=1, **config_overrides), archive, ONE_BATCH)

    assert fake_api.request_count == 3  # extraction twice, refinement once; no consolidation with one batch
    if first_reply.headers.get("retry-after") == "1":
        assert time.perf_counter() - started >= 0.9, "retry-after was not honoured"
    run = _run_row(catalogue, run_id)
    assert (run["stage"], run["calls_done"], run["calls_total"], run["percent"]) == ("done", 2, 2, 100.0)
    calls = _archived_calls(archive, run_id)
    assert sum(1 for path in calls if "/extraction/" in path) == extraction_files
    assert {row["file_path"] for row in _indexed(catalogue, run_id)} == calls
    if extraction_files == 2:  # the unusable attempt is archived as such, and the next attempt is a2
        names = sorted(Path(path).name for path in calls if "/extraction/" in path)
        assert sorted(name.split("_")[2] for name in names) == ["a1", "a2"]
        documents = [json.loads((archive / path).read_text()) for path in calls if "/extraction/" in path]
        assert sorted(d["metadata"]["valid"] for d in documents) == [False, True]
    assert _stage_counts(catalogue, run_id)["final"] >= 1


def test_output_that_stays_invalid_fails_the_run_after_the_attempt_limit(catalogue, fake_api, kit, tmp_path):
    fake_api.responder = lambda _request: FakeReply(text="I cannot answer in JSON today.")
    archive = tmp_path / "llm"
    with pytest.raises(ProductSegmentationError) as failure:
        _run(catalogue, kit.config(fake_api, max_concurrency=1, max_attempts=3), archive, ONE_BATCH)

    run_id = failure.value.run_id
    assert failure.value.reason == "invalid_output"
    assert fake_api.request_count == 3
    run = _run_row(catalogue, run_id)
    assert run["stage"] == "failed"
    assert run["result_summary"]["reason"] == "invalid_output"
    assert run["result_summary"]["phase"] == "extraction"
    calls = _archived_calls(archive, run_id)
    assert len(calls) == 3
    assert {row["file_path"] for row in _indexed(catalogue, run_id)} == calls
    # Nothing half-written: the assignments still point at the placeholder.
    unassigned_id, _ = placeholder_ids(run_id)
    rows = _rows(catalogue, "select * from ml.product_segment_assignments where run_id = ?", [run_id])
    assert {(r["taxonomy_id_initial"], r["taxonomy_id_refined"]) for r in rows} == {
        (unassigned_id, unassigned_id)
    }


# ------------------------------------------------------------------------------------------- cache, resume


def test_the_same_inputs_again_make_no_provider_call(catalogue, fake_api, kit, tmp_path):
    archive = tmp_path / "llm"
    first = _run(catalogue, kit.config(fake_api), archive)
    requests_after_first = fake_api.request_count
    second = _run(catalogue, kit.config(fake_api), archive)

    assert fake_api.request_count == requests_after_first == 10
    summary = _run_row(catalogue, second)["result_summary"]
    assert (summary["provider_calls"], summary["cache_hits"], summary["cached_copies"]) == (0, 10, 10)
    run = _run_row(catalogue, second)
    assert (run["stage"], run["calls_done"], run["percent"]) == ("done", 10, 100.0)
    # The second run indexes its own copies of the reused answers; no path is indexed twice.
    index = _indexed(catalogue, second)
    assert len(index) == 10
    assert all(row["file_path"].startswith(f"product_segmentation/{second}/") for row in index)
    cached_name = re.compile(r"^\d{8}T\d{9}Z_(b\d{4}|l\d+_m\d{3})_cached_[0-9a-f]{8}\.json$")
    assert all(cached_name.match(Path(row["file_path"]).name) for row in index)
    copies = [json.loads((archive / row["file_path"]).read_text()) for row in index]
    assert {copy["cache_hit"]["source_file"] for copy in copies} == {
        row["file_path"] for row in _indexed(catalogue, first)
    }
    all_paths = [
        row["file_path"]
        for row in _rows(catalogue, "select file_path from ml.product_segment_llm_interactions")
    ]
    assert len(all_paths) == len(set(all_paths)) == 20
    first_report, second_report = run_report(catalogue, first), run_report(catalogue, second)
    assert _by_name(first_report) == _by_name(second_report)


def _by_name(report: dict[str, Any]) -> tuple[list[tuple[str, int]], dict[int, str]]:
    names = {entry["id"]: entry["segment_name"] for entry in report["taxonomies"]}
    return (
        [(entry["segment_name"], entry["product_count"]) for entry in report["taxonomies"]],
        {row["product_id"]: names[row["taxonomy_id"]] for row in report["segments"]},
    )


def _quota_on_consolidation(request_json: dict[str, Any]) -> FakeReply:
    if request_task(request_json) == CONSOLIDATE_TASK:
        return FakeReply.error(
            429, "You have exceeded your monthly usage quota.", error_type="rate_limit_error"
        )
    return offline_responder(request_json)


def test_quota_fails_the_run_and_resume_pays_only_for_the_missing_calls(catalogue, fake_api, kit, tmp_path):
    archive = tmp_path / "llm"
    earlier = _run(catalogue, kit.config(fake_api), archive, product_ids=[101, 102, 104, 107])
    earlier_rows = _snapshot(catalogue, earlier)

    fake_api.reset()
    fake_api.responder = _quota_on_consolidation
    with pytest.raises(ProductSegmentationError) as failure:
        _run(catalogue, kit.config(fake_api), archive)
    run_id = failure.value.run_id
    assert failure.value.reason == "quota"
    # Quota is not retried: one request per merge of level 0 in flight (2), then nothing new is started.
    assert _requests_by_task(fake_api) == {EXTRACT_TASK: 4, CONSOLIDATE_TASK: 2, REFINE_TASK: 0}
    run = _run_row(catalogue, run_id)
    assert run["stage"] == "failed"
    assert (run["result_summary"]["reason"], run["result_summary"]["phase"]) == ("quota", "consolidation")
    assert "quota" in run["result_summary"]["message"]
    assert _stage_counts(catalogue, run_id)["extraction"] >= 4
    assert _snapshot(catalogue, earlier) == earlier_rows, "a failed run changed an earlier run"

    fake_api.reset()
    fake_api.responder = offline_responder
    seen: list[RunProgress] = []
    resumed = resume_run(
        catalogue, run_id, kit.config(fake_api), archive, echo=lambda _line: None, on_progress=seen.append
    )

    assert resumed == run_id
    assert _requests_by_task(fake_api) == {EXTRACT_TASK: 0, CONSOLIDATE_TASK: 3, REFINE_TASK: 3}
    run = _run_row(catalogue, run_id)
    assert (run["stage"], run["calls_done"], run["calls_total"], run["percent"]) == ("done", 10, 10, 100.0)
    summary = run["result_summary"]
    assert (summary["cache_hits"], summary["provider_calls"], summary["resume_count"]) == (4, 6, 1)
    assert [p.percent for p in seen] == sorted(p.percent for p in seen)
    # One archive folder, one index: every call file of the run (the two refused attempts included) once.
    calls = _archived_calls(archive, run_id)
    assert len(calls) == 4 + 2 + 3 + 3
    index = _indexed(catalogue, run_id)
    assert {row["file_path"] for row in index} == calls
    assert len(index) == len(calls)
    assert _stage_counts(catalogue, run_id)["final"] >= 1
    assert _snapshot(catalogue, earlier) == earlier_rows


def _snapshot(warehouse: Warehouse, run_id: str) -> list[Any]:
    return [
        _rows(warehouse, f"select * from ml.{table} where {column} = ? order by 1, 2", [run_id])
        for table, column in (
            ("product_segment_runs", "id"),
            ("product_segment_taxonomies", "run_id"),
            ("product_segment_assignments", "run_id"),
            ("product_segment_llm_interactions", "run_id"),
        )
    ]


def test_a_done_run_cannot_be_resumed(catalogue, kit, tmp_path):
    from python_jobs.llm.config import LLMConfig

    run_id = _run(catalogue, LLMConfig(provider="offline"), tmp_path / "llm")
    with pytest.raises(ProductSegmentationError, match="already done"):
        resume_run(catalogue, run_id, LLMConfig(provider="offline"), tmp_path / "llm")


# ----------------------------------------------------------------------------------- the model's mistakes


def _tampering(request_json: dict[str, Any]) -> FakeReply:
    """Valid answers with mistakes: an invented product in every answer; product 101 always left out of
    refinement, product 104 only the first time."""
    task, payload = parse_prompt(prompt_text(request_json))
    answer = offline_handlers()[task](payload)
    batch = [product["product_id"] for product in payload.get("products", [])]
    if task == EXTRACT_TASK:
        answer["assignments"].append({"product_id": 999_001, "segment": answer["segments"][0]["name"]})
    if task == REFINE_TASK:
        dropped = {101, 104} if len(batch) > 2 else {101}
        answer["assignments"] = [a for a in answer["assignments"] if a["product_id"] not in dropped]
        answer["assignments"].append({"product_id": 999_002, "segment": payload["segments"][0]["name"]})
    return FakeReply.json(answer)


def test_invented_ids_are_counted_and_left_out_products_get_one_more_try(catalogue, fake_api, kit, tmp_path):
    fake_api.responder = _tampering
    seen: list[RunProgress] = []
    run_id = _run(catalogue, kit.config(fake_api), tmp_path / "llm", ONE_BATCH, on_progress=seen.append)

    # One extraction, one refinement, and one follow-up for the two products it left out.
    assert _requests_by_task(fake_api) == {EXTRACT_TASK: 1, CONSOLIDATE_TASK: 0, REFINE_TASK: 2}
    follow_up = [r for r in fake_api.requests if request_task(r.json) == REFINE_TASK][1]
    follow_up_ids = [p["product_id"] for p in parse_prompt(prompt_text(follow_up.json))[1]["products"]]
    assert follow_up_ids == [101, 104]

    run = _run_row(catalogue, run_id)
    assert (run["stage"], run["calls_done"], run["calls_total"], run["percent"]) == ("done", 3, 3, 100.0)
    summary = run["result_summary"]
    assert summary["invented_product_ids"] == 3  # once in extraction, once in each refinement answer
    assert summary["invented_product_id_examples"] == [999_001, 999_002]
    assert (summary["refinement_left_out_products"], summary["followup_calls"]) == (2, 1)
    assert summary["unassigned_products"] == 1
    unassigned_id, _ = placeholder_ids(run_id)
    refined = {
        int(row["product_id"]): row["taxonomy_id_refined"]  # the table holds ids as text
        for row in _rows(catalogue, "select * from ml.product_segment_assignments where run_id = ?", [run_id])
    }
    assert refined[101] == unassigned_id
    assert refined[104] != unassigned_id
    assert 999_001 not in refined
    assert 999_002 not in refined
    percents = [p.percent for p in seen]
    assert percents == sorted(percents)
    assert percents[-1] == 100.0
    report = run_report(catalogue, run_id)
    assert {e["segment_name"]: e["product_count"] for e in report["taxonomies"]}["__UNASSIGNED__"] == 1


# ------------------------------------------------------------------------------------ offline, both databases


def test_offline_runs_on_each_database(warehouse, kit, tmp_path):
    from python_jobs.llm.config import LLMConfig

    kit.write_products(warehouse, kit.rows())
    run_id = _run(warehouse, LLMConfig(provider="offline"), tmp_path / "llm")
    run = _run_row(warehouse, run_id)
    assert (run["stage"], run["percent"], run["calls_done"]) == ("done", 100.0, 10)
    report = run_report(warehouse, run_id)
    assert set(report) == {"run_id", "taxonomies", "segments"}
    assert sum(entry["product_count"] for entry in report["taxonomies"]) == 10


@pytest.mark.postgres
def test_offline_results_are_the_same_on_duckdb_and_postgres(
    duckdb_warehouse, postgres_warehouse, kit, tmp_path
):
    from python_jobs.llm.config import LLMConfig

    results = []
    for number, warehouse in enumerate((duckdb_warehouse, postgres_warehouse)):
        kit.write_products(warehouse, kit.rows())
        run_id = _run(warehouse, LLMConfig(provider="offline"), tmp_path / f"llm{number}")
        report = run_report(warehouse, run_id)
        definitions = sorted((e["segment_name"], e["definition"]) for e in report["taxonomies"])
        stages = _stage_counts(warehouse, run_id)
        results.append((_by_name(report), definitions, stages))
    assert results[0] == results[1]
