"""`segments generate`, `load-transactions`, `load-products` and `load-deals`: data into schema `raw`."""

from __future__ import annotations

import time
from pathlib import Path

import click

from python_jobs.cli.options import target_option
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.locks import writing


@click.command()
@click.option("--customers", type=click.IntRange(min=1), required=True, help="Number of customers.")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed; same seed, same data.")
@click.option(
    "--experiment-scale",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Multiplies the A/B tests' daily traffic (at 1, about 84,000 assignments; 0 writes no experiments).",
)
@target_option
def generate(customers: int, seed: int, experiment_scale: float, target: str) -> None:
    """Write deterministic synthetic commerce data into schema `raw`.

    Customers are drawn from behaviour archetypes (VIP loyalists, deal hunters, one-time buyers, seasonal
    gifters, churning regulars, support-heavy buyers, steady regulars), with merged duplicate accounts (chains
    and a few loops), orders and lines, web events and support tickets; and five A/B tests (web, e-mail,
    funnel, push) whose traffic grows day by day and whose best variant differs by segment; and 240 programmatic
    deals (seven verticals, five formats, four safety levels, with near-duplicates and outliers). All raw tables are
    replaced in one transaction.
    """
    generate_data(customers, seed, target, experiment_scale=experiment_scale)


def generate_data(customers: int, seed: int, target: str, *, experiment_scale: float = 1.0) -> None:
    from python_jobs.ingest.generate import generate_raw_tables, write_raw_tables
    from python_jobs.ingest.generate.deals import DEALS_TABLE, deals_table
    from python_jobs.ingest.generate.experiments import generate_experiment_tables

    warehouse = Warehouse.from_profile(target)
    started = time.perf_counter()
    with writing(warehouse, "segments generate"):
        click.echo(f"Generating {customers:,} customers (seed {seed})…")
        tables = generate_raw_tables(customers, seed=seed)
        experiment_tables = generate_experiment_tables(seed=seed, scale=experiment_scale)
        tables = {**tables, **experiment_tables, DEALS_TABLE: deals_table(seed=seed)}
        click.echo(f"  generated in {time.perf_counter() - started:.1f}s; writing to {warehouse.describe()}…")
        counts = write_raw_tables(warehouse, tables)
    for name, count in counts.items():
        click.echo(f"  raw.{name:<20} {count:>12,} rows")
    click.echo(f"Done in {time.perf_counter() - started:.1f}s.")


@click.command("load-transactions")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--customer-col", required=True, help="Column holding the customer id.")
@click.option("--date-col", required=True, help="Column holding the transaction date or time.")
@click.option("--amount-col", required=True, help="Column holding the amount paid.")
@click.option("--order-col", help="Column holding the order id; lines sharing it make one order.")
@click.option(
    "--quantity-col", help="Column holding the quantity, an integer within ±2,147,483,647 (1 when absent)."
)
@click.option(
    "--date-format",
    help="strptime format of the dates, e.g. '%d/%m/%Y %H:%M'. Default: ISO 8601. Times without a zone are UTC.",
)
@click.option("--delimiter", default=",", show_default=True, help="Field delimiter.")
@click.option(
    "--on-duplicate",
    type=click.Choice(["error", "keep", "drop"]),
    default="error",
    show_default=True,
    help="What to do with exact duplicate lines (every field equal once unquoted): refuse the file naming the "
    "first two, load them all, or load each once.",
)
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
    on_duplicate: str,
    target: str,
) -> None:
    """Load a transactions CSV (a real shop export) into the raw orders, replacing what was there.

    The file (UTF-8, a byte order mark allowed) is checked whole first: a missing column, a wrong field count,
    a quote left open, an unparseable date or amount or an empty customer id refuses it with the file, line
    and column named, and nothing is written. So does a value the warehouse cannot store: an amount (or an
    order's total) beyond ±999,999,999,999.99, a customer or order id longer than 256 characters or holding a
    control character, a NUL character anywhere, or a line break inside a value. Lines are the file's physical
    lines. Then `segments build`.
    """
    from python_jobs.ingest.raw_loading import LoadError
    from python_jobs.ingest.transactions import (
        TransactionColumns,
        check_transactions,
        write_transactions,
    )

    columns = TransactionColumns(customer_col, date_col, amount_col, order_col, quantity_col)
    try:
        checked = check_transactions(
            file, columns, date_format=date_format, delimiter=delimiter, on_duplicate=on_duplicate
        )
    except LoadError as error:
        raise click.ClickException(f"refused: {error}. Nothing was loaded.") from None
    tables = checked.tables
    warehouse = Warehouse.from_profile(target)
    with writing(warehouse, "segments load-transactions"):
        counts = write_transactions(warehouse, tables)
    click.echo(
        f"Loaded {tables['order_items'].num_rows:,} lines as {tables['orders'].num_rows:,} orders "
        f"from {file} into raw.orders and raw.order_items."
    )
    if checked.duplicates.groups:
        click.echo(f"{checked.duplicates.describe()}.")
    others = {name: count for name, count in counts.items() if name not in tables and count}
    if others:
        kept = ", ".join(f"raw.{name} ({count:,} rows)" for name, count in others.items())
        click.echo(f"Kept as they were: {kept}.")


