"""One definition: the features, raw tables and enums written once in Python and the dbt YAML/SQL that use them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from python_jobs import PROJECT_ROOT, definitions
from python_jobs.warehouse import raw_tables
from python_jobs.warehouse.raw_tables import RAW_TABLES

CUSTOMERS_YML = PROJECT_ROOT / "models" / "marts" / "customers" / "_customers__models.yml"
RAW_SOURCES_YML = PROJECT_ROOT / "models" / "staging" / "raw" / "_raw__sources.yml"
RAW_MODELS_YML = PROJECT_ROOT / "models" / "staging" / "raw" / "_raw__models.yml"


def load_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def customer_features_columns() -> list[dict[str, Any]]:
    models = [m for m in load_yaml(CUSTOMERS_YML)["models"] if m["name"] == "customer_features"]
    assert len(models) == 1
    return models[0]["columns"]


# ------------------------------------------------------------------------------------------------ features


def test_customer_features_columns_are_the_defined_features_in_order():
    names = [column["name"] for column in customer_features_columns()]

    assert names == ["customer_id", *definitions.feature_names(), *definitions.requirement_flags()]


SPARK_OR_DOUBLE_PRECISION = "{{ 'double' if target.type == 'spark' else 'double precision' }}"


def test_each_feature_column_is_a_double_described_with_its_axis():
    columns = {column["name"]: column for column in customer_features_columns()}

    for axis in definitions.AXES:
        for feature in axis.features:
            column = columns[feature.name]
            # The contract's type per target: PostgreSQL's and DuckDB's name, Spark's `double`.
            assert column["data_type"] in ("double precision", SPARK_OR_DOUBLE_PRECISION), feature.name
            assert axis.name in column["description"], feature.name
            assert feature.description in column["description"], feature.name


def test_feature_names_follow_the_axes():
    assert definitions.feature_names() == [f.name for axis in definitions.AXES for f in axis.features]
    assert tuple(axis.name for axis in definitions.AXES) == definitions.AXIS_NAMES


def test_axis_names_are_unique():
    assert len(set(definitions.AXIS_NAMES)) == len(definitions.AXIS_NAMES)


def test_feature_names_are_unique_across_axes():
    names = definitions.feature_names()
    duplicates = sorted({name for name in names if names.count(name) > 1})

    assert duplicates == []


def test_every_axis_has_at_least_two_features():
    thin = [axis.name for axis in definitions.AXES if len(axis.features) < 2]

    assert thin == []


def test_feature_names_are_plain_sql_identifiers():
    for name in [*definitions.AXIS_NAMES, *definitions.feature_names()]:
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", name), name


# ------------------------------------------------------------------------------------------------ raw tables


def raw_source() -> dict[str, Any]:
    sources = [s for s in load_yaml(RAW_SOURCES_YML)["sources"] if s["name"] == "raw"]
    assert len(sources) == 1
    return sources[0]


def test_raw_source_schema_is_the_raw_schema():
    assert raw_source()["schema"] == raw_tables.RAW_SCHEMA


def test_raw_source_tables_are_the_raw_tables_in_order():
    assert [table["name"] for table in raw_source()["tables"]] == list(RAW_TABLES)


@pytest.mark.parametrize("table", list(RAW_TABLES))
def test_raw_source_columns_are_the_raw_table_columns_in_order(table):
    tables = {t["name"]: t for t in raw_source()["tables"]}

    assert [column["name"] for column in tables[table]["columns"]] == RAW_TABLES[table].names


ACCEPTED_VALUES = {
    "order_status": raw_tables.ORDER_STATUSES,
    "sales_channel": raw_tables.SALES_CHANNELS,
    "event_type": raw_tables.EVENT_TYPES,
    "page_type": raw_tables.PAGE_TYPES,
    "device_type": raw_tables.DEVICE_TYPES,
    "contact_channel": raw_tables.CONTACT_CHANNELS,
    "complexity": raw_tables.COMPLEXITIES,
    "topic": raw_tables.TICKET_TOPICS,
    "experiment_status": raw_tables.EXPERIMENT_STATUSES,
    "channel": raw_tables.EXPERIMENT_CHANNELS,
    "deal_format": raw_tables.DEAL_FORMATS,
    "garm_risk_rating": raw_tables.GARM_RISK_RATINGS,
    "quality_tier": raw_tables.DEAL_QUALITY_TIERS,
    "volume_tier": raw_tables.DEAL_VOLUME_TIERS,
}


def accepted_values_in_yaml() -> dict[str, list[tuple[str, ...]]]:
    found: dict[str, list[tuple[str, ...]]] = {}
    for model in load_yaml(RAW_MODELS_YML)["models"]:
        for column in model.get("columns", []):
            for test in column.get("data_tests", []):
                if isinstance(test, dict) and "accepted_values" in test:
                    config = test["accepted_values"]
                    values = config.get("arguments", config)["values"]
                    found.setdefault(column["name"], []).append(tuple(values))
    return found


def test_every_accepted_values_list_is_checked_here():
    assert set(accepted_values_in_yaml()) == set(ACCEPTED_VALUES)


@pytest.mark.parametrize("column", list(ACCEPTED_VALUES))
def test_accepted_values_are_the_raw_schema_enums(column):
    assert accepted_values_in_yaml()[column] == [ACCEPTED_VALUES[column]]


# ------------------------------------------------------------------------------------------------ rendered SQL


@pytest.fixture(scope="module")
def compiled_customer_features(tmp_path_factory) -> str:
    work = tmp_path_factory.mktemp("dbt_compile")
    target_path = work / "target"
    env = {
        **os.environ,
        "SEGMENTS_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "NO_COLOR": "1",
    }
    dbt_py = Path(sys.executable).parent / "dbt-py"
    run = subprocess.run(
        [
            str(dbt_py),
            "compile",
            "--select",
            "customer_features",
            "--profiles-dir",
            "profiles",
            "--target",
            "local",
            "--target-path",
            str(target_path),
            "--log-path",
            str(work / "logs"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    compiled = target_path / "compiled" / "segment_warehouse" / "models" / "marts" / "customers"
    return (compiled / "customer_features.sql").read_text()


def features_cte(sql: str) -> str:
    """The body of the final `features` CTE, where the defined features become columns."""
    match = re.search(r"\bfeatures as \((.*?)\n\)", sql, flags=re.DOTALL)
    assert match, "no `features as (...)` CTE in the compiled SQL"
    return match.group(1)


def test_compiled_customer_features_selects_every_feature(compiled_customer_features):
    for name in definitions.feature_names():
        assert re.search(rf"\bas {name}\b", compiled_customer_features), name


def test_compiled_features_cte_is_customer_id_then_the_features_in_order(compiled_customer_features):
    body = features_cte(compiled_customer_features)

    aliases = re.findall(r"\bas (\w+)", body)
    aliases = [alias for alias in aliases if alias != "double"]  # `cast(... as double precision)`

    assert re.match(r"\s*select\s+customer_id,", body)
    assert aliases == definitions.feature_names()


def test_compiled_features_are_null_unless_their_requirements_hold(compiled_customer_features):
    body = " ".join(features_cte(compiled_customer_features).split())

    for feature in definitions.FEATURES:
        if feature.requires:
            flags = " and ".join(requirement.flag for requirement in feature.requires)
            expected = (
                f"cast(case when {flags} then {feature.name} end as double precision) as {feature.name}"
            )
        else:
            expected = f"cast({feature.name} as double precision) as {feature.name}"
        assert expected in body, feature.name
    assert "coalesce" not in body  # no stand-in value for missing data


def test_every_requirement_flag_is_selected(compiled_customer_features):
    body = features_cte(compiled_customer_features)

    for flag in definitions.requirement_flags():
        assert re.search(rf"\b{flag}\b", body), flag


# ------------------------------------------------------------------------------------------------ naming


def ladder_axes() -> list[definitions.Axis]:
    return [axis for axis in definitions.AXES if isinstance(axis.naming, definitions.Ladder)]


def centroids_of(axis: definitions.Axis, values: list[float]) -> list[dict[str, float]]:
    """Centroids that differ only on the axis's naming feature (the other features do not take part)."""
    return [dict.fromkeys(axis.feature_names, value) for value in values]


