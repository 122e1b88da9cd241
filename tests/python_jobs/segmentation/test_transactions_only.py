"""A transactions-only export (customer, date, amount: no tickets, web events, categories, discounts or returns)
built end to end: the axes built on data the export does not have place every customer in their explicit no-data
segment, instead of calling everyone `some_support` or `typical_researcher`."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from python_jobs.cli import main
from python_jobs.warehouse.connection import Warehouse

CUSTOMERS = 240


def transactions_csv(seed: int = 5) -> str:
    """A shop's export: customers with one to a dozen purchases over two years, amounts of varied size."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01")
    lines = ["customer,when,amount,order"]
    order = 0
    for customer in range(CUSTOMERS):
        purchases = int(rng.integers(1, 4)) if customer % 3 else int(rng.integers(4, 13))
        first = int(rng.integers(0, 600))
        for _ in range(purchases):
            order += 1
            day = start + np.timedelta64(first + int(rng.integers(0, 130)), "D")
            amount = round(float(rng.gamma(2.0, 30.0 if customer % 2 else 90.0)) + 1, 2)
            lines.append(f"K{customer:04d},{day},{amount:.2f},T{order:06d}")
    return "\n".join(lines) + "\n"


def segments_by_axis(warehouse: Warehouse) -> dict[str, dict[str, tuple[int, bool]]]:
    with warehouse.session(read_only=True) as session:
        rows = session.fetchall(
            "select axis_name, segment_name, customers, is_clustered from marts.segment_summary"
        )
    found: dict[str, dict[str, tuple[int, bool]]] = {}
    for axis, segment, customers, clustered in rows:
        found.setdefault(axis, {})[segment] = (customers, clustered)
    return found


@pytest.mark.parametrize("target", ["local", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_axes_without_their_data_place_everyone_in_the_no_data_segment(target, request, tmp_path):
    warehouse = request.getfixturevalue("duckdb_warehouse" if target == "local" else "postgres_warehouse")
    export = tmp_path / "export.csv"
    export.write_text(transactions_csv())
    runner = CliRunner()
    columns = [
        "--customer-col",
        "customer",
        "--date-col",
        "when",
        "--amount-col",
        "amount",
        "--order-col",
        "order",
    ]
    loaded = runner.invoke(main, ["load-transactions", str(export), *columns, "--target", target])
    assert loaded.exit_code == 0, loaded.output

    built = runner.invoke(main, ["build", "--target", target, "--observation-end", "2025-12-31"])

    assert built.exit_code == 0, built.output
    summary = segments_by_axis(warehouse)
    everyone = (CUSTOMERS, False)
    assert summary["communication_preference"] == {"no_tickets": everyone}
    assert summary["problem_complexity"] == {"no_tickets": everyone}
    assert summary["product_knowledge"] == {"no_web_visits": everyone}
    assert summary["category_exploration"] == {"no_category_data": everyone}
    assert summary["value_sophistication"] == {"no_category_data": everyone}
    assert summary["price_sensitivity"] == {"no_discount_data": everyone}
    assert summary["return_behaviour"] == {"no_return_data": everyone}
    # What the export does say is clustered, beside the explicit segments of who cannot be placed.
    assert any(clustered for _, clustered in summary["purchase_value"].values())
    assert summary["purchase_cadence"]["one_time_buyer"][1] is False
    assert summary["purchase_cadence"]["one_time_buyer"][0] > 0
