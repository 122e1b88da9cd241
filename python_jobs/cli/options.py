"""Options every `segments` command shares, in a module of their own so every command module can use them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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


# The LLM jobs run on demand (product segmentation, deal packages): where their calls are archived and cached, and
# how many are in flight at once.
archive_root_option = click.option(
    "--archive-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("llm_logs"),
    show_default=True,
    help="Where prompts and answers are archived (and the cache lives).",
)
concurrency_option = click.option(
    "--concurrency", type=click.IntRange(min=1), help="LLM calls in flight at once (default 4)."
)