def test_percentile_bands_map_to_the_seven_rungs():
    cases = {0.0: 0, 0.049: 0, 0.05: 1, 0.19: 1, 0.2: 2, 0.39: 2, 0.4: 3, 0.5: 3, 0.59: 3, 0.6: 4}
    cases |= {0.79: 4, 0.8: 5, 0.949: 5, 0.95: 6, 1.0: 6}

    assert {p: definitions.percentile_band(p) for p in cases} == cases


@pytest.mark.parametrize("axis", ladder_axes(), ids=lambda axis: axis.name)
def test_two_segments_below_the_median_both_get_low_names(axis):
    # Before: k = 2 always gave the first and the last rung, whatever the values.
    names = axis.segment_names(centroids_of(axis, [1.0, 2.0]), [0.10, 0.30])

    assert names == [axis.naming.names[1], axis.naming.names[2]]


@pytest.mark.parametrize("axis", ladder_axes(), ids=lambda axis: axis.name)
def test_a_centroid_at_the_median_gets_the_middle_name_for_any_k(axis):
    for k in range(1, definitions.MAX_SEGMENTS_PER_AXIS + 1):
        percentiles = [*[0.01, 0.99, 0.1, 0.9, 0.25][: k - 1], 0.5]
        values = sorted(percentiles)
        names = axis.segment_names(centroids_of(axis, values), sorted(percentiles))

        assert names[values.index(0.5)] == axis.naming.names[3], k


