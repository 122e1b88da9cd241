"""The `ml` tables of segment insights are declared to dbt exactly as the job writes them."""

from __future__ import annotations

import yaml

from python_jobs.insights.job import JOB_NAME
from python_jobs.insights.tables import INSIGHT_TABLES
from python_jobs.warehouse.dbt_runner import PROJECT_ROOT
from python_jobs.warehouse.jobs import JOBS


def test_the_ml_source_declares_the_columns_the_job_writes():
    sources = yaml.safe_load((PROJECT_ROOT / "models" / "staging" / "ml" / "_ml__sources.yml").read_text())
    tables = {table["name"]: table for table in sources["sources"][0]["tables"]}

    for name, schema in INSIGHT_TABLES.items():
        assert [column["name"] for column in tables[name]["columns"]] == schema.names, name
        assert tables[name]["config"]["meta"] == {"segments_job": JOB_NAME}
    assert JOB_NAME in JOBS
