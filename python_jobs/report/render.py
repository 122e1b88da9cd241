"""The document as one self-contained HTML page: the Jinja template, Plotly's bundle inlined once, the charts.

Nothing in the page is fetched: the script, the styles and the data are all in the file, so it opens from a
mail attachment or a shared drive with no network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from python_jobs.report import charts
from python_jobs.report.insights import NO_INSIGHTS, SCORES

TEMPLATES = Path(__file__).parent / "templates"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["share"] = lambda value: "" if value is None else f"{value:.1%}"
    environment.filters["money"] = lambda value: "" if value is None else f"{value:,.0f}"
    environment.filters["number"] = lambda value: "" if value is None else f"{value:,}"
    environment.filters["decimal2"] = lambda value: "" if value is None else f"{value:.2f}"
    return environment


def build_charts(document: dict[str, Any]) -> dict[str, Any]:
    """Every chart of the page, grouped by the section that shows it."""
    experiments = document["experiments"] or {}
    performance_by_experiment: dict[str, list[dict[str, Any]]] = {}
    for row in experiments.get("performance", []):
        performance_by_experiment.setdefault(row["experiment_id"], []).append(row)
    return {
        "axes": {axis["axis_name"]: charts.axis_chart(axis) for axis in document["axes"]},
        "robustness": charts.robustness_heatmap(document["axes"]),
        "silhouette": charts.silhouette_chart(document["axes"]),
        "actionability": charts.actionability_heatmap(document["insights"]) if document["insights"] else None,
        "taxonomy": [
            charts.taxonomy_chart(category, position)
            for position, category in enumerate(document["product_taxonomy"] or [])
        ],
        "experiments": [
            charts.experiment_chart(experiment_id, rows, position)
            for position, (experiment_id, rows) in enumerate(sorted(performance_by_experiment.items()))
        ],
    }


def _plotly_bundle() -> str:
    from plotly.offline import get_plotlyjs

    # The bundle is inlined in a <script> element; make sure nothing in it can close the element early.
    return get_plotlyjs().replace("</script", "<\\/script")


def render_html(document: dict[str, Any], changes: dict[str, Any] | None = None) -> str:
    """The page for DOCUMENT, with a "what changed" section when CHANGES (python_jobs.report.comparison) is given."""
    chart_html = build_charts(document)

    def safe(chart: charts.Chart | None) -> Markup | None:
        return None if chart is None else Markup(chart.html)

    template = _environment().get_template("report.html.j2")
    return template.render(
        document=document,
        changes=changes,
        no_insights=NO_INSIGHTS,
        scores=SCORES,
        axis_charts={name: safe(chart) for name, chart in chart_html["axes"].items()},
        robustness_chart=safe(chart_html["robustness"]),
        silhouette_chart=safe(chart_html["silhouette"]),
        actionability_chart=safe(chart_html["actionability"]),
        taxonomy_charts=[safe(chart) for chart in chart_html["taxonomy"]],
        experiment_charts=[safe(chart) for chart in chart_html["experiments"]],
        plotly_bundle=Markup(_plotly_bundle()),
    )