def test_an_extreme_name_needs_an_extreme_centroid():
    axis = definitions.AXES_BY_NAME["purchase_value"]
    names = axis.segment_names(centroids_of(axis, [10.0, 90.0, 400.0]), [0.03, 0.55, 0.97])

    assert names == ["minimal_value", "mid_tier", "whale"]


def test_segments_in_one_band_are_told_apart_by_where_they_sit_in_it():
    axis = definitions.AXES_BY_NAME["purchase_value"]
    # Given out of order: the suffix follows the naming feature, not the position.
    two = axis.segment_names(centroids_of(axis, [95.0, 80.0]), [0.58, 0.45])
    three = axis.segment_names(centroids_of(axis, [1.0, 2.0, 3.0, 500.0]), [0.96, 0.97, 0.99, 0.999])

    assert two == ["mid_tier_upper", "mid_tier_lower"]
    assert three == ["whale_lowest", "whale_lower", "whale_upper", "whale_highest"]


@pytest.mark.parametrize("axis", definitions.AXES, ids=lambda axis: axis.name)
def test_every_name_an_axis_can_give_is_accepted_and_names_never_repeat(axis):
    rng = np.random.default_rng(0)
    accepted = set(axis.accepted_segment_names())
    for _ in range(300):
        k = int(rng.integers(1, definitions.MAX_SEGMENTS_PER_AXIS + 1))
        values = np.sort(rng.choice([0.0, 0.5, 1.0], size=k) + rng.uniform(0, 0.01, size=k)).tolist()
        centroids = [
            dict(zip(axis.feature_names, rng.uniform(size=len(axis.feature_names)), strict=True))
            for _ in values
        ]
        if isinstance(axis.naming, definitions.Ladder):
            for centroid, value in zip(centroids, values, strict=True):
                centroid[axis.naming.feature] = value
        percentiles = np.sort(rng.uniform(size=k)).tolist()
        # Per segment, percentiles on every feature: random, or all alike so that the fallback is taken too.
        spread = rng.choice([0.0, 0.1, 1.0])
        where = [
            {feature: 0.5 + spread * (rng.uniform() - 0.5) for feature in axis.feature_names} for _ in values
        ]
        names = axis.segment_names(centroids, percentiles, positions=where)

        assert len(set(names)) == k, names
        assert set(names) <= accepted, names


