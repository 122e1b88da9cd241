"""The experiment staging models' own checks, on DuckDB and PostgreSQL: a misspelt time zone stops the build at
the staging test that names it, before any model reads a local time."""

from __future__ import annotations

import datetime as dt

from python_jobs.warehouse.dbt_runner import run_dbt

STAGING = [
    "stg_raw__experiments",
    "stg_raw__experiment_variants",
    "stg_raw__experiment_assignments",
    "stg_raw__experiment_conversions",
]


def experiment(experiment_id: str, time_zone: str | None) -> dict:
    return {
        "experiment_id": experiment_id,
        "experiment_name": experiment_id,
        "experiment_status": " Running ",
        "created_at": dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
        "time_zone": time_zone,
    }


def test_a_misspelt_time_zone_fails_its_staging_test(warehouse, write_experiment_tables):
    write_experiment_tables(
        warehouse,
        experiments=[
            experiment("good", "Europe/Paris"),
            experiment("none", None),
            experiment("bad", "Europe/Pariss"),
        ],
    )

    run = run_dbt(["build", "--select", *STAGING], target=warehouse.target)

    failed = {result["unique_id"] for result in run.problems()}
    assert not run.ok
    assert [name for name in failed if "time_zones_are_known" in name]
    assert all("time_zones_are_known" in name for name in failed), failed
