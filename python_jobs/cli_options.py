"""Options every `segments` command shares, in a module of their own so command modules anywhere in the package
can use them without importing `python_jobs.cli` (which imports them to register their commands)."""

from __future__ import annotations

import click

from python_jobs.warehouse import TARGETS

target_option = click.option(
    "--target",
    type=click.Choice(TARGETS),
    default="local",
    show_default=True,
    help="Warehouse target from profiles/profiles.yml: `local` is the DuckDB file at $SEGMENTS_DUCKDB_PATH "
    "(default data/warehouse.duckdb); `postgres` uses the PG* environment variables.",
)
