"""The command line end to end, on a real warehouse: generate or load, build, and check the marts.

The RFM columns are checked two ways: against an independent Python computation over the raw tables of a
generated data set, and against values worked out by hand for a small transactions file that holds the edge
cases (two purchases on one day, a single purchase, purchases after observation_end).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from click.testing import CliRunner

from python_jobs.cli import main
from python_jobs.definitions import AXES
from python_jobs.warehouse.connection import Warehouse


def invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def table(warehouse: Warehouse, sql: str) -> list[dict]:
    with warehouse.session(read_only=True) as session:
        return session.fetch_arrow(sql).to_pylist()


def canonical_ids(merges: list[dict], max_depth: int = 10) -> dict[str, str]:
    """Merge resolution written independently of the SQL: follow each chain; a loop resolves to its smallest id."""
    # The rows staging sets aside: a side missing, a merge into itself, an account merged into two accounts.
    targets: dict[str, set[str]] = defaultdict(set)
    for m in merges:
        source, target = (m["source_customer_id"] or "").strip(), (m["target_customer_id"] or "").strip()
        if source and target and source != target:
            targets[source].add(target)
    target_of = {source: next(iter(found)) for source, found in targets.items() if len(found) == 1}
    resolved = {}
    for start in target_of:
        path = [start]
        current = start
        while current in target_of and len(path) <= max_depth:
            current = target_of[current]
            if current in path:
                loop = path[path.index(current) :]
                current = min(loop)
                break
            path.append(current)
        resolved[start] = current
    return resolved


def _cents(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _clean(value: str | None) -> str | None:
    return (value or "").strip() or None


def net_order_values(warehouse: Warehouse, observation_end: dt.date) -> dict[str, list[tuple]]:
    """Per canonical customer, (date, net value) of each completed order, written independently of the SQL from
    the `order_value` doc: the total (net of its refund lines already) less its lines flagged returned; each
    refund (a negative total) taken by the customer's latest completed order at or before it."""
    merges = table(warehouse, "select source_customer_id, target_customer_id from raw.customer_id_merges")
    canonical = canonical_ids(merges)
    orders = table(
        warehouse, "select order_id, customer_id, ordered_at, order_status, order_total from raw.orders"
    )
    lines = table(
        warehouse,
        "select order_item_id, order_id, quantity, unit_price, discount_amount from raw.order_items where is_returned",
    )
    returned: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        order_id, quantity, price = _clean(line["order_id"]), line["quantity"], line["unit_price"]
        if _clean(line["order_item_id"]) is None or order_id is None or not quantity or price is None:
            continue  # quarantined
        if quantity < 0 or price < 0:
            continue  # a refund line (or a quarantined one): the total already holds it
        returned[order_id] += quantity * _cents(price) - _cents(line["discount_amount"] or 0)
    events: dict[str, list[tuple]] = defaultdict(list)
    for order in orders:
        order_id, customer = _clean(order["order_id"]), _clean(order["customer_id"])
        if (
            order_id is None
            or customer is None
            or order["order_total"] is None
            or order["ordered_at"] is None
        ):
            continue
        at = order["ordered_at"].astimezone(dt.UTC)
        total = _cents(order["order_total"])
        if at.date() > observation_end:
            continue
        is_refund = total < 0
        if not is_refund and (_clean(order["order_status"]) or "").lower() != "completed":
            continue
        events[canonical.get(customer, customer)].append((at, is_refund, order_id, total))
    values: dict[str, list[tuple]] = {}
    for customer, timeline in events.items():
        purchases: list[list] = []
        for at, is_refund, order_id, total in sorted(timeline):
            if is_refund:
                if purchases:
                    purchases[-1][1] += total  # a negative total: money back
                continue
            purchases.append([at.date(), total - returned[order_id]])
        values[customer] = [(day, value) for day, value in purchases]
    return values


def expected_rfm(warehouse: Warehouse, observation_end: dt.date) -> dict[str, tuple]:
    """rfm_frequency, recency, age and monetary value per customer, from the raw tables: purchase days are the
    first day with a completed order and the later days whose completed orders net above 0."""
    expected = {}
    for customer, orders in net_order_values(warehouse, observation_end).items():
        day_values: dict[dt.date, Decimal] = defaultdict(Decimal)
        for day, value in orders:
            day_values[day] += value
        if not day_values:
            continue  # refunds only
        first = min(day_values)
        days = sorted(day for day, value in day_values.items() if day == first or value > 0)
        repeat = [day_values[day] for day in days[1:]]
        monetary = sum(repeat) / len(repeat) if repeat else Decimal(0)
        expected[customer] = (
            len(days) - 1,
            (days[-1] - days[0]).days,
            (observation_end - days[0]).days,
            float(monetary.quantize(Decimal("0.01"), ROUND_HALF_UP)),
        )
    return expected


def actual_rfm(warehouse: Warehouse) -> dict[str, tuple]:
    rows = table(
        warehouse,
        "select customer_id, rfm_frequency, rfm_recency_days, rfm_age_days, rfm_monetary_value "
        "from marts.customer_profiles where rfm_frequency is not null",
    )
    return {
        row["customer_id"]: (
            row["rfm_frequency"],
            row["rfm_recency_days"],
            row["rfm_age_days"],
            float(row["rfm_monetary_value"]),
        )
        for row in rows
    }


