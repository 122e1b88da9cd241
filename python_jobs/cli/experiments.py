"""`segments experiments …`: the experiment segmentation's commands (config, update-weights, allocate)."""

from __future__ import annotations

import click

from python_jobs.cli.options import target_option
from python_jobs.cli.rebuild import no_rebuild_option, rebuild_after_job
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.locks import writing


@click.group("experiments")
def experiments_group() -> None:
    """A/B tests learned per segment: configuration and segments of each experiment."""


@experiments_group.command("config")
@click.argument("experiment")
@click.option(
    "--mode", type=click.Choice(["disabled", "manual", "auto"]), help="How the experiment is segmented."
)
@click.option(
    "--segment-by",
    help="Context fields to segment by, in order, e.g. source,device (manual mode). An empty value clears them.",
)
@click.option(
    "--min-samples-per-segment",
    type=int,
    help="Assignments a segment needs before it learns on its own (until then it learns from the pooled "
    "experiment). Default 100.",
)
@click.option(
    "--auto-activation/--no-auto-activation",
    default=None,
    help="Switch segmentation on by itself when the experiment's traffic reaches the threshold.",
)
@click.option(
    "--auto-activation-threshold",
    type=int,
    help="Visitors a day (trailing 7-day mean) at which the experiment is eligible. Default 1,000.",
)
@target_option
def config_command(
    experiment: str,
    mode: str | None,
    segment_by: str | None,
    min_samples_per_segment: int | None,
    auto_activation: bool | None,
    auto_activation_threshold: int | None,
    target: str,
) -> None:
    """Show EXPERIMENT's segmentation config, or change it.

    A change appends a row to ml.experiment_segmentation_config with its time and `cli` as who changed it;
    nothing is overwritten, the config in force is the latest row, and the settings not given carry over.
    """
    from python_jobs.experiments.config import ConfigError, change_config, config_in_force, parse_segment_by

    warehouse = Warehouse.from_profile(target)
    changes = (mode, segment_by, min_samples_per_segment, auto_activation, auto_activation_threshold)
    if all(change is None for change in changes):
        click.echo(f"{config_in_force(warehouse, experiment).describe()}.")
        return
    try:
        fields = parse_segment_by(segment_by) if segment_by is not None else None
        with writing(warehouse, "segments experiments config"):
            changed = change_config(
                warehouse,
                experiment,
                changed_by="cli",
                mode=mode,
                segment_by=fields,
                min_samples_per_segment=min_samples_per_segment,
                auto_activation=auto_activation,
                auto_activation_threshold=auto_activation_threshold,
            )
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Now in force: {changed.describe()}.")


@experiments_group.command("check-eligibility")
@target_option
def check_eligibility_command(target: str) -> None:
    """Recommend a segmentation for every experiment from its traffic, and switch on those with auto-activation.

    Reads marts.experiment_traffic_stats and intermediate.int_experiment_assignment_outcomes (run `segments
    build` first); adds a recommendation only when it changes, so running it twice adds nothing.
    """
    from python_jobs.experiments.eligibility import check_eligibility

    warehouse = Warehouse.from_profile(target)
    with writing(warehouse, "segments experiments check-eligibility"):
        check_eligibility(warehouse, echo=click.echo)


@experiments_group.command("recommendations")
@click.argument("experiment", required=False)
@click.option("--all", "show_all", is_flag=True, help="Also the superseded and decided ones.")
@target_option
def recommendations_command(experiment: str | None, show_all: bool, target: str) -> None:
    """List the segmentation recommendations (of EXPERIMENT, or of every experiment), newest first."""
    from python_jobs.experiments.eligibility import list_recommendations

    rows = list_recommendations(Warehouse.from_profile(target), experiment)
    shown = [row for row in rows if show_all or row["status"] == "pending"]
    if not shown:
        click.echo("No pending recommendation." if rows else "No recommendation yet: run `segments build`.")
        return
    latest_seen: set[str] = set()
    for row in shown:
        if not show_all and row["experiment_id"] in latest_seen:
            continue
        latest_seen.add(row["experiment_id"])
        click.echo(
            f"{row['recommendation_id']}  {row['experiment_id']}  {row['recommended_mode']}  "
            f"lift {row['expected_lift']:+.1%}  [{row['status']}]\n    {row['reason']}"
        )


