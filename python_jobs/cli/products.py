"""`segments product-segmentation run|show`: the product segmentation job from the command line.

The group is registered by `python_jobs.cli`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from python_jobs.cli.options import archive_root_option, concurrency_option, target_option
from python_jobs.cli.rebuild import no_rebuild_option, rebuild_after_job
from python_jobs.warehouse.connection import Warehouse, WarehouseError
from python_jobs.warehouse.locks import writing

if TYPE_CHECKING:
    from python_jobs.product_segmentation.job import RunProgress

# python_jobs.llm.config.PROVIDERS (a test keeps the two equal). Spelled out because importing anything of the
# LLM layer loads the Anthropic SDK, and `segments` imports this module to register the group: every command,
# `segments --help` included, would pay for it. The job is imported inside the commands for the same reason.
PROVIDERS = ("anthropic", "offline")

BAR_WIDTH = 30
# Without a terminal, a plain line at most every this many percent (and at every stage change).
PLAIN_LINE_STEP = 10.0


def parse_product_ids(text: str) -> list[str]:
    """'1,2, 3', 'B07XJ8C8F5,SKU-0042-BLK' or one id per line: commas, spaces and newlines all separate (an id
    holding one of them is selected with --all); a word starting with '#' starts a comment, so 'SKU#42' is an id.
    """
    from python_jobs.product_segmentation.product_ids import id_problem

    ids = []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        for token in line.replace(",", " ").split():
            if token.startswith("#"):
                break
            problem = id_problem(token)
            if problem is not None:
                raise click.BadParameter(f"line {number}: {problem}" if len(lines) > 1 else problem)
            ids.append(token)
    return ids


def _product_ids_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str] | None:
    return None if value is None else parse_product_ids(value)


class ProgressDisplay:
    """A live bar on a terminal (rich); plain, throttled lines when the output is a file or a pipe."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self._bar: Any = None
        self._task: Any = None
        self._last_stage = ""
        self._last_step = -1.0

    def __call__(self, progress: RunProgress) -> None:
        if self.live:
            self._draw(progress)
        elif progress.stage != self._last_stage or progress.percent >= self._last_step + PLAIN_LINE_STEP:
            self.stream.write(self._line(progress) + "\n")
            self.stream.flush()
            self._last_step = progress.percent // PLAIN_LINE_STEP * PLAIN_LINE_STEP
        self._last_stage = progress.stage

    def echo(self, text: str) -> None:
        """A message line, printed above the bar while there is one."""
        if self._bar is not None:
            from rich.text import Text

            self._bar.console.print(Text(text), soft_wrap=True)
        else:
            click.echo(text)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _draw(self, progress: RunProgress) -> None:
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description:<13}"),
                BarColumn(bar_width=BAR_WIDTH),
                TaskProgressColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(progress.stage, total=100.0, detail="")
        self._bar.update(
            self._task, completed=progress.percent, description=progress.stage, detail=self._detail(progress)
        )

    @staticmethod
    def _detail(progress: RunProgress) -> str:
        return (
            f"calls {progress.calls_done}/{progress.calls_total}  "
            f"(extraction {progress.seg_batches_done}/{progress.seg_batches_total}, "
            f"merges {progress.con_batches_done}/{progress.con_batches_total}, "
            f"refinement {progress.ref_batches_done}/{progress.ref_batches_total})"
        )

    @classmethod
    def _line(cls, progress: RunProgress) -> str:
        return f"{progress.percent:5.1f}%  {progress.stage:<13} {cls._detail(progress)}"


