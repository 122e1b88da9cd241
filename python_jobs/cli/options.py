"""Options every `segments` command shares, in a module of their own so every command module can use them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from python_jobs.warehouse.connection import TARGETS

F = TypeVar("F", bound=Callable[..., Any])

_TARGET_HELP = {
    "local": "`local` is the DuckDB file at $SEGMENTS_DUCKDB_PATH (default data/warehouse.duckdb)",
    "postgres": "`postgres` uses the PG* environment variables",
    "spark": "`spark` runs a local Spark session in this process, its tables under $SEGMENTS_SPARK_WAREHOUSE "
    '(default data/spark-warehouse; needs pip install -e ".[spark]" and Java)',
}


def _check_target(_ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A Spark target this machine cannot run is refused up front, naming what to install."""
    if value == "spark":
        from python_jobs.warehouse.spark import spark_missing

        missing = spark_missing()
        if missing:
            raise click.BadParameter(missing, param=param)
    return value


def target_choice(targets: tuple[str, ...] = TARGETS) -> Callable[[F], F]:
    """`--target`, among `targets` (every target unless a command supports fewer)."""
    return click.option(
        "--target",
        type=click.Choice(targets),
        default="local",
        show_default=True,
        callback=_check_target,
        help="Warehouse target from profiles/profiles.yml: "
        + "; ".join(_TARGET_HELP[t] for t in targets)
        + ".",
    )


target_option = target_choice()


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
