"""`segments product-segmentation show RUN_ID`: a run's taxonomy with product counts, and each product's segment.

The JSON shape is fixed (other tools read it): `{run_id, taxonomies: [{id, segment_name, definition,
product_count}], segments: [{product_id, taxonomy_id}]}`. Taxonomies are the run's final entries (in taxonomy
order), then `__OUT_OF_SCOPE__` and the `__UNASSIGNED__` placeholder; `segments` gives each product's refined
taxonomy id, so for a run that is not done every product still points at the placeholder. Product ids are JSON
numbers when every id of the run is an integer (as they always were), strings otherwise (`product_ids`).

Looking at a run first marks `abandoned` any run whose process is gone (python_jobs/warehouse/run_owner.py), so a
killed run is never shown as in progress.
"""

from __future__ import annotations

from typing import Any

from python_jobs.product_segmentation import tables
from python_jobs.product_segmentation.product_ids import all_integer_ids, as_json
from python_jobs.product_segmentation.progress import tokens_label
from python_jobs.product_segmentation.runs import mark_abandoned_runs
from python_jobs.product_segmentation.tables import FINAL_STAGE
from python_jobs.warehouse.connection import Warehouse

SHOWN_STAGES = (FINAL_STAGE, "system", "init")


class RunNotFoundError(LookupError):
    """No product segmentation run has this id."""


def run_report(warehouse: Warehouse, run_id: str) -> dict[str, Any]:
    """The run's final taxonomy with product counts and its product -> taxonomy list, in the fixed JSON shape."""
    mark_abandoned_runs(warehouse)
    with warehouse.session(read_only=True) as session:
        run = tables.fetch_run(session, run_id)
        if run is None:
            raise RunNotFoundError(f"no product segmentation run {run_id!r}")
        entries = tables.fetch_taxonomies(session, run_id)
        assignments = tables.fetch_assignments(session, run_id)
    integers = all_integer_ids(row["product_id"] for row in assignments)
    counts: dict[str, int] = {}
    for row in assignments:
        counts[row["taxonomy_id_refined"]] = counts.get(row["taxonomy_id_refined"], 0) + 1
    shown = sorted(
        (entry for entry in entries if entry["stage"] in SHOWN_STAGES),
        key=lambda entry: (SHOWN_STAGES.index(entry["stage"]), entry["id"]),
    )
    return {
        "run_id": run_id,
        "taxonomies": [
            {
                "id": entry["id"],
                "segment_name": entry["segment_name"],
                "definition": entry["definition"],
                "product_count": counts.get(entry["id"], 0),
            }
            for entry in shown
        ],
        "segments": [
            {"product_id": as_json(row["product_id"], integers), "taxonomy_id": row["taxonomy_id_refined"]}
            for row in assignments
        ],
    }


def run_header(warehouse: Warehouse, run_id: str) -> dict[str, Any]:
    """The run's row (JSON columns parsed), for the lines above the table."""
    mark_abandoned_runs(warehouse)
    with warehouse.session(read_only=True) as session:
        run = tables.fetch_run(session, run_id)
    if run is None:
        raise RunNotFoundError(f"no product segmentation run {run_id!r}")
    return run


def format_report(report: dict[str, Any], run: dict[str, Any], *, definition_width: int = 70) -> str:
    """The report as text: a header, the taxonomy table, then product id -> segment name."""
    names = {entry["id"]: entry["segment_name"] for entry in report["taxonomies"]}
    name_width = max([len("segment"), *(len(name) for name in names.values())])
    summary = run.get("result_summary") or {}
    lines = [
        f"Run {report['run_id']}: category {run['category']!r}, stage {run['stage']}, {run['percent']:.1f}% "
        f"({run['calls_done']}/{run['calls_total']} calls), {run['total_products']} products",
    ]
    tokens = run_tokens(run)
    if tokens is not None:
        lines[0] += f", {tokens}"
    if run["stage"] in ("failed", "abandoned"):
        lines.append(f"  {run['stage']} ({summary.get('reason', '?')}): {summary.get('message', '')}")
        lines.append(f"  `segments product-segmentation run --resume {report['run_id']}` continues it.")
    lines += ["", f"  {'segment':<{name_width}}  {'products':>8}  definition"]
    for entry in report["taxonomies"]:
        definition = entry["definition"] or ""
        if len(definition) > definition_width:
            definition = definition[: definition_width - 1] + "…"
        lines.append(f"  {entry['segment_name']:<{name_width}}  {entry['product_count']:>8}  {definition}")
    id_width = max([10, *(len(str(row["product_id"])) for row in report["segments"])])
    lines += ["", f"  {'product_id':>{id_width}}  segment"]
    lines += [
        f"  {row['product_id']!s:>{id_width}}  {names.get(row['taxonomy_id'], row['taxonomy_id'])}"
        for row in report["segments"]
    ]
    return "\n".join(lines)


def run_tokens(run: dict[str, Any]) -> str | None:
    """The tokens a run spent, in words, measured and estimated counts apart; None before it has a summary."""
    summary = run.get("result_summary") or {}
    if "input_tokens" not in summary:
        return None
    measured = summary["input_tokens"] + summary["output_tokens"]
    estimated = summary.get("estimated_input_tokens", 0) + summary.get("estimated_output_tokens", 0)
    parts = [tokens_label(measured, False)] if measured or not estimated else []
    if estimated:
        parts.append(tokens_label(estimated, True))
    return " + ".join(parts)
