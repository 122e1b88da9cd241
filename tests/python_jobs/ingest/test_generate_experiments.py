"""The synthetic A/B tests: reproducible, true to the raw contract, growing traffic and effects that differ by
segment, checked from the generated rows themselves (never from the generator's own rate table)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from python_jobs.ingest.generate.experiments import DEVICE_AGENTS, generate_experiment_tables
from python_jobs.warehouse.raw_tables import EXPERIMENT_CHANNELS, EXPERIMENT_RAW_TABLES, RAW_TABLES


@pytest.fixture(scope="module")
def tables():
    return generate_experiment_tables(seed=7)


def test_same_seed_same_data_and_another_seed_other_data(tables):
    again = generate_experiment_tables(seed=7)
    other = generate_experiment_tables(seed=8)

    assert all(tables[name].equals(again[name]) for name in EXPERIMENT_RAW_TABLES)
    assert not tables["experiment_assignments"].equals(other["experiment_assignments"])


def test_tables_follow_the_raw_schemas(tables):
    assert set(tables) == set(EXPERIMENT_RAW_TABLES)
    for name, table in tables.items():
        assert table.schema.equals(RAW_TABLES[name])


def test_every_channel_is_there_with_two_to_four_variants(tables):
    assignments = tables["experiment_assignments"].to_pylist()
    assert {row["channel"] for row in assignments} == set(EXPERIMENT_CHANNELS)
    variants = Counter(row["experiment_id"] for row in tables["experiment_variants"].to_pylist())
    assert len(variants) >= 4
    assert all(2 <= count <= 4 for count in variants.values())


def daily_visitors(tables) -> dict[str, list[int]]:
    per_day: dict[str, Counter] = defaultdict(Counter)
    for row in tables["experiment_assignments"].select(["experiment_id", "assigned_at"]).to_pylist():
        per_day[row["experiment_id"]][row["assigned_at"].date()] += 1
    return {experiment: [days[day] for day in sorted(days)] for experiment, days in per_day.items()}


def test_traffic_grows_and_spans_the_thresholds(tables):
    days = daily_visitors(tables)
    peaks = sorted(max(counts) for counts in days.values())

    assert all(counts[-1] > 2 * counts[0] for counts in days.values())
    assert peaks[0] < 1_000  # one stays under 1,000 a day
    assert any(1_000 < peak < 10_000 for peak in peaks)  # one passes 1,000
    assert peaks[-1] > 10_000  # one passes 10,000


def test_the_scale_multiplies_the_traffic():
    small = generate_experiment_tables(seed=7, scale=0.1)["experiment_assignments"].num_rows
    normal = generate_experiment_tables(seed=7)["experiment_assignments"].num_rows
    empty = generate_experiment_tables(seed=7, scale=0)

    assert 0.08 * normal < small < 0.12 * normal
    assert all(table.num_rows == 0 for table in empty.values())


def test_contexts_are_json_objects_with_their_channels_fields(tables):
    expected = {
        "web": {"user_agent", "country_code"},
        "email": {"list_id", "engagement_score", "previous_opens", "campaign_id"},
        "funnel": {"funnel_id", "current_stage", "drop_risk", "time_in_funnel_minutes"},
        "push": {"app", "platform", "os_version"},
    }
    for row in tables["experiment_assignments"].to_pylist()[::97]:
        context = json.loads(row["context"])
        assert expected[row["channel"]] <= set(context)


def test_web_visitors_carry_agents_of_every_device_class_and_bots_never_convert(tables):
    converted = {(r["experiment_id"], r["visitor_id"]) for r in tables["experiment_conversions"].to_pylist()}
    bot_agents = {agent.split("{v}")[0] for agent in DEVICE_AGENTS["bot"]}
    agents, bot_conversions, bots = set(), 0, 0
    for row in tables["experiment_assignments"].to_pylist():
        if row["channel"] != "web":
            continue
        agent = json.loads(row["context"])["user_agent"]
        agents.add(agent)
        if any(agent.startswith(prefix) for prefix in bot_agents):
            bots += 1
            bot_conversions += (row["experiment_id"], row["visitor_id"]) in converted
    assert bots > 100
    assert bot_conversions == 0
    for device in ("iPhone", "iPad", "Android", "Windows NT", "Macintosh", "Googlebot"):
        assert any(device in agent for agent in agents), device


def rate_by(tables, experiment: str, segment_of) -> dict[tuple[str, str], float]:
    converted = {(r["experiment_id"], r["visitor_id"]) for r in tables["experiment_conversions"].to_pylist()}
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in tables["experiment_assignments"].to_pylist():
        if row["experiment_id"] != experiment:
            continue
        segment = segment_of(json.loads(row["context"]))
        counts[(segment, row["variant_id"])][0] += 1
        counts[(segment, row["variant_id"])][1] += (experiment, row["visitor_id"]) in converted
    return {key: conversions / visitors for key, (visitors, conversions) in counts.items()}


def web_segment(context: dict) -> str:
    agent = context["user_agent"]
    device = "mobile" if ("iPhone" in agent or " Mobile" in agent) and "iPad" not in agent else "other"
    device = "desktop" if ("Windows NT" in agent or "Macintosh" in agent or "X11" in agent) else device
    return f"{context.get('utm_source')}|{device}"


def test_the_best_variant_differs_by_segment(tables):
    rates = rate_by(tables, "exp_hero_banner", web_segment)

    assert rates[("instagram|mobile", "B")] > 1.5 * rates[("instagram|mobile", "A")]
    assert rates[("google|desktop", "A")] > 1.5 * rates[("google|desktop", "B")]
