"""`segments packages run`: deal packages from the command line. The group is registered by `python_jobs.cli`."""

from __future__ import annotations

from pathlib import Path

import click

from python_jobs.cli.options import archive_root_option, concurrency_option, target_option
from python_jobs.cli.products import PROVIDERS
from python_jobs.cli.rebuild import no_rebuild_option, rebuild_after_job
from python_jobs.warehouse.connection import Warehouse, WarehouseError
from python_jobs.warehouse.locks import writing

# python_jobs.embeddings.BACKENDS and python_jobs.deal_packages.clustering.METHODS, spelled out so the CLI does
# not import numpy and scikit-learn to register the group (a test keeps them equal).
EMBEDDING_BACKENDS = ("auto", "tfidf", "minilm")
METHODS = ("gmm", "kmeans")


def parse_deal_ids(text: str) -> list[str]:
    """'DL-1,DL-2' or one id per line (commas, spaces and newlines separate); '#' starts a comment."""
    return [
        token
        for line in text.splitlines()
        for token in line.split("#", 1)[0].replace(",", " ").split()
        if token
    ]


@click.group("packages")
def packages_group() -> None:
    """Deal packages: deals of raw.deals grouped into packages a buyer can take whole.

    Deals are embedded (TF-IDF, or MiniLM with the `embeddings` extra), clustered (GMM by BIC, or k-means), and
    each cluster is turned into named packages by one LLM call (the offline provider, without an API key,
    proposes packages by rule).
    """


@packages_group.command("run")
@click.option("--all", "all_deals", is_flag=True, help="Every deal in raw.deals.")
@click.option("--deal-ids", help="Comma-separated deal ids: DL-00001,DL-00002.")
@click.option(
    "--deal-ids-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of deal ids (one per line, or comma-separated).",
)
@click.option(
    "--method", type=click.Choice(METHODS), default="gmm", show_default=True, help="Clustering method."
)
@click.option("--max-deals-per-cluster", type=click.IntRange(min=2), default=25, show_default=True)
@click.option("--min-cluster-size", type=click.IntRange(min=1), default=5, show_default=True)
@click.option(
    "--soft-assignments",
    is_flag=True,
    help="A deal joins every cluster whose probability passes the threshold (gmm).",
)
@click.option("--soft-threshold", type=click.FloatRange(0, 1, min_open=True), default=0.3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed and deals, same clusters.")
@click.option(
    "--embeddings",
    "embedding_backend",
    type=click.Choice(EMBEDDING_BACKENDS),
    default="auto",
    show_default=True,
    help="auto: minilm when the extra is installed.",
)
@click.option(
    "--prompt-template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your own prompt template, with an {enriched_deals} placeholder.",
)
@click.option(
    "--provider", type=click.Choice(PROVIDERS), help="anthropic (needs ANTHROPIC_API_KEY) or offline."
)
@click.option("--model", help="Model name for the anthropic provider.")
@concurrency_option
@archive_root_option
@no_rebuild_option
@target_option
def run_command(
    all_deals: bool,
    deal_ids: str | None,
    deal_ids_file: Path | None,
    method: str,
    max_deals_per_cluster: int,
    min_cluster_size: int,
    soft_assignments: bool,
    soft_threshold: float,
    seed: int,
    embedding_backend: str,
    prompt_template: Path | None,
    provider: str | None,
    model: str | None,
    concurrency: int | None,
    archive_root: Path,
    no_rebuild: bool,
    target: str,
) -> None:
    """Package the deals (--all, --deal-ids or --deal-ids-file); then rebuild the marts (deal_packages) unless
    --no-rebuild."""
    from python_jobs.deal_packages.clustering import ClusteringError, ClusterParams
    from python_jobs.deal_packages.job import DealPackagesError, run_packages
    from python_jobs.deal_packages.proposals import PromptTemplateError
    from python_jobs.embeddings import EmbeddingError
    from python_jobs.llm.config import LLMConfig, LLMConfigError

    chosen = [all_deals, deal_ids is not None, deal_ids_file is not None]
    if sum(chosen) != 1:
        raise click.UsageError("give exactly one of --all, --deal-ids and --deal-ids-file")
    selected = None
    if deal_ids is not None:
        selected = parse_deal_ids(deal_ids)
    elif deal_ids_file is not None:
        selected = parse_deal_ids(deal_ids_file.read_text(encoding="utf-8"))
    if selected is not None and not selected:
        raise click.UsageError("no deal ids given")
    try:
        params = ClusterParams(
            method=method,
            max_deals_per_cluster=max_deals_per_cluster,
            min_cluster_size=min_cluster_size,
            soft_assignments=soft_assignments,
            soft_threshold=soft_threshold,
            seed=seed,
        )
        config = LLMConfig.from_environment(provider, model=model, max_concurrency=concurrency)
    except (ClusteringError, LLMConfigError) as error:
        raise click.UsageError(str(error)) from None
    warehouse = Warehouse.from_profile(target)
    try:
        with writing(warehouse, "segments packages run"):
            result = run_packages(
                warehouse,
                selected,
                params,
                config,
                embedding_backend=embedding_backend,
                prompt_template=prompt_template,
                archive_root=archive_root,
                echo=click.echo,
            )
    except (DealPackagesError, PromptTemplateError, EmbeddingError, WarehouseError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"{result.packages} packages from {result.clusters} clusters of {result.deals} deals "
        f"({result.llm_calls} LLM calls, {result.cache_hits} from the cache)."
    )
    if result.unclustered:
        click.echo(f"Unclustered ({len(result.unclustered)}): {', '.join(result.unclustered)}")
    for cluster_id, reason in sorted(result.skipped.items()):
        click.echo(f"Cluster {cluster_id} skipped: {reason}")
    if not no_rebuild:
        from python_jobs.warehouse.ml_tables import DEAL_PACKAGE_TABLES, ML_SCHEMA

        with writing(warehouse, "segments packages run"):
            rebuild_after_job(warehouse, schema=ML_SCHEMA, tables=DEAL_PACKAGE_TABLES)
    click.echo(result.run_id)


@click.command("bench-packages")
@click.option(
    "--deals", type=click.IntRange(min=10), default=10_000, show_default=True, help="Deals to generate."
)
@click.option(
    "--backend",
    "backends",
    type=click.Choice(EMBEDDING_BACKENDS[1:]),
    multiple=True,
    help="Embedding backend to measure (repeat for both). Default: tfidf, and minilm when the extra is installed.",
)
@click.option("--method", type=click.Choice(METHODS), default="gmm", show_default=True)
@click.option(
    "--delay",
    type=click.FloatRange(min=0),
    default=0.3,
    show_default=True,
    help="Seconds the fake API takes per call (a real model takes several seconds per cluster).",
)
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=4, show_default=True, help="Calls in flight at once."
)
@target_option
def bench_packages_command(
    deals: int, backends: tuple[str, ...], method: str, delay: float, concurrency: int, target: str
) -> None:
    """Time the deal packages job on N generated deals in a fresh warehouse (dropped afterwards).

    Per backend: embedding and clustering seconds (target for 10,000 deals: under 30 s with tfidf, under 120 s
    with minilm); the LLM stage through the fake Messages API on loopback against the ideal schedule
    (ceil(calls / concurrency) x delay; target within 1.5x); and a re-run, which should embed nothing and make
    no call.
    """
    from python_jobs.bench.packages import default_backends, run_bench

    chosen = list(backends) or default_backends()
    _results, report = run_bench(deals, chosen, delay, concurrency, method, target, echo=click.echo)
    click.echo(report)