def test_a_ladder_cannot_be_named_without_the_population():
    with pytest.raises(ValueError, match="population percentiles"):
        definitions.AXES_BY_NAME["purchase_value"].segment_names([{"average_order_value": 1.0}])


def test_names_say_what_a_marketer_reads_into_them():
    names = {name for axis in definitions.AXES for name in axis.accepted_segment_names()}

    # No tickets is not "opted out of contact": it is an explicit segment saying exactly that.
    assert "no_contact" not in names
    assert "no_tickets" in definitions.AXES_BY_NAME["communication_preference"].accepted_segment_names()
    # The lowest share of quick reorders is not "bought once": those customers may have several orders.
    assert "one_off" not in names
    # A spend trend says which way spend moves, not how long ago the customer left.
    trend = definitions.AXES_BY_NAME["loyalty_trajectory"].naming.names
    assert not {"lapsed", "fading"} & set(trend)
    assert all(name.startswith("spend_") for name in trend)
    # A ladder names a place in the population: its lowest rung is not "none" (entropy 0 is one category, and
    # the typical customer of a shop where most open no ticket needs typical, not "some", support).
    assert "no_categories" not in names
    assert definitions.AXES_BY_NAME["problem_complexity"].naming.names[3] == "typical_support"
    # One name is one meaning: no clustered name on two axes (repurchase and return both had `rare_returner`);
    # the explicit segments (`no_orders`, ...) mean the same on every axis that has them.
    every = [
        name for axis in definitions.AXES for name in set(axis.naming.accepted_names(axis.feature_names))
    ]
    assert len(every) == len(set(every))
    explicit = {name for axis in definitions.AXES for name in axis.unclustered_segment_names()}
    assert not explicit & set(every)


def test_a_collapse_is_named_a_collapse_even_when_it_is_the_majority():
    axis = definitions.AXES_BY_NAME["loyalty_trajectory"]
    # Spend fell to 2% of the half-year before (ln 0.02 = -3.9) for the bigger segment, which a percentile
    # would have put in the middle ("easing"); the other segment doubled its spend.
    centroids = [
        {"spend_trend_log_ratio": -3.9, "order_count_trend": -2.0},
        {"spend_trend_log_ratio": 0.69, "order_count_trend": 1.0},
    ]

    assert axis.segment_names(centroids, [0.3, 0.8]) == ["spend_collapsing", "spend_growing"]


def test_value_bands_include_their_floor():
    axis = definitions.AXES_BY_NAME["customer_maturity"]
    centroids = [{"tenure_days": days, "days_since_first_order": 0.0} for days in (90.0, 91.0, 365.0, 2000.0)]

    assert axis.segment_names(centroids, [0.1, 0.2, 0.5, 0.9]) == [
        "new_under_3_months",
        "new_3_to_6_months",
        "one_to_two_years",
        "veteran_over_4_years",
    ]


def test_a_holiday_season_buyer_is_named_so_whatever_the_gaps():
    axis = definitions.AXES_BY_NAME["purchase_cadence"]
    centroids = [
        {"weekend_order_share": 0.3, "holiday_season_order_share": 0.12, "mean_days_between_purchases": 30.0},
        {"weekend_order_share": 0.3, "holiday_season_order_share": 0.75, "mean_days_between_purchases": 30.0},
        {
            "weekend_order_share": 0.3,
            "holiday_season_order_share": 0.10,
            "mean_days_between_purchases": 300.0,
        },
    ]

    assert axis.segment_names(centroids, [0.3, 0.5, 0.9]) == [
        "monthly",
        "holiday_season_buyer",
        "yearly_or_less",
    ]
    assert set(axis.segment_names(centroids, [0.3, 0.5, 0.9])) <= set(axis.accepted_segment_names())
