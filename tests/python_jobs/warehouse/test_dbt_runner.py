"""`run_dbt` reports what its own dbt command ran, never an earlier command's results."""

from __future__ import annotations

import json

from python_jobs.warehouse import dbt_runner
from python_jobs.warehouse.build import BuildReport, DbtStep, StepOutcome, format_report

EARLIER_RESULTS = {
    "elapsed_time": 4.2,
    "results": [{"unique_id": f"model.p.m{i}", "status": "pass"} for i in range(52)]
    + [{"unique_id": f"model.p.s{i}", "status": "success"} for i in range(11)],
}


def test_a_step_whose_dbt_fails_before_running_anything_reports_no_counts(
    duckdb_warehouse, tmp_path, monkeypatch
):
    # An earlier build left its run_results.json in the target path.
    monkeypatch.setattr(dbt_runner, "target_path", lambda _target: tmp_path)
    (tmp_path / "run_results.json").write_text(json.dumps(EARLIER_RESULTS))

    run = dbt_runner.run_dbt(["build", "--no-such-option"], target="local")

    assert not run.ok
    assert run.results == []
    assert run.status_counts() == {}
    step = DbtStep("dbt build (everything)")
    report = BuildReport("local", [StepOutcome(step, False, 1.0, dbt_run=run)])
    failed_line = next(line for line in format_report(report).splitlines() if "FAILED" in line)
    assert failed_line.rstrip().endswith("dbt build (everything)")
    assert "pass" not in failed_line
