"""`segments run explain-segments` and `segments bench-insights`: segment insights on their own, and their benchmark."""

from __future__ import annotations

from pathlib import Path

import click

from python_jobs.cli.options import target_option
from python_jobs.cli.rebuild import no_rebuild_option, rebuild_after_job
from python_jobs.llm.config import PROVIDERS
from python_jobs.warehouse.connection import Warehouse, WarehouseError
from python_jobs.warehouse.locks import writing


@click.command("explain-segments")
@click.option(
    "--provider",
    type=click.Choice(PROVIDERS),
    help="anthropic (needs ANTHROPIC_API_KEY) or offline; default: anthropic when the key is set.",
)
@click.option("--model", help="Model name for the anthropic provider.")
@click.option("--concurrency", type=click.IntRange(min=1), help="LLM calls in flight at once (default 4).")
@click.option(
    "--archive-root",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where prompts and answers are archived and the cache lives [default: $SEGMENTS_LLM_ARCHIVE or llm_logs].",
)
@no_rebuild_option
@target_option
def explain_segments_command(
    provider: str | None,
    model: str | None,
    concurrency: int | None,
    archive_root: Path | None,
    no_rebuild: bool,
    target: str,
) -> None:
    """Score and explain every segment of the latest clustering run (WHAT, WHEN, HOW, WHO; verdict, summary,
    campaigns, ROI, confidence), from aggregates only. Segments whose aggregates did not change come from the
    cache. Then rebuilds marts.segment_insights, unless --no-rebuild."""
    from python_jobs.insights.job import JOB_NAME, archive_root_from_environment, explain_segments
    from python_jobs.llm import LLMConfig, LLMConfigError, LLMError

    try:
        config = LLMConfig.from_environment(provider, model=model, max_concurrency=concurrency)
    except LLMConfigError as error:
        raise click.UsageError(str(error)) from None
    warehouse = Warehouse.from_profile(target)
    try:
        with writing(warehouse, "segments run explain-segments"):
            run_id = explain_segments(
                warehouse, config, archive_root or archive_root_from_environment(), echo=click.echo
            )
    except (LLMError, WarehouseError) as error:
        raise click.ClickException(str(error)) from None
    if run_id is not None and not no_rebuild:
        rebuild_after_job(warehouse, job=JOB_NAME)


@click.command("bench-insights")
@click.option("--axes", type=click.IntRange(min=1), default=13, show_default=True)
@click.option("--segments-per-axis", type=click.IntRange(min=1), default=6, show_default=True)
@click.option(
    "--latency",
    type=click.FloatRange(min=0),
    default=0.2,
    show_default=True,
    help="Seconds the fake API takes per call.",
)
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=4, show_default=True, help="Calls in flight at once."
)
def bench_insights_command(axes: int, segments_per_axis: int, latency: float, concurrency: int) -> None:
    """Explain every segment of a synthetic run against the fake Messages API: calls = segments, wall time
    against the ideal schedule (ceil(segments / concurrency) x latency), then a second run that must make 0 calls."""
    from python_jobs.bench.insights import bench

    report = bench(axes, segments_per_axis, latency, concurrency)
    click.echo(report.describe())
    if not report.passed:
        raise click.ClickException("the insights benchmark missed its targets (see above)")
