"""`segments bench-api` end to end at a tiny size: a real build on PostgreSQL, `segments serve` in its own process,
the paced request loops and the SSE subscribers; the command exits 0 and prints every figure."""

from __future__ import annotations

import os
import re

import pytest
from click.testing import CliRunner

from python_jobs.cli import main
from python_jobs.warehouse.connection import Warehouse


@pytest.mark.long
@pytest.mark.postgres
def test_bench_api_prints_medians_and_p99s_and_every_subscriber_sees_the_end(postgres_warehouse):
    database = f"segments_test_{os.getpid()}_bench_api"
    result = CliRunner().invoke(
        main,
        [
            "bench-api",
            "--duration", "1",
            "--rate", "20",
            "--build-customers", "200",
            "--customers", "1000",
            "--subscribers", "4",
            "--products", "8",
            "--llm-delay", "0.05",
            "--database", database,
        ],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    output = result.output
    assert re.search(
        r"population: \d+ customers built, filled up to 1,000 in marts\.customer_segments", output
    )
    for endpoint, budget in (
        ("POST /experiments/\\{id\\}/allocate", 10),
        ("GET /segments/customer/\\{id\\}", 20),
    ):
        assert re.search(
            rf"^  {endpoint} +20 ok at 20/s for 1s: median [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms "
            rf"\((within|OVER) the {budget} ms budget\); answered [\d,]+/s$",
            output,
            re.M,
        ), output
    assert re.search(r"4/4 subscribers saw the final event \{'done': 4\}", output), output
    assert re.search(r"load average [\d.]+ before and [\d.]+ after", output)
    admin = Warehouse.from_profile("postgres").postgres_connection(autocommit=True)
    with admin.cursor() as cursor:
        cursor.execute("select count(*) from pg_database where datname = %s", [database])
        assert cursor.fetchone()[0] == 0, "the scratch database was left behind"
    admin.close()


def test_the_client_collects_no_garbage_while_a_loop_measures_and_sets_the_collector_back():
    import gc

    from python_jobs.bench.api import client_collector_held

    with client_collector_held():
        assert not gc.isenabled()
        # What the process held before the loop is left out of any collection.
        assert gc.get_freeze_count() > 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
