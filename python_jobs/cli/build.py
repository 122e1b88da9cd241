"""`segments build`, `demo` and `dbt`: the whole DAG, a first look, and dbt itself through dbt-py."""

from __future__ import annotations

import sys
import time

import click

from python_jobs.cli.data import generate_data
from python_jobs.cli.options import observation_end_callback, target_option
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.locks import writing

DEMO_CUSTOMERS = 3_000


@click.command()
@click.option(
    "--observation-end",
    callback=observation_end_callback,
    help="Compute profiles as of this date (YYYY-MM-DD). Default: the last order date in the data (never "
    "after the load time). Refused when before the first order; a warning when over a year after the last.",
)
@click.option("--verbose", "-v", is_flag=True, help="Print dbt's own lines too (one per model and test).")
@target_option
def build(observation_end: str | None, verbose: bool, target: str) -> None:
    """Run the whole DAG: dbt models and tests, and the Python jobs between them.

    The order comes from dbt's manifest: tables a job writes are sources whose meta names the job, models it
    reads are `ml` exposures. Prints one progress line per step (a live line on a terminal), the warnings
    and errors that matter, and a summary; exits non-zero if a step fails.

    Waits up to $SEGMENTS_LOCK_TIMEOUT seconds (default 60) for another command writing the same warehouse.
    $SEGMENTS_BOOTSTRAP_RESAMPLES (default 10) sets the clustering job's bootstrap resamples per axis: fewer
    is quicker and measures segment stability less precisely.
    """
    _build(observation_end, target, verbose=verbose)


def _build(observation_end: str | None, target: str, *, verbose: bool = False) -> None:
    from python_jobs.warehouse.build import format_report, run_build
    from python_jobs.warehouse.observation_end import ObservationEndError, check_observation_end

    started = time.perf_counter()
    terminal = sys.stdout.isatty()
    try:  # refused before the lock and before any step: nothing is rebuilt
        check_observation_end(Warehouse.from_profile(target), observation_end)
    except ObservationEndError as error:
        raise click.ClickException(str(error)) from None
    with writing(Warehouse.from_profile(target), "segments build"):
        if terminal:
            from rich.console import Console

            from python_jobs.cli.build_display import LiveProgress, render_report

            console = Console()
            report = run_build(
                target, observation_end=observation_end, progress=LiveProgress(console), verbose=verbose
            )
            render_report(report, console)
        else:
            report = run_build(target, observation_end=observation_end, echo=click.echo, verbose=verbose)
            click.echo(format_report(report))
    click.echo(f"Total {time.perf_counter() - started:.1f}s.")
    if not report.ok:
        sys.exit(1)


@click.command()
@click.option("--customers", type=click.IntRange(min=100), default=DEMO_CUSTOMERS, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@target_option
@click.option("--verbose", "-v", is_flag=True, help="Print dbt's own lines too (one per model and test).")
def demo(customers: int, seed: int, target: str, verbose: bool) -> None:
    """Generate a small demo data set and build everything on it."""
    with writing(Warehouse.from_profile(target), "segments demo"):
        generate_data(customers, seed, target)
        _build(None, target, verbose=verbose)


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
@target_option
def dbt(dbt_args: tuple[str, ...], target: str) -> None:
    """Run any dbt command through dbt-py with this project's profile, e.g. `segments dbt -- docs generate`."""
    from python_jobs.warehouse.dbt_runner import run_dbt

    with writing(Warehouse.from_profile(target), "segments dbt"):
        run = run_dbt(list(dbt_args), target=target, echo=click.echo)
    sys.exit(run.returncode)
