"""The experiment models, built for real by dbt around the parse_user_agents job, on DuckDB and PostgreSQL, from a
tiny hand-made data set whose every expected value is worked out by hand below: the uniform context of each
channel (int_experiment_contexts), the manual segment keys, and marts.experiment_traffic_stats.

The warehouse is built once per target for the module (each build runs dbt twice and the job once)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from datetime import date

import pyarrow as pa
import pytest

from python_jobs.experiments.config import change_config
from python_jobs.experiments.definitions import segment_key
from python_jobs.warehouse.connection import Warehouse
from python_jobs.warehouse.raw_tables import EXPERIMENT_RAW_TABLES, RAW_SCHEMA, RAW_TABLES

# One worker builds each target once for the whole module.
pytestmark = pytest.mark.xdist_group("experiment_models")

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def experiment(experiment_id: str, time_zone: str | None) -> dict:
    return {
        "experiment_id": experiment_id,
        "experiment_name": experiment_id,
        "experiment_status": "running",
        "created_at": utc(2026, 5, 1),
        "time_zone": time_zone,
    }


def assignment(experiment_id: str, visitor: str, at: dt.datetime, channel: str, context: dict | str) -> dict:
    return {
        "experiment_id": experiment_id,
        "variant_id": "A",
        "visitor_id": visitor,
        "assigned_at": at,
        "channel": channel,
        "context": context if isinstance(context, str) else json.dumps(context),
    }


EXPERIMENTS = [
    experiment("web_paris", "Europe/Paris"),
    experiment("mail_ny", "America/New_York"),
    experiment("funnel_utc", None),
    experiment("push_utc", " "),
]
ASSIGNMENTS = [
    # 2026-06-01 is a Monday. 22:30 UTC is 00:30 on Tuesday in Paris (summer time, UTC+2).
    assignment(
        "web_paris",
        "w1",
        utc(2026, 6, 1, 22, 30),
        "web",
        {
            "utm_source": " Instagram ",
            "utm_medium": "Social",
            "user_agent": IPHONE,
            "country_code": "fr",
            "beta_banner": True,  # a key no channel defines: kept in raw_context
        },
    ),
    assignment(
        "web_paris",
        "w2",
        utc(2026, 6, 6, 10),  # Saturday, 12:00 in Paris
        "web",
        {"referrer": "https://www.Pinterest.com:443/pin/1?x=2", "user_agent": WINDOWS},
    ),
    assignment("web_paris", "w3", utc(2026, 6, 2, 8), "Web", {"user_agent": GOOGLEBOT}),
    assignment("web_paris", "w4", utc(2026, 6, 2, 9), "web", "{}"),
    assignment(
        "web_paris", "w5", utc(2026, 6, 2, 9, 30), "web", {"utm_source": "a|b:c", "user_agent": "garbage"}
    ),
    # 03:00 UTC on Monday is 23:00 on Sunday in New York (UTC-4).
    assignment(
        "mail_ny",
        "e1",
        utc(2026, 6, 1, 3),
        "email",
        {"list_id": "weekly", "engagement_score": "0.75", "previous_opens": 12, "campaign_id": "c1"},
    ),
    assignment(
        "mail_ny",
        "e2",
        utc(2026, 6, 1, 15),
        "email",
        {"list_id": "VIP", "engagement_score": "high", "previous_opens": "3.5", "utm_source": "ignored"},
    ),
    assignment(
        "funnel_utc",
        "f1",
        utc(2026, 6, 1, 10),
        "funnel",
        {
            "funnel_id": "checkout",
            "current_stage": "payment",
            "drop_risk": 0.4,
            "time_in_funnel_minutes": "12.5",
        },
    ),
    assignment(
        "funnel_utc", "f2", utc(2026, 6, 3, 10), "funnel", {"current_stage": "cart", "drop_risk": -1e-3}
    ),
    assignment("funnel_utc", "f3", utc(2026, 6, 3, 23, 59), "funnel", {"current_stage": "cart"}),
    assignment("funnel_utc", "f4", utc(2026, 6, 9, 0, 1), "funnel", {"current_stage": "shipping"}),
    assignment(
        "push_utc", "p1", utc(2026, 6, 7, 6), "push", {"app": "shop", "platform": "iOS", "os_version": "17.4"}
    ),
    assignment(
        "push_utc",
        "p2",
        utc(2026, 6, 7, 7),
        "push",
        {"app": "shop", "platform": "Android", "os_version": "14"},
    ),
]


def _write_and_build(warehouse: Warehouse, build_experiment_models) -> None:
    tables = {
        "experiments": EXPERIMENTS,
        "experiment_variants": [
            {"experiment_id": e["experiment_id"], "variant_id": "A"} for e in EXPERIMENTS
        ],
        "experiment_assignments": ASSIGNMENTS,
    }
    with warehouse.session() as session:
        session.replace_tables(
            RAW_SCHEMA,
            {
                name: pa.Table.from_pylist(tables.get(name, []), schema=RAW_TABLES[name])
                for name in EXPERIMENT_RAW_TABLES
            },
        )
    change_config(warehouse, "web_paris", changed_by="cli", mode="manual", segment_by=("source", "device"))
    change_config(
        warehouse, "mail_ny", changed_by="cli", mode="manual", segment_by=("list_id", "previous_opens")
    )
    change_config(warehouse, "funnel_utc", changed_by="cli", mode="manual", segment_by=("current_stage",))
    build_experiment_models(warehouse)


@pytest.fixture(scope="module", params=["local", pytest.param("postgres", marks=pytest.mark.postgres)])
def experiment_warehouse(request, scratch_warehouses, build_experiment_models) -> Iterator[Warehouse]:
    """One warehouse per target for the whole module, built once (each build is two dbt runs and the job)."""
    with (
        pytest.MonkeyPatch.context() as patch,
        scratch_warehouses(request.param, "contexts", patch) as warehouse,
    ):
        _write_and_build(warehouse, build_experiment_models)
        yield warehouse


def rows(warehouse: Warehouse, sql: str) -> list[tuple]:
    with warehouse.session() as session:
        return session.fetchall(sql)


def contexts(warehouse: Warehouse) -> dict[str, dict]:
    with warehouse.session() as session:
        table = session.fetch_arrow("select * from intermediate.int_experiment_contexts")
    return {row["visitor_id"]: row for row in table.to_pylist()}


UNIFORM = (
    "channel",
    "source",
    "medium",
    "device",
    "os",
    "browser",
    "country",
    "hour",
    "day_of_week",
    "is_weekend",
)


def uniform(row: dict) -> tuple:
    return tuple(row[name] for name in UNIFORM)


def test_web_contexts(experiment_warehouse):
    found = contexts(experiment_warehouse)

    assert uniform(found["w1"]) == (
        "web",
        "instagram",
        "social",
        "mobile",
        "iOS",
        "Mobile Safari",
        "FR",
        0,
        "tuesday",
        False,
    )
    assert uniform(found["w2"]) == (
        "web",
        "pinterest.com",
        "referral",
        "desktop",
        "Windows",
        "Chrome",
        None,
        12,
        "saturday",
        True,
    )
    assert uniform(found["w3"]) == (
        "web",
        "direct",
        "none",
        "bot",
        None,
        "Googlebot",
        None,
        10,
        "tuesday",
        False,
    )
    assert uniform(found["w4"]) == (
        "web",
        "direct",
        "none",
        "unknown",
        None,
        None,
        None,
        11,
        "tuesday",
        False,
    )
    assert found["w5"]["device"] == "unknown"
    assert found["w1"]["assigned_on"] == date(2026, 6, 2)  # Paris, not UTC
    assert (found["w1"]["utm_source"], found["w1"]["utm_medium"], found["w1"]["country_code"]) == (
        "Instagram",
        "Social",
        "fr",
    )
    assert found["w2"]["referrer"] == "https://www.Pinterest.com:443/pin/1?x=2"
    assert found["w1"]["user_agent"] == IPHONE
    assert json.loads(found["w1"]["raw_context"])["beta_banner"] is True
    assert (found["w1"]["list_id"], found["w1"]["platform"]) == (None, None)


def test_email_contexts_in_new_york_time_with_typed_fields(experiment_warehouse):
    found = contexts(experiment_warehouse)

    assert uniform(found["e1"]) == (
        "email",
        "email",
        "email",
        "unknown",
        None,
        None,
        None,
        23,
        "sunday",
        True,
    )
    assert (found["e1"]["list_id"], found["e1"]["engagement_score"], found["e1"]["previous_opens"]) == (
        "weekly",
        0.75,
        12,
    )
    assert found["e1"]["campaign_id"] == "c1"
    # Values that are not numbers are null, never a failed build; another channel's key is ignored.
    assert (found["e2"]["engagement_score"], found["e2"]["previous_opens"], found["e2"]["utm_source"]) == (
        None,
        None,
        None,
    )
    assert found["e1"]["assigned_on"] == date(2026, 5, 31)


def test_funnel_and_push_contexts(experiment_warehouse):
    found = contexts(experiment_warehouse)

    assert uniform(found["f1"]) == (
        "funnel",
        "funnel",
        "funnel",
        "unknown",
        None,
        None,
        None,
        10,
        "monday",
        False,
    )
    assert (found["f1"]["funnel_id"], found["f1"]["current_stage"]) == ("checkout", "payment")
    assert (found["f1"]["drop_risk"], found["f1"]["time_in_funnel_minutes"]) == (0.4, 12.5)
    assert found["f2"]["drop_risk"] == -0.001
    assert uniform(found["p1"]) == ("push", "push", "push", "mobile", "iOS", None, None, 6, "sunday", True)
    assert uniform(found["p2"])[3:5] == ("mobile", "Android")
    assert (found["p1"]["app"], found["p1"]["platform"], found["p1"]["os_version"]) == ("shop", "iOS", "17.4")
    assert found["p1"]["assigned_on"] == date(2026, 6, 7)  # a blank time zone is UTC


def test_segment_keys_follow_the_configured_fields_in_order(experiment_warehouse):
    keys = dict(
        rows(
            experiment_warehouse,
            "select visitor_id, segment_key from intermediate.int_experiment_segment_keys",
        )
    )

    assert keys["w1"] == "source:instagram|device:mobile"
    assert keys["w2"] == "source:pinterest.com|device:desktop"
    assert keys["w3"] == "source:direct|device:bot"
    assert keys["w5"] == "source:a_b_c|device:unknown"  # the separators inside a value become _
    assert keys["e1"] == "list_id:weekly|previous_opens:12"
    assert keys["e2"] == "list_id:vip|previous_opens:unknown"
    assert keys["f1"] == "current_stage:payment"
    assert keys["p1"] == "all"  # push_utc has no config: not segmented


def test_segment_keys_are_the_python_definition(experiment_warehouse):
    """The SQL keys against python_jobs.experiments.definitions.segment_key, visitor by visitor."""
    found = contexts(experiment_warehouse)
    fields = {
        "web_paris": ("source", "device"),
        "mail_ny": ("list_id", "previous_opens"),
        "funnel_utc": ("current_stage",),
    }
    for visitor, key in rows(
        experiment_warehouse, "select visitor_id, segment_key from intermediate.int_experiment_segment_keys"
    ):
        context = found[visitor]
        expected = segment_key(
            [(field, context[field]) for field in fields.get(context["experiment_id"], ())]
        )
        assert key == expected, visitor


def test_traffic_stats_worked_by_hand(experiment_warehouse):
    stats = rows(
        experiment_warehouse,
        "select activity_date, visitors, trailing_7_day_visitors, trailing_7_day_mean_visitors, days_in_window "
        "from marts.experiment_traffic_stats where experiment_id = 'funnel_utc' and segment_key = 'all' "
        "order by activity_date",
    )
    # Visitors on June 1, 3 (two) and 9; every day in between is there with 0.
    daily = [1, 0, 2, 0, 0, 0, 0, 0, 1]
    trailing = [1, 1, 3, 3, 3, 3, 3, 2, 3]  # June 8 drops June 1; June 9 keeps June 3..9
    assert [row[0] for row in stats] == [date(2026, 6, day) for day in range(1, 10)]
    assert [row[1] for row in stats] == daily
    assert [row[2] for row in stats] == trailing
    assert [row[3] for row in stats] == [total / 7 for total in trailing]
    assert [row[4] for row in stats] == [1, 2, 3, 4, 5, 6, 7, 7, 7]


def test_traffic_stats_per_segment(experiment_warehouse):
    stats = rows(
        experiment_warehouse,
        "select segment_key, activity_date, visitors, trailing_7_day_visitors from marts.experiment_traffic_stats "
        "where experiment_id = 'funnel_utc' and segment_key != 'all' and visitors > 0 order by 1, 2",
    )
    assert stats == [
        ("current_stage:cart", date(2026, 6, 3), 2, 2),
        ("current_stage:payment", date(2026, 6, 1), 1, 1),
        ("current_stage:shipping", date(2026, 6, 9), 1, 1),
    ]
    cart_days = rows(
        experiment_warehouse,
        "select count(*), sum(visitors) from marts.experiment_traffic_stats "
        "where experiment_id = 'funnel_utc' and segment_key = 'current_stage:cart'",
    )
    assert [tuple(int(value) for value in row) for row in cart_days] == [
        (9, 2)
    ]  # every day of the experiment


def test_traffic_days_are_the_experiments_local_days(experiment_warehouse):
    days = rows(
        experiment_warehouse,
        "select activity_date, visitors from marts.experiment_traffic_stats "
        "where experiment_id = 'web_paris' and segment_key = 'all' order by activity_date",
    )
    assert days == [
        (date(2026, 6, 2), 4),
        (date(2026, 6, 3), 0),
        (date(2026, 6, 4), 0),
        (date(2026, 6, 5), 0),
        (date(2026, 6, 6), 1),
    ]
