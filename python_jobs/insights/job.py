"""The `explain_segments` job: an actionability verdict and an explanation for every segment of the latest
clustering run, through the LLM layer (the Anthropic API with a key, the offline rules without one).

One call per segment, all in flight together under the client's concurrency limit; every attempt archived under
`<archive root>/segment_insights/<run_id>/`; answers cached across runs, so a segment whose aggregates have not
changed costs no call on the next build. The run row and every insight row are written in ONE transaction at
the end; a failure writes a `failed` run row of its own and leaves the previous insights in force.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from python_jobs.insights import prompts
from python_jobs.insights.inputs import SegmentFacts, read_segment_facts
from python_jobs.insights.offline import OFFLINE_HANDLERS, OFFLINE_MODEL
from python_jobs.insights.tables import INSIGHT_TABLES, INSIGHTS_TABLE, RUNS_TABLE
from python_jobs.llm.archive import LocalArchiveStorage
from python_jobs.llm.client import LLMCall, LLMClient
from python_jobs.llm.config import LLMConfig
from python_jobs.llm.providers import LLMProvider, LLMRequest, make_provider
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.ml_tables import ML_SCHEMA

if TYPE_CHECKING:
    from python_jobs.warehouse.jobs import JobContext

JOB_NAME = "explain_segments"
ARCHIVE_FOLDER = "segment_insights"
# Where the archive (and so the cache) lives when the build runs the job: `llm_logs/` of the working directory.
ARCHIVE_ROOT_ENV = "SEGMENTS_LLM_ARCHIVE"
DEFAULT_ARCHIVE_ROOT = Path("llm_logs")
PHASE = "explain"
_UNSAFE_LABEL = re.compile(r"[^A-Za-z0-9_-]+")

Echo = Callable[[str], None]


@dataclass(frozen=True)
class ExplainedSegment:
    segment: SegmentFacts
    call: LLMCall


def job_config(config: LLMConfig) -> LLMConfig:
    """`config` with this job's offline rules named as the offline model (answers are cached under it)."""
    return dataclasses.replace(config, offline_model=OFFLINE_MODEL)


def archive_root_from_environment() -> Path:
    return Path(os.environ.get(ARCHIVE_ROOT_ENV) or DEFAULT_ARCHIVE_ROOT)


def new_run_id(started_at: dt.datetime) -> str:
    """`insights_<UTC start>_<8 hex>`: sortable by time and unique."""
    return f"insights_{started_at.astimezone(dt.UTC):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}"


def request_for(segment: SegmentFacts) -> LLMRequest:
    return LLMRequest(
        task=prompts.TASK,
        system=prompts.SYSTEM,
        prompt=prompts.prompt_for(segment.facts),
        output_model=prompts.SegmentInsight,
        schema_version=prompts.SCHEMA_VERSION,
        payload=segment.facts,
    )


def batch_label(segment: SegmentFacts) -> str:
    """`<axis>__<segment>` as a safe archive label."""
    return _UNSAFE_LABEL.sub("-", f"{segment.key.axis_name}__{segment.key.segment_name}")[:120]


async def explain_all(client: LLMClient, segments: Sequence[SegmentFacts]) -> list[ExplainedSegment]:
    """One call per segment, all at once: the client keeps `max_concurrency` of them in flight."""

    async def explain(segment: SegmentFacts) -> ExplainedSegment:
        call = await client.call(
            request_for(segment), phase=PHASE, batch_label=batch_label(segment), product_ids=[]
        )
        return ExplainedSegment(segment, call)

    client.write_prompt_template(prompts.TASK, prompts.TEMPLATE)
    return list(await asyncio.gather(*(explain(segment) for segment in segments)))


def run_explanations(
    config: LLMConfig,
    segments: Sequence[SegmentFacts],
    run_id: str,
    archive_root: Path | str,
    provider: LLMProvider | None = None,
) -> list[ExplainedSegment]:
    """Explain `segments` under `run_id`'s archive folder (no warehouse involved: the benchmark runs this)."""
    config = job_config(config)
    provider = provider or make_provider(config, OFFLINE_HANDLERS)
    storage = LocalArchiveStorage(Path(archive_root))

    async def scenario() -> list[ExplainedSegment]:
        async with LLMClient(config, provider, storage, run_id, f"{ARCHIVE_FOLDER}/{run_id}") as client:
            return await explain_all(client, segments)

    return asyncio.run(scenario())


