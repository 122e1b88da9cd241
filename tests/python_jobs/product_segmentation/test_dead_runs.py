"""A run whose process is killed: SIGKILL mid-run, with a real job process against the fake Messages API.

Nothing in the process can react to SIGKILL, so what the table says at that moment is what the writer had
committed: it must trail the archive by at most PROGRESS_LAG_SECONDS. The next command that looks at the run
marks it `abandoned` (its pid is gone), and `--resume` still continues it, paying only for what is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from python_jobs.llm.config import LLMConfig
from python_jobs.product_segmentation.job import resume_run, start_run
from python_jobs.product_segmentation.progress import PROGRESS_LAG_SECONDS
from python_jobs.product_segmentation.runs import mark_abandoned_runs
from python_jobs.product_segmentation.show import format_report, run_header, run_report
from python_jobs.testing.fake_messages_api import FakeMessagesAPI
from python_jobs.testing.product_responders import paced_offline_responder
from python_jobs.warehouse.connection import Warehouse

PRODUCTS = 60
# batches of 3: 20 extraction calls, 19 merges, 15 refinement calls = 54 calls at 0.15 s, 2 at a time.
DELAY = 0.15
KILL_AFTER_CALLS = 24

_JOB = """
import sys
from python_jobs.llm.config import LLMConfig
from python_jobs.product_segmentation.job import SegmentationParams, start_run
from python_jobs.warehouse.connection import Warehouse

