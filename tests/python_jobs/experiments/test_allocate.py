"""`segments experiments allocate` and the Python segment key on the demo experiments, on DuckDB and PostgreSQL:
the Python uniform context and key against the SQL models' for every assignment, stickiness, draws from the
weights in force, and clear errors."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from python_jobs.cli.experiments import experiments_group
from python_jobs.experiments.allocation import hashed_uniform
from python_jobs.experiments.context import context_segment_key, uniform_context
from python_jobs.experiments.definitions import SEGMENT_FIELDS, segment_key
from python_jobs.experiments.visitor_allocation import _parse_user_agent
from python_jobs.warehouse.connection import Warehouse

pytestmark = pytest.mark.xdist_group("experiment_models")

SEGMENTED = "exp_hero_banner"  # segmented by source and device in the demo warehouse (conftest)
SEGMENT_BY = ("source", "device")
INSTAGRAM_IPHONE = {
    "utm_source": "Instagram",
    "utm_medium": "social",
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
}


def allocate(warehouse: Warehouse, *args: str):
    return CliRunner().invoke(
        experiments_group, ["allocate", *args, "--target", warehouse.target], catch_exceptions=False
    )


def sql_rows(warehouse: Warehouse, sql: str) -> list[dict]:
    with warehouse.session(read_only=True) as session:
        return session.fetch_arrow(sql).to_pylist()


def test_python_context_and_keys_are_the_sql_models(demo_warehouse):
    """Every demo assignment (about 1,700, all four channels): each segment field as Python reads it from the raw
    context, against int_experiment_contexts; and the configured key against int_experiment_segment_keys."""
    found = sql_rows(
        demo_warehouse,
        "select assignments.context as raw_json, experiments.time_zone, contexts.experiment_id, "
        "contexts.visitor_id, contexts.assigned_at, "
        + ", ".join(f"contexts.{field}" for field in SEGMENT_FIELDS)
        + ", keys.segment_key from raw.experiment_assignments as assignments "
        "inner join raw.experiments as experiments on assignments.experiment_id = experiments.experiment_id "
        "inner join intermediate.int_experiment_contexts as contexts "
        "on assignments.experiment_id = contexts.experiment_id and assignments.visitor_id = contexts.visitor_id "
        "inner join intermediate.int_experiment_segment_keys as keys "
        "on assignments.experiment_id = keys.experiment_id and assignments.visitor_id = keys.visitor_id",
    )
    assert len(found) > 1_000
    assert {row["channel"] for row in found} == {"web", "email", "funnel", "push"}
    for row in found:
        # int_experiment_contexts holds plain UTC timestamps.
        assigned_at = row["assigned_at"].replace(tzinfo=dt.UTC)
        uniform = uniform_context(
            row["channel"], json.loads(row["raw_json"]), assigned_at, row["time_zone"], _parse_user_agent
        )
        for field in SEGMENT_FIELDS:
            assert segment_key([(field, uniform[field])]) == segment_key([(field, row[field])]), (
                row["visitor_id"],
                field,
            )
        fields = SEGMENT_BY if row["experiment_id"] == SEGMENTED else ()
        assert context_segment_key(uniform, fields) == row["segment_key"], row["visitor_id"]


def test_an_assigned_visitor_keeps_their_variant(demo_warehouse):
    [assigned] = sql_rows(
        demo_warehouse,
        f"select visitor_id, variant_id from raw.experiment_assignments where experiment_id = '{SEGMENTED}' "
        "order by visitor_id limit 1",
    )
    result = allocate(
        demo_warehouse,
        *("--experiment", SEGMENTED, "--visitor", assigned["visitor_id"], "--channel", "web"),
        *("--context", json.dumps(INSTAGRAM_IPHONE)),
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert (printed["variant_id"], printed["is_new"]) == (assigned["variant_id"], False)
    assert printed["segment_key"] == "source:instagram|device:mobile"


def test_a_new_visitor_is_drawn_from_their_segments_weights_in_force(demo_warehouse):
    weights = sql_rows(
        demo_warehouse,
        "select variant_id, weight from ml.experiment_weights where run_id = (select run_id from "
        f"ml.experiment_weight_runs where experiment_id = '{SEGMENTED}' order by computed_at desc, run_id desc "
        "limit 1) and segment_key = 'source:instagram|device:mobile' order by variant_id",
    )
    assert weights, "the demo has Instagram phone visitors on the hero banner"
    for number in range(20):
        visitor = f"new-visitor-{number}"
        result = allocate(
            demo_warehouse,
            *("--experiment", SEGMENTED, "--visitor", visitor, "--channel", "web"),
            *("--context", json.dumps(INSTAGRAM_IPHONE)),
        )
        assert result.exit_code == 0, result.output
        printed = json.loads(result.output)
        # The variant whose interval of the cumulative weights holds the visitor's hashed number.
        u, upper = hashed_uniform(SEGMENTED, visitor), 0.0
        for row in weights:
            upper += row["weight"]
            if u < upper:
                break
        assert (printed["variant_id"], printed["is_new"]) == (row["variant_id"], True)
        assert printed["weights_from"].startswith("weight run weights_")
        again = json.loads(allocate(demo_warehouse, *result_args(visitor)).output)
        assert again == printed


def result_args(visitor: str) -> list[str]:
    return [
        *("--experiment", SEGMENTED, "--visitor", visitor, "--channel", "web"),
        *("--context", json.dumps(INSTAGRAM_IPHONE)),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--experiment", "nope", "--visitor", "v", "--channel", "web"],
            "no experiment 'nope' in raw.experiments",
        ),
        (
            ["--experiment", SEGMENTED, "--visitor", "v", "--channel", "web", "--context", "{utm_source: x}"],
            "--context is not valid JSON",
        ),
        (
            ["--experiment", SEGMENTED, "--visitor", "v", "--channel", "web", "--context", "[1, 2]"],
            "--context must be a JSON object",
        ),
        (["--experiment", SEGMENTED, "--visitor", "v", "--channel", "sms"], "--channel 'sms' is not one of"),
    ],
)
def test_mistakes_are_named_without_a_traceback(demo_warehouse, args, message):
    result = allocate(demo_warehouse, *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
