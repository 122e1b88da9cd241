"""The report's charts, drawn with Plotly from the document (never from warehouse rows).

Each function returns a Chart: an id and the HTML fragment Plotly writes for it (a div and the script that
draws it). The Plotly bundle itself is inlined once in the page (python_jobs.report.render), so the file opens
with no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from python_jobs.report.insights import SCORES

POOR_COLOUR = "#c0392b"
GOOD_COLOUR = "#2e86c1"
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
# The silhouette under which an axis's segments are flagged (the clustering's own threshold is in the mart's
# is_axis_silhouette_poor; this is only where the chart draws its line).
POOR_SILHOUETTE_LINE = 0.25


@dataclass(frozen=True)
class Chart:
    chart_id: str
    html: str


def _chart(chart_id: str, figure: go.Figure, height: int) -> Chart:
    figure.update_layout(height=height, margin={"l": 60, "r": 20, "t": 50, "b": 60}, template="plotly_white")
    html = figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=chart_id, config=PLOT_CONFIG, default_width="100%"
    )
    return Chart(chart_id, html)


def axis_chart(axis: dict[str, Any]) -> Chart:
    """Size and share of each segment of one axis, beside its lifetime value and predicted CLV."""
    segments = axis["segments"]
    names = [segment["segment_name"] for segment in segments]
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Customers (share)", "Average value per customer"),
        horizontal_spacing=0.12,
    )
    figure.add_trace(
        go.Bar(
            x=names,
            y=[segment["customers"] for segment in segments],
            text=[f"{segment['customer_share']:.1%}" for segment in segments],
            textposition="auto",
            name="customers",
            marker_color=GOOD_COLOUR,
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    for label, key, colour in (
        ("lifetime value", "average_lifetime_value", "#1abc9c"),
        ("predicted CLV, next 365 days", "average_clv_365d", "#f39c12"),
    ):
        figure.add_trace(
            go.Bar(x=names, y=[segment[key] for segment in segments], name=label, marker_color=colour),
            row=1,
            col=2,
        )
    figure.update_layout(barmode="group", legend={"orientation": "h", "y": -0.3})
    return _chart(f"axis-{axis['axis_name']}", figure, 360)


def robustness_heatmap(axes: list[dict[str, Any]]) -> Chart:
    """Overall robustness of every clustered segment: one row per axis, one column per segment position."""
    clustered = [[segment for segment in axis["segments"] if segment["is_clustered"]] for axis in axes]
    width = max((len(segments) for segments in clustered), default=0)
    values, labels = [], []
    for segments in clustered:
        padding = [None] * (width - len(segments))
        values.append([segment["overall_robustness"] for segment in segments] + padding)
        labels.append(
            [
                f"{segment['segment_name']}<br>{segment['overall_robustness']:.2f}"
                if segment["overall_robustness"] is not None
                else segment["segment_name"]
                for segment in segments
            ]
            + [""] * len(padding)
        )
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=[f"segment {position + 1}" for position in range(width)],
            y=[axis["axis_name"] for axis in axes],
            text=labels,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "robustness"}},
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    figure.update_layout(title_text="Robustness of each segment (0 unstable, 1 robust)")
    figure.update_yaxes(autorange="reversed")
    return _chart("robustness-heatmap", figure, 140 + 42 * len(axes))


def silhouette_chart(axes: list[dict[str, Any]]) -> Chart:
    """The silhouette of each axis's chosen k, poor ones in red."""
    names = [axis["axis_name"] for axis in axes]
    silhouettes = [axis["silhouette"] for axis in axes]
    colours = [POOR_COLOUR if axis["is_silhouette_poor"] else GOOD_COLOUR for axis in axes]
    figure = go.Figure(
        go.Bar(
            x=silhouettes,
            y=names,
            orientation="h",
            marker_color=colours,
            text=[
                "n/a" if value is None else f"{value:.2f}{' (poor)' if poor else ''}"
                for value, poor in zip(
                    silhouettes, (axis["is_silhouette_poor"] for axis in axes), strict=True
                )
            ],
            textposition="auto",
        )
    )
    figure.add_vline(x=POOR_SILHOUETTE_LINE, line_dash="dash", line_color=POOR_COLOUR)
    figure.update_layout(title_text="Silhouette per axis (red: poor)", xaxis_range=[0, 1])
    figure.update_yaxes(autorange="reversed")
    return _chart("silhouette-per-axis", figure, 140 + 30 * len(axes))


def actionability_heatmap(insights: list[dict[str, Any]]) -> Chart:
    """The four scores (1 to 5) of every segment."""
    rows = [f"{row['axis_name']} / {row['segment_name']}" for row in insights]
    figure = go.Figure(
        go.Heatmap(
            z=[[row[score] for score in SCORES] for row in insights],
            x=[score.removesuffix("_score").upper() for score in SCORES],
            y=rows,
            texttemplate="%{z}",
            colorscale="Blues",
            zmin=1,
            zmax=5,
            colorbar={"title": {"text": "score"}},
        )
    )
    figure.update_layout(title_text="Actionability: WHAT, WHEN, HOW, WHO (1 to 5)")
    figure.update_yaxes(autorange="reversed")
    return _chart("actionability-heatmap", figure, 140 + 22 * len(rows))


def taxonomy_chart(category: dict[str, Any], position: int) -> Chart:
    """Products per segment of one category's latest taxonomy."""
    segments = category["segments"]
    figure = go.Figure(
        go.Bar(
            x=[segment["product_count"] for segment in segments],
            y=[segment["segment_name"] for segment in segments],
            orientation="h",
            marker_color=GOOD_COLOUR,
            text=[segment["product_count"] for segment in segments],
            textposition="auto",
        )
    )
    figure.update_layout(title_text=f"{category['category']}: products per segment")
    figure.update_yaxes(autorange="reversed")
    return _chart(f"taxonomy-{position}", figure, 140 + 28 * len(segments))


def experiment_chart(experiment_id: str, rows: list[dict[str, Any]], position: int) -> Chart:
    """Conversion rate and current weight of each variant in each segment of one experiment."""
    variants = sorted({row["variant_id"] for row in rows})
    segments = sorted({row["segment_key"] for row in rows})
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=("Conversion rate", "Current weight"), horizontal_spacing=0.12
    )
    by_key = {(row["segment_key"], row["variant_id"]): row for row in rows}
    palette = qualitative.Plotly
    for position_of_variant, variant in enumerate(variants):
        colour = palette[position_of_variant % len(palette)]  # one colour per variant in both panels
        for column, key in ((1, "conversion_rate"), (2, "current_weight")):
            figure.add_trace(
                go.Bar(
                    x=segments,
                    y=[by_key.get((segment, variant), {}).get(key) for segment in segments],
                    name=variant,
                    legendgroup=variant,
                    marker_color=colour,
                    showlegend=column == 1,
                ),
                row=1,
                col=column,
            )
    figure.update_layout(barmode="group", title_text=experiment_id, legend={"orientation": "h", "y": -0.3})
    return _chart(f"experiment-{position}", figure, 360)
