"""The parse_user_agents job on a real warehouse (DuckDB and PostgreSQL): each distinct agent parsed once, a
second run adds nothing, a new agent is added alone, and a failure writes nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from python_jobs.experiments import user_agent_job
from python_jobs.experiments.user_agent_job import parse_new_user_agents
from python_jobs.warehouse.dbt_runner import run_dbt
from python_jobs.warehouse.ml_tables import ML_SCHEMA

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HUGE = "Mozilla/5.0 " + "A" * 50_000


def assignment(visitor: str, channel: str, context: dict) -> dict:
    return {
        "experiment_id": "hero",
        "variant_id": "A",
        "visitor_id": visitor,
        "assigned_at": dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC),
        "channel": channel,
        "context": json.dumps(context),
    }


ASSIGNMENTS = [
    assignment("v1", "web", {"user_agent": IPHONE}),
    assignment("v2", "web", {"user_agent": IPHONE}),
    assignment("v3", "web", {"user_agent": WINDOWS}),
    assignment("v4", "web", {"user_agent": GOOGLEBOT}),
    assignment("v5", "web", {"user_agent": " "}),  # blank: no agent, so nothing to parse
    assignment("v6", "web", {"user_agent": HUGE}),
    assignment("v7", "web", {"utm_source": "google"}),  # no agent at all
    assignment("v8", "push", {"platform": "ios", "user_agent": "not a web agent"}),
]
EXPERIMENT = {"experiment_id": "hero", "experiment_name": "Hero", "experiment_status": "running"}


def build_job_input(warehouse) -> None:
    # The staging models of all four raw tables: the relationship tests between them run with any of them.
    models = [
        "+int_experiment_user_agents",
        "stg_raw__experiment_variants",
        "stg_raw__experiment_conversions",
        "stg_raw__experiments",
    ]
    run = run_dbt(["build", "--select", *models], target=warehouse.target)
    assert run.ok, run.problem_summary()


def lookup(warehouse) -> dict[str, tuple]:
    with warehouse.session() as session:
        rows = session.fetchall(
            f"select user_agent, device, os, browser, run_id from {ML_SCHEMA}.user_agent_lookup"
        )
    return {row[0]: row[1:] for row in rows}


def test_each_distinct_agent_is_parsed_once_and_only_new_ones_later(warehouse, write_experiment_tables):
    write_experiment_tables(warehouse, experiments=[EXPERIMENT], experiment_assignments=ASSIGNMENTS)
    build_job_input(warehouse)

    assert parse_new_user_agents(warehouse, echo=lambda _: None) == 4
    first = lookup(warehouse)
    assert {agent: row[:3] for agent, row in first.items()} == {
        IPHONE: ("mobile", "iOS", "Mobile Safari"),
        WINDOWS: ("desktop", "Windows", "Chrome"),
        GOOGLEBOT: ("bot", None, "Googlebot"),
        HUGE: ("unknown", None, None),
    }
    assert parse_new_user_agents(warehouse, echo=lambda _: None) == 0

    ipad = "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
    write_experiment_tables(
        warehouse,
        experiments=[EXPERIMENT],
        experiment_assignments=[*ASSIGNMENTS, assignment("v9", "web", {"user_agent": ipad})],
    )
    build_job_input(warehouse)

    assert parse_new_user_agents(warehouse, echo=lambda _: None) == 1
    second = lookup(warehouse)
    assert second[ipad][0] == "tablet"
    assert {agent: row for agent, row in second.items() if agent != ipad} == first  # untouched, same run ids
    assert second[ipad][3] != first[IPHONE][3]


def test_a_failing_run_writes_nothing(duckdb_warehouse, write_experiment_tables, monkeypatch):
    write_experiment_tables(duckdb_warehouse, experiments=[EXPERIMENT], experiment_assignments=ASSIGNMENTS)
    build_job_input(duckdb_warehouse)
    real_parse, parsed = user_agent_job.parse_user_agent, []

    def parse_then_fail(agent):
        if len(parsed) == 3:
            raise RuntimeError("the parser broke on the fourth agent")
        parsed.append(agent)
        return real_parse(agent)

    monkeypatch.setattr(user_agent_job, "parse_user_agent", parse_then_fail)

    with pytest.raises(RuntimeError, match="fourth agent"):
        parse_new_user_agents(duckdb_warehouse, echo=lambda _: None)

    with duckdb_warehouse.session() as session:
        assert not session.table_exists(ML_SCHEMA, "user_agent_lookup")
