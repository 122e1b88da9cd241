"""The `segments` command line."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import click

from python_jobs.cli_options import target_option
from python_jobs.warehouse import Warehouse, WarehouseError

DEMO_CUSTOMERS = 3_000


def _observation_end(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Segment Warehouse: raw commerce data in, customer profiles and segments out.

    Typical use: `segments demo` for a first look, or `segments generate` / `segments load-transactions`
    followed by `segments build`.
    """


@main.command()
@click.option("--customers", type=click.IntRange(min=1), required=True, help="Number of customers.")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed; same seed, same data.")
@target_option
def generate(customers: int, seed: int, target: str) -> None:
    """Write deterministic synthetic commerce data into schema `raw`.

    Customers are drawn from behaviour archetypes (VIP loyalists, deal hunters, one-time buyers, seasonal
    gifters, churning regulars, support-heavy buyers, steady regulars), with merged duplicate accounts (chains
    and a few loops), orders and lines, web events and support tickets. All raw tables are replaced in one
    transaction.
    """
    _generate(customers, seed, target)


def _generate(customers: int, seed: int, target: str) -> None:
    from python_jobs.generate import generate_raw_tables, write_raw_tables

    warehouse = Warehouse.from_profile(target)
    started = time.perf_counter()
    click.echo(f"Generating {customers:,} customers (seed {seed})…")
    tables = generate_raw_tables(customers, seed=seed)
    click.echo(f"  generated in {time.perf_counter() - started:.1f}s; writing to {warehouse.describe()}…")
    counts = write_raw_tables(warehouse, tables)
    for name, count in counts.items():
        click.echo(f"  raw.{name:<20} {count:>12,} rows")
    click.echo(f"Done in {time.perf_counter() - started:.1f}s.")


@main.command("load-transactions")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--customer-col", required=True, help="Column holding the customer id.")
@click.option("--date-col", required=True, help="Column holding the transaction date or time.")
@click.option("--amount-col", required=True, help="Column holding the amount paid.")
@click.option("--order-col", help="Column holding the order id; lines sharing it make one order.")
@click.option("--quantity-col", help="Column holding the quantity (1 when absent).")
@click.option(
    "--date-format",
    help="strptime format of the dates, e.g. '%d/%m/%Y %H:%M'. Default: ISO 8601. Times without a zone are UTC.",
)
@click.option("--delimiter", default=",", show_default=True, help="Field delimiter.")
@target_option
def load_transactions(
    file: Path,
    customer_col: str,
    date_col: str,
    amount_col: str,
    order_col: str | None,
    quantity_col: str | None,
    date_format: str | None,
    delimiter: str,
    target: str,
) -> None:
    """Load a transactions CSV (a real shop export) into the raw orders, replacing what was there.

    The file is checked whole first: a missing column, an unparseable date or amount or an empty customer id
    refuses it with the file, line and column named, and nothing is written. Then `segments build`.
    """
    from python_jobs.load_transactions import (
        LoadError,
        TransactionColumns,
        read_transactions,
        write_transactions,
    )

    columns = TransactionColumns(customer_col, date_col, amount_col, order_col, quantity_col)
    try:
        tables = read_transactions(file, columns, date_format=date_format, delimiter=delimiter)
    except LoadError as error:
        raise click.ClickException(f"refused: {error}. Nothing was loaded.") from None
    counts = write_transactions(Warehouse.from_profile(target), tables)
    click.echo(
        f"Loaded {tables['order_items'].num_rows:,} lines as {tables['orders'].num_rows:,} orders "
        f"from {file} into raw.orders and raw.order_items."
    )
    others = {name: count for name, count in counts.items() if name not in tables and count}
    if others:
        kept = ", ".join(f"raw.{name} ({count:,} rows)" for name, count in others.items())
        click.echo(f"Kept as they were: {kept}.")


@main.command()
@click.option(
    "--observation-end",
    callback=_observation_end,
    help="Compute profiles as of this date (YYYY-MM-DD). Default: the last order date in the data.",
)
@target_option
def build(observation_end: str | None, target: str) -> None:
    """Run the whole DAG: dbt models and tests, and the Python jobs between them.

    The order comes from dbt's manifest: tables a job writes are sources whose meta names the job, models it
    reads are `ml` exposures. Prints each step's progress and a summary; exits non-zero if a step fails.
    """
    _build(observation_end, target)


def _build(observation_end: str | None, target: str) -> None:
    from python_jobs.orchestrate import format_report, run_build

    started = time.perf_counter()
    report = run_build(target, observation_end=observation_end, echo=click.echo)
    click.echo(format_report(report))
    click.echo(f"Total {time.perf_counter() - started:.1f}s.")
    if not report.ok:
        sys.exit(1)


