"""`segments run cluster-customers` and `segments assign`: the customer segmentation job and its lookup."""

from __future__ import annotations

import click

from python_jobs.cli.options import target_option
from python_jobs.cli.rebuild import no_rebuild_option, rebuild_after_job
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.locks import writing


@click.group("run")
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
@no_rebuild_option
@target_option
def cluster_customers_command(
    sample_size: int,
    k_min: int,
    k_max: int,
    seed: int,
    bootstrap_resamples: int,
    workers: int,
    no_rebuild: bool,
    target: str,
) -> None:
    """Fit k-means per behavioural axis on a stratified sample of marts.customer_features.

    Writes centroids, scaling, chosen k, silhouettes, segment names and robustness to schema `ml` in one
    transaction tagged with a run id. Then rebuilds the dbt models downstream of those tables (customer_segments,
    segment_summary, …) so the marts follow the run, unless --no-rebuild.
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
    warehouse = Warehouse.from_profile(target)
    with writing(warehouse, "segments run cluster-customers"):
        run_id = cluster_customers(warehouse, params, echo=click.echo)
        click.echo(f"Run {run_id} succeeded.")
        if not no_rebuild:
            rebuild_after_job(warehouse, job="cluster_customers")


@click.command()
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