class _RunByDefault(click.Group):
    """Options without a subcommand mean `run`: `segments product-segmentation --category X --all` runs the
    job, as the design spells it, and `segments product-segmentation show RUN_ID` shows a run."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0].startswith("-") and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("product-segmentation", cls=_RunByDefault)
def product_segmentation_group() -> None:
    """LLM product segmentation: market segments of a category, and every product placed in one.

    `segments product-segmentation --category "Dimmer Switches" --all` is short for `... run --category ...`.
    `run` asks the LLM (or, without an API key, the deterministic offline provider) in three phases:
    extraction per batch of products, pair-wise consolidation of the batch taxonomies, and refinement of every
    product against the final taxonomy. Every prompt and answer is archived; identical calls are answered from
    the archive, across runs.
    """


@product_segmentation_group.command("run")
@click.option("--category", help="The category to segment, e.g. 'Dimmer Switches' (not with --resume).")
@click.option(
    "--product-ids",
    callback=_product_ids_option,
    help="Comma-separated product ids: 1,2,3 or B07XJ8C8F5,SKU-42.",
)
@click.option(
    "--product-ids-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of product ids (one per line, or comma-separated).",
)
@click.option("--all", "all_products", is_flag=True, help="Every product of the category in raw.products.")
@click.option(
    "--provider",
    type=click.Choice(PROVIDERS),
    help="anthropic (needs ANTHROPIC_API_KEY) or offline; default: anthropic when the key is set.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=40,
    show_default=True,
    help="Products per extraction call (a resumed run keeps its own).",
)
@click.option(
    "--refine-batch-size",
    type=click.IntRange(min=1),
    default=40,
    show_default=True,
    help="Products per refinement call (a resumed run keeps its own).",
)
@click.option("--model", help="Model name for the anthropic provider.")
@concurrency_option
@click.option("--resume", "resume_run_id", help="Continue this run (one that did not reach `done`).")
@archive_root_option
@no_rebuild_option
@target_option
def run_command(
    category: str | None,
    product_ids: list[str] | None,
    product_ids_file: Path | None,
    all_products: bool,
    provider: str | None,
    batch_size: int,
    refine_batch_size: int,
    model: str | None,
    concurrency: int | None,
    resume_run_id: str | None,
    archive_root: Path,
    no_rebuild: bool,
    target: str,
) -> None:
    """Segment the products of a category (by id, from a file, or --all); or --resume a run.

    Then rebuilds the dbt models downstream of the job's tables (product_segments, product_segment_summary) so
    the marts follow the run, unless --no-rebuild.
    """
    from python_jobs.llm.config import LLMConfig, LLMConfigError
    from python_jobs.product_segmentation.job import (
        ProductSegmentationError,
        SegmentationParams,
        resume_run,
        start_run,
    )

    selected = _selected_products(category, product_ids, product_ids_file, all_products, resume_run_id)
    warehouse = Warehouse.from_profile(target)
    if resume_run_id is not None:
        provider, model = _stored_provider(warehouse, resume_run_id, provider, model)
    try:
        config = LLMConfig.from_environment(provider, model=model, max_concurrency=concurrency)
    except LLMConfigError as error:
        raise click.UsageError(str(error)) from None
    display = ProgressDisplay()
    try:
        with writing(warehouse, "segments product-segmentation run"):
            if resume_run_id is not None:
                run_id = resume_run(
                    warehouse, resume_run_id, config, archive_root, echo=display.echo, on_progress=display
                )
            else:
                assert category is not None  # _selected_products insists on it
                run_id = start_run(
                    warehouse,
                    category,
                    selected,
                    config,
                    SegmentationParams(batch_size=batch_size, refine_batch_size=refine_batch_size),
                    archive_root,
                    echo=display.echo,
                    on_progress=display,
                )
    except (ProductSegmentationError, WarehouseError) as error:
        display.finish()
        raise click.ClickException(str(error)) from None
    display.finish()
    if not no_rebuild:
        from python_jobs.warehouse.ml_tables import ML_SCHEMA, PRODUCT_SEGMENTATION_TABLES

        with writing(warehouse, "segments product-segmentation run"):
            rebuild_after_job(warehouse, schema=ML_SCHEMA, tables=PRODUCT_SEGMENTATION_TABLES)
    click.echo(f"See it with: segments product-segmentation show {run_id}" + _target_suffix(target))
    click.echo(run_id)


def _selected_products(
    category: str | None,
    product_ids: list[str] | None,
    product_ids_file: Path | None,
    all_products: bool,
    resume_run_id: str | None,
) -> list[str] | None:
    """The product ids to segment (None: the whole category), after checking the options fit together."""
    chosen = sum([product_ids is not None, product_ids_file is not None, all_products])
    if resume_run_id is not None:
        if chosen or category:
            raise click.UsageError(
                "--resume continues a run with its own category and products; give neither"
            )
        return None
    if not category:
        raise click.UsageError("--category is required (or --resume RUN_ID)")
    if chosen != 1:
        raise click.UsageError("give exactly one of --product-ids, --product-ids-file and --all")
    if product_ids_file is not None:
        try:
            product_ids = parse_product_ids(product_ids_file.read_text(encoding="utf-8"))
        except click.BadParameter as error:
            raise click.BadParameter(
                f"{product_ids_file}: {error.message}", param_hint="'--product-ids-file'"
            ) from None
    if product_ids is not None and not product_ids:
        raise click.UsageError("no product ids were given")
    return product_ids


def _stored_provider(
    warehouse: Warehouse, run_id: str, provider: str | None, model: str | None
) -> tuple[str | None, str | None]:
    """A resumed run keeps its provider and model unless told otherwise: they are part of every cache key."""
    from python_jobs.product_segmentation import tables

    with warehouse.session(read_only=True) as session:
        run = tables.fetch_run(session, run_id)
    stored = (run or {}).get("llm_config") or {}
    provider = provider or stored.get("provider")
    if model is None and provider == "anthropic" and stored.get("provider") == "anthropic":
        model = stored.get("model")
    return provider, model


def _target_suffix(target: str) -> str:
    return "" if target == "local" else f" --target {target}"


@product_segmentation_group.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="The taxonomy and the product list as JSON.")
@target_option
def show_command(run_id: str, as_json: bool, target: str) -> None:
    """A run's segments (final, out of scope, unassigned) with product counts, and each product's segment."""
    from python_jobs.product_segmentation.show import RunNotFoundError, format_report, run_header, run_report

    warehouse = Warehouse.from_profile(target)
    try:
        report = run_report(warehouse, run_id)
        if as_json:
            click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            click.echo(format_report(report, run_header(warehouse, run_id)))
    except (RunNotFoundError, WarehouseError) as error:
        raise click.ClickException(str(error)) from None
