"""Options every `segments` command shares, in a module of their own so every command module can use them."""

from __future__ import annotations

import datetime as dt

import click

from python_jobs.warehouse.connection import TARGETS

target_option = click.option(
    "--target",
    type=click.Choice(TARGETS),
    default="local",
    show_default=True,
    help="Warehouse target from profiles/profiles.yml: `local` is the DuckDB file at $SEGMENTS_DUCKDB_PATH "
    "(default data/warehouse.duckdb); `postgres` uses the PG* environment variables.",
)


def observation_end_callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """`--observation-end`: a YYYY-MM-DD date, normalised, or None for the data's last order date."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None
