"""The `segments` command line: the group, and one module per command group.

- `data`: generate, load-transactions, load-products, load-experiments, load-deals;
- `experiments`: experiments config;
- `build`: build, demo, dbt;
- `segmentation`: run cluster-customers, assign;
- `insights`: run explain-segments, bench-insights;
- `products`: product-segmentation run|show;
- `packages`: packages run, bench-packages;
- `report`: report;
- `serve`: serve (the HTTP API);
- `bench`: bench, bench-llm, bench-load, bench-bandit, bench-report, bench-api, bench-taxonomy.

Command modules parse options and call the capability packages, importing the heavy parts inside the commands,
so `segments --help` stays quick.
"""

from __future__ import annotations

import sys

import click

from python_jobs.cli import (
    bench,
    build,
    data,
    experiments,
    insights,
    packages,
    products,
    report,
    segmentation,
    serve,
)
from python_jobs.warehouse.connection import WarehouseError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Segment Warehouse: raw commerce data in, customer profiles and segments out.

    Typical use: `segments demo` for a first look, or `segments generate` / `segments load-transactions`
    followed by `segments build`.
    """


for command in (
    data.generate,
    data.load_transactions,
    data.load_products_command,
    data.load_experiments_command,
    data.load_deals_command,
    build.build,
    build.demo,
    build.dbt,
    segmentation.run_group,
    segmentation.assign,
    products.product_segmentation_group,
    packages.packages_group,
    experiments.experiments_group,
    report.report_command,
    bench.bench_command,
    bench.bench_llm_command,
    bench.bench_load_command,
    bench.bench_bandit_command,
    bench.bench_report_command,
    bench.bench_api_command,
    bench.bench_taxonomy_command,
    insights.bench_insights_command,
    packages.bench_packages_command,
    serve.serve_command,
):
    main.add_command(command)
segmentation.run_group.add_command(insights.explain_segments_command)


def run() -> None:
    try:
        main()
    except WarehouseError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