def test_generate_then_build_gives_profiles_that_match_the_raw_data(built, monkeypatch):
    """The session's warehouse, generated and built by the real `segments` command (tests/conftest.py)."""
    warehouse, target = built.warehouse, built.warehouse.target
    for name, value in built.environment.items():
        monkeypatch.setenv(name, value)
    assert "Build succeeded." in built.build_output
    assert "marts.customer_profiles" in built.build_output

    observation_end = table(warehouse, "select max(observation_end) as d from marts.customer_profiles")[0][
        "d"
    ]
    last_order = table(
        warehouse, "select max(ordered_at) as t from raw.orders where ordered_at <= current_timestamp"
    )[0]["t"]
    assert str(observation_end)[:10] == last_order.astimezone(dt.UTC).date().isoformat()

    expected = expected_rfm(warehouse, dt.date.fromisoformat(str(observation_end)[:10]))
    actual = actual_rfm(warehouse)
    features = table(warehouse, "select count(*) as n from marts.customer_features")[0]["n"]
    profiles = table(warehouse, "select count(*) as n from marts.customer_profiles")[0]["n"]
    segments = table(warehouse, "select count(*) as n from marts.customer_segments")[0]["n"]
    assert len(expected) > profiles * 0.8
    assert actual == expected
    assert features == profiles == segments

    # One customer's memberships, asked for by a merged-away account id, come back for the canonical customer.
    merge = first_resolved_merge(warehouse)
    answer = json.loads(invoke("assign", "--customer-id", merge["customer_id"], "--target", target))
    assert answer["customer_id"] == merge["canonical_customer_id"]
    assert answer["source"] == "marts.customer_segments"
    assert set(answer["memberships"]) == {axis.name for axis in AXES}
    stored = table(
        warehouse,
        f"select purchase_value from marts.customer_segments where customer_id = '{answer['customer_id']}'",
    )[0]["purchase_value"]
    assert answer["memberships"]["purchase_value"]["segment"] == stored


def first_resolved_merge(warehouse: Warehouse) -> dict:
    return table(
        warehouse,
        "select customer_id, canonical_customer_id from intermediate.int_customer_merges_resolved "
        "where resolution_status = 'resolved' order by customer_id limit 1",
    )[0]


def test_a_customer_missing_from_the_mart_is_placed_live_as_the_sql_placed_them(built_copy):
    warehouse, target = built_copy.warehouse, built_copy.warehouse.target
    merge = first_resolved_merge(warehouse)
    customer = merge["canonical_customer_id"]
    mart_row = table(warehouse, f"select * from marts.customer_segments where customer_id = '{customer}'")
    with warehouse.session() as session:
        session.execute("delete from marts.customer_segments where customer_id = ?", [customer])

    live = json.loads(invoke("assign", "--customer-id", merge["customer_id"], "--target", target))

    assert live["customer_id"] == customer
    assert live["source"].startswith("computed from marts.customer_features")
    assert live["segmentation_run_id"] == mart_row[0]["segmentation_run_id"]
    for axis in AXES:
        assert live["memberships"][axis.name]["segment"] == mart_row[0][axis.name]
        stored = mart_row[0][f"{axis.name}_strength"]
        if stored is None:  # an explicit segment (the customer lacks data the axis needs) has no strength
            assert live["memberships"][axis.name]["strength"] is None
        else:
            assert live["memberships"][axis.name]["strength"] == pytest.approx(float(stored), abs=1e-3)