@click.command("load-products")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--id-col", required=True, help="Column holding the product id (text: a SKU, an ASIN or a number)."
)
@click.option("--title-col", required=True, help="Column holding the product title.")
@click.option("--category-col", help="Column holding the product category.")
@click.option("--description-col", help="Column holding the product description.")
@click.option("--brand-col", help="Column holding the brand.")
@click.option("--price-col", help="Column holding the price (a plain number, e.g. 19.99).")
@click.option("--delimiter", default=",", show_default=True, help="Field delimiter.")
@target_option
def load_products_command(
    file: Path,
    id_col: str,
    title_col: str,
    category_col: str | None,
    description_col: str | None,
    brand_col: str | None,
    price_col: str | None,
    delimiter: str,
    target: str,
) -> None:
    """Load a product catalogue CSV into raw.products, replacing what was there.

    The file (UTF-8, a byte order mark allowed) is checked whole first: a missing column, a wrong field count,
    a quote left open, a product id that is empty, longer than 256 characters, holds a control character or
    appears twice, an empty title, an unparseable price or one beyond 999,999,999,999.99, or a NUL character
    refuses it with the file, line and column named, and nothing is written. Ids are text (SKUs, ASINs or
    numbers), stored trimmed. Only the description may span lines, 50 at most. Then `segments build`.
    """
    from python_jobs.ingest.products import PRODUCTS_TABLE, ProductColumns, read_products, write_products
    from python_jobs.ingest.raw_loading import LoadError

    columns = ProductColumns(
        id=id_col,
        title=title_col,
        category=category_col,
        description=description_col,
        brand=brand_col,
        price=price_col,
    )
    try:
        table = read_products(file, columns, delimiter=delimiter)
    except LoadError as error:
        raise click.ClickException(f"refused: {error}. Nothing was loaded.") from None
    warehouse = Warehouse.from_profile(target)
    with writing(warehouse, "segments load-products"):
        counts = write_products(warehouse, table)
    click.echo(f"Loaded {table.num_rows:,} products from {file} into raw.{PRODUCTS_TABLE}.")
    others = {name: count for name, count in counts.items() if name != PRODUCTS_TABLE and count}
    if others:
        kept = ", ".join(f"raw.{name} ({count:,} rows)" for name, count in others.items())
        click.echo(f"Kept as they were: {kept}.")


@click.command("load-deals")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@target_option
def load_deals_command(file: Path, target: str) -> None:
    """Load enriched programmatic deals (JSON Lines, one deal a line) into raw.deals, replacing what was there.

    Each line is an object with `deal_id` and `deal_name` and optionally ssp, format, taxonomy_tier1..3,
    concepts, garm_risk_rating, family_safe, inferred_audiences, demographic_hint, quality_tier, volume_tier,
    floor_price and publishers. The file is checked whole first: a bad line refuses it, named, and nothing is
    written. Then `segments build` and `segments packages run --all`.
    """
    from python_jobs.ingest.deals import DEALS_TABLE, read_deals, write_deals
    from python_jobs.ingest.raw_loading import LoadError

    try:
        table = read_deals(file)
    except LoadError as error:
        raise click.ClickException(f"refused: {error}. Nothing was loaded.") from None
    warehouse = Warehouse.from_profile(target)
    with writing(warehouse, "segments load-deals"):
        write_deals(warehouse, table)
    click.echo(f"Loaded {table.num_rows:,} deals from {file} into raw.{DEALS_TABLE}.")


@click.command("load-experiments")
@click.option(
    "--assignments",
    "assignments_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with experiment_id, variant_id, visitor_id, assigned_at, channel, context (a JSON object).",
)
@click.option(
    "--conversions",
    "conversions_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with experiment_id, visitor_id, converted_at and optionally value.",
)
@click.option("--delimiter", default=",", show_default=True, help="Field delimiter of both files.")
@target_option
def load_experiments_command(
    assignments_file: Path, conversions_file: Path | None, delimiter: str, target: str
) -> None:
    """Load an A/B testing tool's export into the raw experiment tables, replacing what was there.

    Both files (UTF-8) are checked whole first: a missing column, an empty id, a time that is not ISO 8601
    (a time without a zone is UTC), a channel other than web, email, funnel or push, a context that is not a
    JSON object, a visitor assigned twice in one experiment, a conversion of a visitor without an assignment or
    a value that does not parse refuses the load with the file, line and column named, and nothing is written.
    A context's unknown keys are kept. The experiments and variants are derived from the assignments. Then
    `segments build`.
    """
    from python_jobs.ingest.experiments import check_experiment_files, write_experiments
    from python_jobs.ingest.raw_loading import LoadError

    try:
        load = check_experiment_files(assignments_file, conversions_file, delimiter)
    except LoadError as error:
        raise click.ClickException(f"refused: {error}. Nothing was loaded.") from None
    warehouse = Warehouse.from_profile(target)
    with writing(warehouse, "segments load-experiments"):
        write_experiments(warehouse, load)
    click.echo(
        f"Loaded {load.count('experiment_assignments'):,} assignments to {load.count('experiments'):,} "
        f"experiments ({load.count('experiment_variants'):,} variants) and "
        f"{load.count('experiment_conversions'):,} conversions into the raw experiment tables."
    )