def explain_segments(
    warehouse: Warehouse,
    config: LLMConfig,
    archive_root: Path | str = DEFAULT_ARCHIVE_ROOT,
    echo: Echo = print,
    dbt_vars: dict[str, Any] | None = None,
) -> str | None:
    """Explain every segment of the latest clustering run; returns the run id (None when there is nothing)."""
    config = job_config(config)
    provider = make_provider(config, OFFLINE_HANDLERS)  # before anything is written: a missing key stops here
    inputs = read_segment_facts(warehouse, dbt_vars)
    if not inputs.segments:
        echo(
            "Segment insights: no segments to explain yet (marts.segment_summary is missing or empty; "
            "run `segments build`)."
        )
        return None
    started_at = _utc_now()
    run_id = new_run_id(started_at)
    echo(
        f"Segment insights run {run_id}: {len(inputs.segments)} segments of clustering run "
        f"{inputs.segmentation_run_id}, {config.provider} ({config.effective_model})"
    )
    try:
        explained = run_explanations(config, inputs.segments, run_id, archive_root, provider)
        run_row = _run_row(run_id, started_at, inputs.segmentation_run_id, config, explained)
        rows = [
            _insight_row(run_id, inputs.segmentation_run_id, config, item, _utc_now()) for item in explained
        ]
        with warehouse.session() as session:
            _create_tables(session)
            session.append_table(
                ML_SCHEMA, RUNS_TABLE, pa.Table.from_pylist([run_row], INSIGHT_TABLES[RUNS_TABLE])
            )
            session.append_table(
                ML_SCHEMA, INSIGHTS_TABLE, pa.Table.from_pylist(rows, INSIGHT_TABLES[INSIGHTS_TABLE])
            )
    except Exception as error:
        _record_failure(warehouse, run_id, started_at, inputs.segmentation_run_id, config, error, echo)
        raise
    actionable = sum(row["is_actionable"] for row in rows)
    echo(
        f"  {len(rows)} segments explained, {actionable} actionable; {run_row['provider_calls']} LLM calls, "
        f"{run_row['cache_hits']} answered from the cache"
    )
    return run_id


def run_job(context: JobContext) -> str | None:
    """Entry point for the build orchestrator: the provider the environment gives (offline without a key)."""
    return explain_segments(
        context.warehouse,
        LLMConfig.from_environment(),
        archive_root_from_environment(),
        echo=context.echo,
        dbt_vars=context.dbt_vars,
    )


def _create_tables(session: Any) -> None:
    session.ensure_schema(ML_SCHEMA)
    for name, schema in INSIGHT_TABLES.items():
        if not session.table_exists(ML_SCHEMA, name):
            session.create_table(ML_SCHEMA, name, schema)


def _run_row(
    run_id: str,
    started_at: dt.datetime,
    segmentation_run_id: str | None,
    config: LLMConfig,
    explained: Sequence[ExplainedSegment],
) -> dict[str, Any]:
    calls = [item.call for item in explained]
    return {
        "run_id": run_id,
        "started_at": started_at,
        "finished_at": _utc_now(),
        "status": "succeeded",
        "segmentation_run_id": segmentation_run_id,
        "llm_config": json.dumps(config.public_dict(), sort_keys=True),
        "segments": len(calls),
        "provider_calls": sum(call.attempt for call in calls if not call.cache_hit),
        "cache_hits": sum(call.cache_hit for call in calls),
        "input_tokens": sum(call.input_tokens for call in calls),
        "output_tokens": sum(call.output_tokens for call in calls),
        "tokens_estimated": any(call.tokens_estimated for call in calls) or config.provider == "offline",
        "error_message": None,
    }


def _insight_row(
    run_id: str,
    segmentation_run_id: str | None,
    config: LLMConfig,
    item: ExplainedSegment,
    now: dt.datetime,
) -> dict[str, Any]:
    answer = item.call.parsed
    assert isinstance(answer, prompts.SegmentInsight)
    key = item.segment.key
    return {
        "run_id": run_id,
        "segmentation_run_id": segmentation_run_id,
        "axis_name": key.axis_name,
        "segment_id": key.segment_id,
        "segment_name": key.segment_name,
        "is_clustered": key.is_clustered,
        "what_score": answer.what_score,
        "when_score": answer.when_score,
        "how_score": answer.how_score,
        "who_score": answer.who_score,
        "is_actionable": prompts.is_actionable(answer.scores(), is_clustered=key.is_clustered),
        "actionability_reason": answer.actionability_reason,
        "executive_summary": answer.executive_summary,
        "recommendations": json.dumps([r.model_dump() for r in answer.recommendations], ensure_ascii=False),
        "expected_roi": answer.expected_roi,
        "expected_roi_assumption": answer.expected_roi_assumption,
        "confidence": answer.confidence,
        "confidence_reason": answer.confidence_reason,
        "is_offline": config.provider == "offline",
        "llm_model": config.effective_model,
        "cache_hit": item.call.cache_hit,
        "archive_file": item.call.file_path,
        "explained_at": now,
    }


def _record_failure(
    warehouse: Warehouse,
    run_id: str,
    started_at: dt.datetime,
    segmentation_run_id: str | None,
    config: LLMConfig,
    error: Exception,
    echo: Echo,
) -> None:
    """A `failed` run row in a transaction of its own; if even that fails, say so and keep the first error."""
    row = dict.fromkeys(INSIGHT_TABLES[RUNS_TABLE].names)
    row.update(
        run_id=run_id,
        started_at=started_at,
        finished_at=_utc_now(),
        status="failed",
        segmentation_run_id=segmentation_run_id,
        llm_config=json.dumps(config.public_dict(), sort_keys=True),
        error_message=f"{type(error).__name__}: {error}"[:2000],
    )
    try:
        with warehouse.session() as session:
            _create_tables(session)
            session.append_table(
                ML_SCHEMA, RUNS_TABLE, pa.Table.from_pylist([row], INSIGHT_TABLES[RUNS_TABLE])
            )
    except Exception as marking_error:
        echo(f"  could not record the failure of run {run_id}: {marking_error}")
    echo(f"Segment insights run {run_id} failed: {error}")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