@pytest.mark.long
@pytest.mark.parametrize("target", ["local", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_an_earlier_observation_end_ignores_everything_after_it(target, request):
    """A small warehouse (300 customers) built as of a date before its last orders. Every mart is a table dbt
    rebuilds whole, so a first build tests what a rebuild at an earlier date would. (That a second build of the
    same inputs changes nothing is tests/dbt_models/test_rebuild_is_identical.py.)

    At that date one clustered segment of this warehouse has no customer with a CLV prediction, so it has no
    expected ROI: the build must explain it as it explains the no_orders groups, not fail."""
    warehouse = request.getfixturevalue("duckdb_warehouse" if target == "local" else "postgres_warehouse")
    invoke("generate", "--customers", "300", "--seed", "42", "--experiment-scale", "0.05", "--target", target)
    invoke("build", "--target", target, "--observation-end", "2025-12-31")
    late = table(
        warehouse,
        "select count(*) as n from marts.customer_profiles "
        "where last_order_at >= cast('2026-01-01' as timestamp) or observation_end <> cast('2025-12-31' as date)",
    )[0]["n"]
    assert late == 0
    assert actual_rfm(warehouse) == expected_rfm(warehouse, dt.date(2025, 12, 31))
    without_roi = table(
        warehouse,
        "select insights.expected_roi_assumption, summary.expected_roi from marts.segment_insights as insights "
        "inner join marts.segment_summary as summary "
        "on insights.axis_name = summary.axis_name and insights.segment_name = summary.segment_name "
        "where insights.is_clustered and insights.expected_roi is null",
    )
    assert without_roi, "the case this warehouse is built for: a clustered segment without a CLV prediction"
    for row in without_roi:
        assert row["expected_roi"] is None
        assert row["expected_roi_assumption"].startswith(
            "no return estimated: none of these customers has a CLV"
        )


EDGE_CASES_CSV = """\
customer,when,amount,order
 repeat ,2025-01-01T09:00:00,10.00,A1
repeat,2025-01-01T18:30:00,15.00,A2
repeat,2025-01-11,10.00,A3
repeat,2025-03-01T12:00:00+02:00,30.00,A4
single,2025-06-01,50.00,B1
late,2025-06-30T23:00:00,20.00,C1
late,2025-07-05,99.00,C2
late,2025-06-30T23:30:00-03:00,99.00,C3
"""


END_VARS = '{"observation_end": "2025-06-30"}'


@pytest.mark.long
@pytest.mark.parametrize("target", ["local", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_rfm_edge_cases_from_a_transactions_file(target, request, tmp_path):
    warehouse = request.getfixturevalue("duckdb_warehouse" if target == "local" else "postgres_warehouse")
    csv_file = tmp_path / "export.csv"
    csv_file.write_text(EDGE_CASES_CSV)
    invoke(
        "load-transactions",
        str(csv_file),
        "--customer-col",
        "customer",
        "--date-col",
        "when",
        "--amount-col",
        "amount",
        "--order-col",
        "order",
        "--target",
        target,
    )
    built = CliRunner().invoke(main, ["build", "--target", target, "--observation-end", "2025-06-30"])
    # Three customers are too few to segment: the clustering step refuses, saying how many there are, and the
    # failed build leaves nothing half-built; the profiles are then built on their own.
    assert built.exit_code == 1, built.output
    assert (
        "3 customer(s) with features: too few to segment (the segmentation needs at least 50)" in built.output
    )
    for command in ("seed", "run"):
        profiles_only = CliRunner().invoke(
            main,
            ["dbt", "--target", target, "--", command, "--select", "+customer_profiles", "--vars", END_VARS],
        )
        assert profiles_only.exit_code == 0, profiles_only.output
    rows = table(
        warehouse,
        "select customer_id, total_orders, lifetime_value, rfm_frequency, rfm_recency_days, rfm_age_days, "
        "rfm_monetary_value, days_since_last_purchase from marts.customer_profiles order by customer_id",
    )
    profiles = {row.pop("customer_id"): row for row in rows}
    # Two orders on 2025-01-01 are one purchase day of 25.00; the repeat days are 01-11 (10) and 03-01 (30).
    assert profiles["repeat"] == {
        "total_orders": 4,
        "lifetime_value": Decimal("65.00"),
        "rfm_frequency": 2,
        "rfm_recency_days": 59,
        "rfm_age_days": 180,
        "rfm_monetary_value": Decimal("20.00"),
        "days_since_last_purchase": 121,
    }
    assert profiles["single"] == {
        "total_orders": 1,
        "lifetime_value": Decimal("50.00"),
        "rfm_frequency": 0,
        "rfm_recency_days": 0,
        "rfm_age_days": 29,
        "rfm_monetary_value": Decimal("0.00"),
        "days_since_last_purchase": 29,
    }
    # 07-05 is after observation_end, and so is C3: 23:30 at UTC-3 is 02:30 UTC on 07-01.
    assert profiles["late"] == {
        "total_orders": 1,
        "lifetime_value": Decimal("20.00"),
        "rfm_frequency": 0,
        "rfm_recency_days": 0,
        "rfm_age_days": 0,
        "rfm_monetary_value": Decimal("0.00"),
        "days_since_last_purchase": 0,
    }


def test_build_reports_a_bad_observation_end(duckdb_warehouse):
    result = CliRunner().invoke(main, ["build", "--observation-end", "2025-13-01"])
    assert result.exit_code != 0
    assert "'2025-13-01' is not a date in the form YYYY-MM-DD" in result.output


@pytest.mark.parametrize("command", [["build"], ["run", "cluster-customers"], ["generate"]])
def test_the_spark_target_without_java_names_what_to_install(command, monkeypatch, tmp_path):
    """Without a Java runtime (here: none on PATH, no JAVA_HOME) `--target spark` is refused before any work,
    naming the Debian package; without pyspark, naming the extra to install."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    result = CliRunner().invoke(main, [*command, "--target", "spark"])
    assert result.exit_code == 2
    if importlib.util.find_spec("pyspark") is None:
        assert 'pip install -e ".[spark]"' in result.output
    else:
        assert "openjdk-17-jre-headless" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["generate"],
        ["load-transactions"],
        ["load-deals"],
        ["packages", "run"],
        ["build"],
        ["demo"],
        ["dbt"],
        ["run"],
        ["run", "cluster-customers"],
        ["assign"],
        ["bench"],
    ],
)
def test_every_command_explains_itself(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    if command and command not in (["dbt"], ["run"]):
        assert "--target" in result.output