def _decide(recommendation_id: str, decision: str, target: str) -> None:
    from python_jobs.experiments.eligibility import RecommendationError, decide

    warehouse = Warehouse.from_profile(target)
    try:
        with writing(warehouse, f"segments experiments {decision}"):
            click.echo(decide(warehouse, recommendation_id, decision))
    except RecommendationError as error:
        raise click.ClickException(str(error)) from None


@experiments_group.command("accept")
@click.argument("recommendation_id")
@target_option
def accept_command(recommendation_id: str, target: str) -> None:
    """Accept a recommendation: record it and apply its config (changed_by `recommendation <id>`)."""
    _decide(recommendation_id, "accepted", target)


@experiments_group.command("dismiss")
@click.argument("recommendation_id")
@target_option
def dismiss_command(recommendation_id: str, target: str) -> None:
    """Dismiss a recommendation: record it; the config is unchanged."""
    _decide(recommendation_id, "dismissed", target)


@experiments_group.command("cluster")
@click.argument("experiment")
@target_option
def cluster_command(experiment: str, target: str) -> None:
    """Cluster EXPERIMENT's visitors on their contexts (k-means, k by silhouette; at least 1,000 assignments).

    Writes the model (encoding, centroids, cluster descriptions) to `ml` under a new model version; the next
    `segments build` assigns every visitor to a cluster in intermediate.int_experiment_cluster_assignments.
    """
    from python_jobs.experiments.clustering import ClusteringError, cluster_experiment

    warehouse = Warehouse.from_profile(target)
    try:
        with writing(warehouse, "segments experiments cluster"):
            cluster_experiment(warehouse, experiment, echo=click.echo)
    except ClusteringError as error:
        raise click.ClickException(str(error)) from None


@experiments_group.command("update-weights")
@click.option(
    "--experiment",
    "experiment_ids",
    multiple=True,
    help="Only this experiment (repeatable); every experiment with assignments by default.",
)
@click.option(
    "--seed",
    type=int,
    help="Seed of the Monte Carlo draws: the same counts and seed give the same weights. Default 2026.",
)
@no_rebuild_option
@target_option
def update_weights_command(
    experiment_ids: tuple[str, ...], seed: int | None, no_rebuild: bool, target: str
) -> None:
    """Per-segment Thompson sampling: new allocation weights for every experiment's segments.

    Reads intermediate.int_experiment_segment_counts, computes each variant's probability of being best per
    segment (10,000 seeded draws; equal weights during burn-in, small segments learn from the experiment, a 1%
    floor) and writes one run per experiment to ml.experiment_weight_runs, experiment_posteriors and
    experiment_weights in one transaction. Then rebuilds the models downstream of those tables, unless
    --no-rebuild. `segments build` runs it too.
    """
    from python_jobs.experiments.weights_job import DEFAULT_SEED, JOB_NAME, WeightUpdateError, update_weights

    seed = DEFAULT_SEED if seed is None else seed
    warehouse = Warehouse.from_profile(target)
    try:
        with writing(warehouse, "segments experiments update-weights"):
            runs = update_weights(warehouse, experiment_ids=experiment_ids, seed=seed, echo=click.echo)
            if runs and not no_rebuild:
                rebuild_after_job(warehouse, job=JOB_NAME)
    except WeightUpdateError as error:
        raise click.ClickException(str(error)) from None


@experiments_group.command("allocate")
@click.option("--experiment", "experiment_id", required=True, help="The experiment.")
@click.option("--visitor", "visitor_id", required=True, help="The visitor.")
@click.option(
    "--channel", required=True, help="web, email, funnel or push: the channel the context comes from."
)
@click.option(
    "--context",
    "context_json",
    default="{}",
    show_default=True,
    help='The visitor\'s context as one JSON object, e.g. \'{"utm_source": "instagram", "user_agent": "…"}\'.',
)
@target_option
def allocate_command(
    experiment_id: str, visitor_id: str, channel: str, context_json: str, target: str
) -> None:
    """Print the visitor's variant and segment key as JSON.

    A visitor already assigned keeps their variant. A new one is placed in the segment their context falls in
    under the config in force, and drawn from that segment's weights in force (the experiment-wide weights for
    a segment without its own, equal weights before any update) by a hash of (experiment, visitor): asking
    again gives the same answer. Nothing is written.
    """
    import json

    from python_jobs.experiments.visitor_allocation import AllocationError, allocate_visitor

    try:
        allocation = allocate_visitor(
            Warehouse.from_profile(target), experiment_id, visitor_id, channel, context_json
        )
    except AllocationError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(allocation.as_dict(), indent=2))
