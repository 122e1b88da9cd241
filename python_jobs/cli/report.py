"""`segments report`: the segmentation as one self-contained HTML page, or as one JSON document."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from python_jobs.cli.options import target_option
from python_jobs.warehouse.connection import Warehouse

DEFAULT_OUTPUT = Path("report.html")


@click.command("report")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help=f"Where to write the report [default: {DEFAULT_OUTPUT}; with --json, standard output].",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Write the whole segmentation as one JSON document (schema: python_jobs/report/document.py) instead.",
)
@click.option(
    "--import",
    "previous_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A document of an earlier run (from --json): the report adds what changed since (new, vanished and "
    "resized segments).",
)
@target_option
def report_command(output: Path | None, as_json: bool, previous_file: Path | None, target: str) -> None:
    """One HTML file a marketer opens in a browser, with no network: overview, segments per axis with value and
    predicted CLV, robustness and silhouette, actionability, the product taxonomy and the experiments.

    It reads the marts' aggregates only, so it takes the same few seconds for any number of customers.
    """
    from python_jobs.report.comparison import ImportedDocumentError, compare, load_document
    from python_jobs.report.document import NoSegmentationError, collect, to_json

    try:
        previous = None if previous_file is None else load_document(previous_file)
        document = collect(Warehouse.from_profile(target))
    except (ImportedDocumentError, NoSegmentationError) as error:
        raise click.ClickException(str(error)) from None
    changes = None if previous is None else compare(previous, document)
    if as_json:
        text = to_json(document if changes is None else {**document, "changes": changes})
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
            click.echo(f"Wrote {output} ({len(text.encode()):,} bytes).", err=True)
        return
    from python_jobs.report.render import render_html

    output = output or DEFAULT_OUTPUT
    output.write_text(render_html(document, changes), encoding="utf-8")
    overview = document["overview"]
    click.echo(
        f"Wrote {output} ({output.stat().st_size / 1e6:.1f} MB): {overview['customers']:,} customers, "
        f"{overview['axes']} axes, {overview['segments']} segments ({overview['viable_segments']} viable), "
        f"data up to {document['data_end_date']}."
    )
    if document["insights"] is None:
        from python_jobs.report.insights import NO_INSIGHTS

        click.echo(f"  {NO_INSIGHTS}")