@main.command()
@click.option("--customers", type=click.IntRange(min=100), default=DEMO_CUSTOMERS, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@target_option
def demo(customers: int, seed: int, target: str) -> None:
    """Generate a small demo data set and build everything on it."""
    _generate(customers, seed, target)
    _build(None, target)


@main.group("run")
def run_group() -> None:
    """Run one Python job on its own (`segments build` runs them all, in DAG order)."""


@run_group.command("cluster-customers")
@click.option(
    "--sample-size",
    type=click.IntRange(min=10),
    default=20_000,
    show_default=True,
    help="Customers in the stratified sample the axes are fitted on (everyone when fewer).",
)
@click.option(
    "--k-min", type=click.IntRange(min=2), default=2, show_default=True, help="Fewest segments per axis."
)
@click.option(
    "--k-max",
    type=click.IntRange(min=2, max=6),
    default=6,
    show_default=True,
    help="Most segments per axis (at most 6: the naming ladders have room for six).",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of every random choice.")
@click.option(
    "--bootstrap-resamples",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Bootstrap resamples for the stability of each segment.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Parallel processes (axes are fitted in parallel, one BLAS/OpenMP thread each).",
)
@target_option
def cluster_customers_command(
    sample_size: int, k_min: int, k_max: int, seed: int, bootstrap_resamples: int, workers: int, target: str
) -> None:
    """Fit k-means per behavioural axis on a stratified sample of marts.customer_features.

    Writes centroids, scaling, chosen k, silhouettes, segment names and robustness to schema `ml` in one
    transaction tagged with a run id. Then `segments build` (or `segments dbt -- build -s source:ml+`) places
    every customer in SQL.
    """
    from python_jobs.segmentation.job import ClusteringParameters, cluster_customers

    if k_min > k_max:
        raise click.BadParameter(f"--k-min {k_min} is larger than --k-max {k_max}", param_hint="--k-min")
    params = ClusteringParameters(
        sample_size=sample_size,
        k_min=k_min,
        k_max=k_max,
        seed=seed,
        bootstrap_resamples=bootstrap_resamples,
        workers=workers,
    )
    run_id = cluster_customers(Warehouse.from_profile(target), params, echo=click.echo)
    click.echo(f"Run {run_id} succeeded.")


@main.command()
@click.option("--customer-id", required=True, help="The customer (any of their merged account ids works).")
@target_option
def assign(customer_id: str, target: str) -> None:
    """Print one customer's segment memberships as JSON.

    Reads marts.customer_segments when it holds the customer; otherwise places the customer from their row in
    marts.customer_features and the centroids of the latest succeeded clustering run, exactly as the SQL
    assignment would, so a customer whose features were just rebuilt is placed without re-running the job.
    """
    import json

    from python_jobs.segmentation.lookup import CustomerNotFoundError, lookup_memberships

    try:
        memberships = lookup_memberships(Warehouse.from_profile(target), customer_id)
    except CustomerNotFoundError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(memberships, indent=2, default=str))


@main.command("bench")
@click.option("--customers", type=click.IntRange(min=100), default=100_000, show_default=True)
@click.option(
    "--repeat", type=click.IntRange(min=1), default=3, show_default=True, help="Runs; the median is shown."
)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--agreement/--no-agreement",
    default=True,
    show_default=True,
    help="Also fit k-means on the whole population and report its agreement (ARI) with the SQL assignment.",
)
@target_option
def bench_command(customers: int, repeat: int, seed: int, agreement: bool, target: str) -> None:
    """Time the segmentation end to end on N generated customers, on a fresh warehouse each run.

    Stages: features (dbt models up to marts.customer_features), sample + fit (the clustering job), assignment
    (SQL), marts. Prints a table with the median of the runs and the peak memory of the whole process tree. With
    `--target local` each run gets a fresh DuckDB file in a temporary folder; with `--target postgres` a fresh
    database `segments_bench` on the PG* server, and the point lookup of one customer's memberships is timed.
    """
    from python_jobs.bench import bench

    click.echo(bench(customers, repeat, seed, target, agreement, echo=click.echo))


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
@target_option
def dbt(dbt_args: tuple[str, ...], target: str) -> None:
    """Run any dbt command through dbt-py with this project's profile, e.g. `segments dbt -- docs generate`."""
    from python_jobs.dbt_invocation import run_dbt

    run = run_dbt(list(dbt_args), target=target, echo=click.echo)
    sys.exit(run.returncode)


def _register_command_modules() -> None:
    """Commands that live beside the jobs they drive; their modules import the heavy parts lazily."""
    from python_jobs.load_products import load_products_command
    from python_jobs.product_segmentation.bench import bench_llm_command
    from python_jobs.product_segmentation.cli import product_segmentation_group

    main.add_command(load_products_command)
    main.add_command(product_segmentation_group)
    main.add_command(bench_llm_command)


_register_command_modules()


def run() -> None:
    try:
        main()
    except WarehouseError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