target, base_url, archive = sys.argv[1:4]
config = LLMConfig(provider="anthropic", model="claude-test", base_url=base_url, max_concurrency=2)
start_run(
    Warehouse.from_profile(target), "Dimmer Switches", None, config,
    SegmentationParams(batch_size=3, refine_batch_size=4), archive, echo=lambda line: None,
)
"""


def _products(count: int) -> list[dict[str, Any]]:
    kinds = ("Rotary dimmer knob", "Slide dimmer slider", "Smart Wi-Fi dimmer app", "Z-Wave dimmer hub")
    return [
        {
            "product_id": i,
            "title": f"{kinds[i % 4]} {i}",
            "category": "Dimmer Switches",
            "brand": "Acme",
            "price": 10.0 + i,
            "description": f"{kinds[i % 4]} dimmer switch, model {i}.",
        }
        for i in range(1, count + 1)
    ]


def _completed_calls(archive: Path) -> list[dt.datetime]:
    """When each call the archive holds a valid answer for was archived."""
    times = []
    for path in archive.glob("product_segmentation/*/*/*.json"):
        if path.parent.name not in ("extraction", "consolidation", "refinement"):
            continue
        try:
            metadata = json.loads(path.read_text())["metadata"]
        except (ValueError, KeyError):
            continue  # being written at the moment of the kill
        if metadata.get("valid"):
            times.append(dt.datetime.fromisoformat(metadata["timestamp"].replace("Z", "+00:00")))
    return times


def _run_row(warehouse: Warehouse) -> dict[str, Any]:
    with warehouse.session() as session:
        [row] = session.fetch_arrow("select * from ml.product_segment_runs").to_pylist()
    return row


@pytest.mark.postgres
def test_a_killed_run_is_behind_by_at_most_the_promise_then_abandoned_then_resumed(
    warehouse, kit, monkeypatch, tmp_path
):
    kit.write_products(warehouse, _products(PRODUCTS))
    archive = tmp_path / "llm"
    target = "local" if warehouse.kind == "duckdb" else "postgres"
    monkeypatch.setenv("ANTHROPIC_API_KEY", kit.api_key)
    with FakeMessagesAPI(paced_offline_responder(DELAY), require_output_schema=True) as api:
        job = subprocess.Popen([sys.executable, "-c", _JOB, target, api.base_url, str(archive)])
        try:
            deadline = time.monotonic() + 60
            while len(_completed_calls(archive)) < KILL_AFTER_CALLS and time.monotonic() < deadline:
                assert job.poll() is None, "the job ended before it could be killed"
                time.sleep(0.02)
            killed_at = dt.datetime.now(dt.UTC)
            os.kill(job.pid, signal.SIGKILL)
            job.wait(timeout=10)
        finally:
            if job.poll() is None:
                job.kill()

        # What the table said at the kill: every call answered more than the promise before it is counted.
        completed = _completed_calls(archive)
        row = _run_row(warehouse)
        run_id = row["id"]
        assert row["stage"] in ("extraction", "consolidation", "refinement")
        promised = sum(1 for at in completed if at <= killed_at - dt.timedelta(seconds=PROGRESS_LAG_SECONDS))
        # (calls_done may count more: a merge whose prompt an earlier merge of the run already sent is answered
        # from the cache, without a file of its own.)
        assert row["calls_done"] >= promised > 0, (row["calls_done"], promised, len(completed))
        assert row["owner_pid"] == job.pid

        # The next look marks it abandoned, with the reason; `show` says so.
        header = run_header(warehouse, run_id)
        assert header["stage"] == "abandoned"
        assert header["result_summary"]["reason"] == "abandoned"
        assert f"pid {job.pid}" in header["result_summary"]["message"]
        shown = format_report(run_report(warehouse, run_id), header)
        assert f"stage abandoned, {header['percent']:.1f}%" in shown
        assert f"--resume {run_id}" in shown

        # Resume pays only for the calls that were not answered before the kill.
        api.reset()
        config = LLMConfig(
            provider="anthropic", model="claude-test", base_url=api.base_url, max_concurrency=2
        )
        assert resume_run(warehouse, run_id, config, archive, echo=lambda _line: None) == run_id
        done = _run_row(warehouse)
        assert (done["stage"], done["calls_done"], done["percent"]) == ("done", done["calls_total"], 100.0)
        summary = json.loads(done["result_summary"])
        assert summary["cache_hits"] >= len(completed), (
            "an answer received before the kill was paid for again"
        )
        assert api.request_count == summary["provider_calls"] <= done["calls_total"] - len(completed)


def test_a_live_run_is_not_abandoned_and_cannot_be_resumed_under_it(catalogue, kit, tmp_path):
    """Our own process is alive: the run it owns stays as it is, and resuming it is refused."""
    run_id = start_run(catalogue, kit.category, None, LLMConfig(provider="offline"), None, tmp_path / "llm",
                       echo=lambda _line: None)  # fmt: skip
    with catalogue.session() as session:
        session.execute("update ml.product_segment_runs set stage = 'refinement' where id = ?", [run_id])
    assert mark_abandoned_runs(catalogue) == {}
    assert run_header(catalogue, run_id)["stage"] == "refinement"
    from python_jobs.product_segmentation.job import ProductSegmentationError

    with pytest.raises(ProductSegmentationError, match="still running"):
        resume_run(catalogue, run_id, LLMConfig(provider="offline"), tmp_path / "llm")


def test_offline_tokens_are_labelled_estimates(catalogue, kit, tmp_path):
    seen = []
    run_id = start_run(catalogue, kit.category, None, LLMConfig(provider="offline"), None, tmp_path / "llm",
                       echo=lambda _line: None, on_progress=seen.append)  # fmt: skip
    header = run_header(catalogue, run_id)
    summary = header["result_summary"]
    assert header["tokens_estimated"] is True
    assert (summary["input_tokens"], summary["output_tokens"]) == (0, 0), "estimates counted as measured"
    assert summary["estimated_input_tokens"] > 0
    assert summary["estimated_output_tokens"] > 0
    estimated = summary["estimated_input_tokens"] + summary["estimated_output_tokens"]
    shown = format_report(run_report(catalogue, run_id), header)
    assert f"≈ {estimated:,} tokens (estimated)" in shown.splitlines()[0]
    assert seen[-1].tokens_label() == f"≈ {estimated:,} tokens (estimated)"
    with catalogue.session() as session:
        rows = session.fetch_arrow(
            "select input_tokens, tokens_estimated from ml.product_segment_llm_interactions where run_id = ?",
            [run_id],
        ).to_pylist()
    assert rows
    assert all(row["tokens_estimated"] is True and row["input_tokens"] > 0 for row in rows)
