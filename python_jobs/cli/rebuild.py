"""`--no-rebuild` and the rebuild after a job run on its own, shared by the job commands."""

from __future__ import annotations

from collections.abc import Iterable

import click

from python_jobs.warehouse.connection import Warehouse

no_rebuild_option = click.option(
    "--no-rebuild",
    is_flag=True,
    help="Do not rebuild the dbt models downstream of the job's tables afterwards (the marts then show the "
    "previous run until the next `segments build`).",
)


def rebuild_after_job(
    warehouse: Warehouse, *, job: str | None = None, schema: str | None = None, tables: Iterable[str] = ()
) -> None:
    """Rebuild the marts downstream of the job's tables; a failure exits non-zero, saying the job's own
    results are kept."""
    from python_jobs.warehouse.downstream import rebuild_downstream

    click.echo("Rebuilding the models downstream of the job's tables (skip with --no-rebuild)…")
    run = rebuild_downstream(warehouse, job=job, schema=schema, tables=tables, echo=click.echo)
    if run is None:
        return
    if not run.ok:
        raise click.ClickException(
            "the job's results are saved, but rebuilding the models downstream of them failed:\n"
            + run.problem_summary()
            + "\nFix the cause and run `segments build`."
        )
    counts = ", ".join(f"{count} {status}" for status, count in sorted(run.status_counts().items()))
    click.echo(f"Rebuilt in {run.elapsed_seconds:.1f}s: {counts}.")
