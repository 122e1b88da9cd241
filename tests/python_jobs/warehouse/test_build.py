"""`segments build`'s plan: dbt steps and Python jobs ordered from hand-made manifests."""

from __future__ import annotations

from typing import Any

import pytest

from python_jobs.warehouse.build import (
    BuildReport,
    DbtStep,
    JobStep,
    PlanError,
    StepOutcome,
    format_report,
    on_demand_commands,
    plan_build,
    summary_tables,
)
from python_jobs.warehouse.dbt_runner import DbtRun
from python_jobs.warehouse.previous_build import Relation, RestoreSummary

P = "segment_warehouse"


def model(name: str) -> str:
    return f"model.{P}.{name}"


def source_id(source_name: str, name: str) -> str:
    return f"source.{P}.{source_name}.{name}"


def job_source(source_name: str, name: str, job: str | None, *, in_config: bool = False) -> dict[str, Any]:
    meta = {"segments_job": job} if job else {}
    node: dict[str, Any] = {"source_name": source_name, "name": name}
    if in_config:
        node["config"] = {"meta": meta}
    else:
        node["meta"] = meta
    return node


def exposure(
    job: str | None, reads: list[str], *, kind: str = "ml", in_config: bool = False
) -> dict[str, Any]:
    meta = {"segments_job": job} if job else {}
    node: dict[str, Any] = {"type": kind, "depends_on": {"nodes": reads}}
    if in_config:
        node["config"] = {"meta": meta}
    else:
        node["meta"] = meta
    return node


def manifest(
    sources: dict[str, dict[str, Any]] | None = None,
    exposures: dict[str, dict[str, Any]] | None = None,
    child_map: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    return {"sources": sources or {}, "exposures": exposures or {}, "child_map": child_map or {}}


RAW_ORDERS = source_id("raw", "orders")
PLAIN_SOURCES = {RAW_ORDERS: job_source("raw", "orders", None)}
PLAIN_CHILDREN = {RAW_ORDERS: [model("stg_orders")], model("stg_orders"): [model("a")], model("a"): []}


def test_no_jobs_is_one_dbt_build_of_everything():
    steps = plan_build(
        manifest(
            PLAIN_SOURCES,
            {"exposure.p.dashboard": exposure(None, [model("a")], kind="dashboard")},
            PLAIN_CHILDREN,
        )
    )

    assert len(steps) == 1
    assert isinstance(steps[0], DbtStep)
    assert steps[0].select == ()
    assert steps[0].exclude == ()
    assert steps[0].command() == ["build"]


def test_one_job_splits_the_build_around_its_output():
    sources = {**PLAIN_SOURCES, source_id("ml", "t"): job_source("ml", "t", "cluster")}
    children = {**PLAIN_CHILDREN, source_id("ml", "t"): [model("b")], model("b"): []}
    exposures = {"exposure.p.cluster_inputs": exposure("cluster", [model("a")])}

    steps = plan_build(manifest(sources, exposures, children))

    assert steps == [
        DbtStep(steps[0].description, exclude=("source:ml.t+",)),
        JobStep("cluster", reads=(model("a"),), writes=(source_id("ml", "t"),)),
        DbtStep(steps[2].description, select=("source:ml.t+",)),
    ]
    assert steps[0].command() == ["build", "--exclude", "source:ml.t+"]
    assert steps[2].command() == ["build", "--select", "source:ml.t+"]


def test_job_meta_may_sit_under_config():
    sources = {**PLAIN_SOURCES, source_id("ml", "t"): job_source("ml", "t", "cluster", in_config=True)}
    children = {**PLAIN_CHILDREN, source_id("ml", "t"): [model("b")]}
    exposures = {"exposure.p.cluster_inputs": exposure("cluster", [model("a")], in_config=True)}

    steps = plan_build(manifest(sources, exposures, children))

    assert [type(step) for step in steps] == [DbtStep, JobStep, DbtStep]
    assert steps[1] == JobStep("cluster", reads=(model("a"),), writes=(source_id("ml", "t"),))


def test_a_job_writing_several_tables_is_one_step():
    sources = {
        **PLAIN_SOURCES,
        source_id("ml", "t1"): job_source("ml", "t1", "cluster"),
        source_id("ml", "t2"): job_source("ml", "t2", "cluster"),
    }
    children = {**PLAIN_CHILDREN, source_id("ml", "t1"): [model("b")], source_id("ml", "t2"): [model("b")]}
    exposures = {"exposure.p.in": exposure("cluster", [model("stg_orders"), model("a")])}

    steps = plan_build(manifest(sources, exposures, children))

    assert len(steps) == 3
    assert set(steps[0].exclude) == {"source:ml.t1+", "source:ml.t2+"}
    assert steps[1] == JobStep(
        "cluster",
        reads=(model("a"), model("stg_orders")),
        writes=(source_id("ml", "t1"), source_id("ml", "t2")),
    )
    assert set(steps[2].select) == {"source:ml.t1+", "source:ml.t2+"}
    assert steps[2].exclude == ()


def chained_manifest(first: str, second: str) -> dict[str, Any]:
    """`first` reads model a and writes ml.out1 (-> b); `second` reads b and writes ml.out2 (-> c)."""
    sources = {
        **PLAIN_SOURCES,
        source_id("ml", "out1"): job_source("ml", "out1", first),
        source_id("ml", "out2"): job_source("ml", "out2", second),
    }
    children = {
        **PLAIN_CHILDREN,
        source_id("ml", "out1"): [model("b")],
        model("b"): [model("b_child")],
        source_id("ml", "out2"): [model("c")],
    }
    exposures = {
        "exposure.p.first": exposure(first, [model("a")]),
        "exposure.p.second": exposure(second, [model("b_child")]),
    }
    return manifest(sources, exposures, children)


@pytest.mark.parametrize(
    ("first", "second"), [("job1", "job2"), ("z_first", "a_second")], ids=["sorted", "reverse-sorted"]
)
def test_chained_jobs_run_in_dependency_order(first, second):
    steps = plan_build(chained_manifest(first, second))

    assert [type(step) for step in steps] == [DbtStep, JobStep, DbtStep, JobStep, DbtStep]
    assert set(steps[0].exclude) == {"source:ml.out1+", "source:ml.out2+"}
    assert steps[0].select == ()
    assert steps[1] == JobStep(first, reads=(model("a"),), writes=(source_id("ml", "out1"),))
    # Downstream of the first job's output, but not of the second's: its input (b_child) is built here.
    assert steps[2].select == ("source:ml.out1+",)
    assert steps[2].exclude == ("source:ml.out2+",)
    assert steps[3] == JobStep(second, reads=(model("b_child"),), writes=(source_id("ml", "out2"),))
    assert steps[4].select == ("source:ml.out2+",)
    assert steps[4].exclude == ()


def test_independent_jobs_share_a_level():
    sources = {
        **PLAIN_SOURCES,
        source_id("ml", "x"): job_source("ml", "x", "job_x"),
        source_id("ml", "y"): job_source("ml", "y", "job_y"),
    }
    children = {**PLAIN_CHILDREN, source_id("ml", "x"): [model("bx")], source_id("ml", "y"): [model("by")]}
    exposures = {
        "exposure.p.x": exposure("job_x", [model("a")]),
        "exposure.p.y": exposure("job_y", [model("a")]),
    }

    steps = plan_build(manifest(sources, exposures, children))

    assert [type(step) for step in steps] == [DbtStep, JobStep, JobStep, DbtStep]
    assert {steps[1].job, steps[2].job} == {"job_x", "job_y"}
    assert set(steps[3].select) == {"source:ml.x+", "source:ml.y+"}
    assert steps[3].exclude == ()


def test_a_job_reading_from_its_own_output_is_refused():
    sources = {**PLAIN_SOURCES, source_id("ml", "t"): job_source("ml", "t", "cluster")}
    children = {**PLAIN_CHILDREN, source_id("ml", "t"): [model("b")], model("b"): [model("c")]}
    exposures = {"exposure.p.in": exposure("cluster", [model("a"), model("c")])}

    with pytest.raises(PlanError, match="'cluster' reads models built from its own output"):
        plan_build(manifest(sources, exposures, children))


def test_jobs_in_a_loop_are_refused():
    sources = {
        **PLAIN_SOURCES,
        source_id("ml", "out1"): job_source("ml", "out1", "job1"),
        source_id("ml", "out2"): job_source("ml", "out2", "job2"),
    }
    children = {
        **PLAIN_CHILDREN,
        source_id("ml", "out1"): [model("b1")],
        source_id("ml", "out2"): [model("b2")],
    }
    exposures = {
        "exposure.p.1": exposure("job1", [model("b2")]),
        "exposure.p.2": exposure("job2", [model("b1")]),
    }

    with pytest.raises(PlanError, match="loop") as caught:
        plan_build(manifest(sources, exposures, children))

    assert "job1" in str(caught.value)
    assert "job2" in str(caught.value)


def test_a_non_ml_exposure_is_ignored():
    sources = {**PLAIN_SOURCES, source_id("ml", "t"): job_source("ml", "t", "cluster")}
    children = {**PLAIN_CHILDREN, source_id("ml", "t"): [model("b")], model("b"): []}
    exposures = {
        "exposure.p.in": exposure("cluster", [model("a")]),
        # A dashboard on the job's own output, tagged with the job: not something the job reads.
        "exposure.p.dashboard": exposure("cluster", [model("b")], kind="dashboard"),
        # A notebook naming a job that writes nothing and has no ml exposure: no job at all.
        "exposure.p.notebook": exposure("phantom", [model("a")], kind="notebook"),
    }

    steps = plan_build(manifest(sources, exposures, children))

    assert [step.job for step in steps if isinstance(step, JobStep)] == ["cluster"]
    assert steps[1].reads == (model("a"),)


def test_an_ml_exposure_without_a_job_is_ignored():
    exposures = {"exposure.p.model": exposure(None, [model("a")])}

    steps = plan_build(manifest(PLAIN_SOURCES, exposures, PLAIN_CHILDREN))

    assert steps == [DbtStep(steps[0].description)]


def test_a_job_reading_another_jobs_output_source_directly_runs_after_it():
    sources = {
        **PLAIN_SOURCES,
        source_id("ml", "scores"): job_source("ml", "scores", "z_writer"),
        source_id("ml", "labels"): job_source("ml", "labels", "a_reader"),
    }
    children = {**PLAIN_CHILDREN, source_id("ml", "scores"): [], source_id("ml", "labels"): [model("c")]}
    exposures = {
        "exposure.p.writer": exposure("z_writer", [model("a")]),
        "exposure.p.reader": exposure("a_reader", [source_id("ml", "scores")]),
    }

    steps = plan_build(manifest(sources, exposures, children))

    jobs = [step.job for step in steps if isinstance(step, JobStep)]
    assert jobs == ["z_writer", "a_reader"]


# ------------------------------------------------------------------------------------------------ the report


def test_the_summary_counts_every_mart_folder_by_folder():
    def node(name: str, path: str, kind: str = "model") -> dict[str, Any]:
        folders = path.split("/")[1:-1]
        return {"resource_type": kind, "name": name, "fqn": [P, *folders, name], "original_file_path": path}

    nodes = [
        node("segment_summary", "models/marts/segmentation/segment_summary.sql"),
        node("experiment_alerts", "models/marts/experiments/experiment_alerts.sql"),
        node("stg_raw__orders", "models/staging/raw/stg_raw__orders.sql"),
        node("int_orders", "models/intermediate/customers/int_orders.sql"),
        node("customer_profiles", "models/marts/customers/customer_profiles.sql"),
        node("experiment_traffic_stats", "models/marts/experiments/experiment_traffic_stats.sql"),
        node("not_null_experiment_alerts_message", "models/marts/experiments/_models.yml", kind="test"),
    ]
    found = summary_tables({"nodes": {f"{n['resource_type']}.{P}.{n['name']}": n for n in nodes}})
    assert found == [
        "marts.customer_profiles",
        "marts.experiment_alerts",
        "marts.experiment_traffic_stats",
        "marts.segment_summary",
    ]


def test_an_empty_mart_fed_on_demand_names_the_command_that_fills_it():
    packages_source = source_id("ml", "deal_package_runs")
    runs_source = source_id("ml", "segmentation_runs")

    def model_node(name: str, schema: str) -> dict[str, Any]:
        return {"resource_type": "model", "name": name, "schema": schema}

    found = on_demand_commands(
        {
            "nodes": {
                model("stg_runs"): model_node("stg_runs", "staging"),
                model("deal_packages"): model_node("deal_packages", "marts"),
                model("segment_summary"): model_node("segment_summary", "marts"),
            },
            "sources": {
                packages_source: {"config": {"meta": {"segments_on_demand": "segments packages run --all"}}},
                runs_source: {"config": {"meta": {"segments_job": "cluster_customers"}}},
            },
            "parent_map": {
                model("deal_packages"): [model("stg_runs")],
                model("stg_runs"): [packages_source],
                model("segment_summary"): [runs_source],
            },
        },
        ["marts.deal_packages", "marts.segment_summary"],
    )
    assert found == {"marts.deal_packages": "segments packages run --all"}

    report = BuildReport(
        target="local",
        outcomes=[StepOutcome(DbtStep("dbt build"), ok=True, seconds=1.0, dbt_run=DbtRun(["build"], 0))],
        row_counts={"marts.deal_packages": 0, "marts.segment_summary": 0, "marts.product_segments": 7},
        filled_by={**found, "marts.product_segments": "segments product-segmentation run"},
    )
    lines = format_report(report).splitlines()
    assert any(line.endswith("0 rows  (filled by `segments packages run --all`)") for line in lines)
    assert any(
        line.strip().startswith("marts.segment_summary") and line.endswith(" 0 rows") for line in lines
    )
    assert any(line.endswith("7 rows") for line in lines)  # not empty: no hint


def test_format_report_lists_steps_and_says_failed():
    report = BuildReport(
        target="local",
        outcomes=[
            StepOutcome(
                DbtStep("dbt build (upstream)", exclude=("source:ml.t+",)),
                ok=True,
                seconds=12.34,
                dbt_run=DbtRun(
                    ["build"],
                    0,
                    results=[{"status": "success"}, {"status": "pass"}, {"status": "success"}],
                ),
            ),
            StepOutcome(JobStep("cluster", (), ()), ok=False, seconds=0.5, error="no features to cluster"),
        ],
        row_counts={"marts.customer_profiles": 1234},
        findings=[("FAIL unique_orders", "Got 2 results", ["order_id=o1", "order_id=o2"])],
    )

    text = format_report(report)
    lines = text.splitlines()

    assert "Summary (local)" in lines
    assert "  ok        12.3s  dbt build (upstream)  1 pass, 2 success" in lines
    assert "  FAILED     0.5s  python job cluster  no features to cluster" in lines
    assert any(
        line.startswith("  marts.customer_profiles") and line.endswith(" 1,234 rows") for line in lines
    )
    assert "  FAIL unique_orders: Got 2 results" in lines
    assert "      order_id=o1" in lines
    assert lines[-1] == "Build FAILED at step 2 of 2."
    assert "Build succeeded." not in text


def test_format_report_of_a_failed_dbt_step_says_failed():
    report = BuildReport(
        target="postgres",
        outcomes=[
            StepOutcome(
                DbtStep("dbt build (everything)"),
                ok=False,
                seconds=3.0,
                dbt_run=DbtRun(["build"], 1, results=[{"status": "error"}, {"status": "success"}]),
            )
        ],
    )

    lines = format_report(report).splitlines()

    assert "Summary (postgres)" in lines
    assert "  FAILED     3.0s  dbt build (everything)  1 error, 1 success" in lines
    assert lines[-1] == "Build FAILED at step 1 of 1."


def test_format_report_of_a_good_build_says_succeeded():
    report = BuildReport(
        target="local",
        outcomes=[
            StepOutcome(DbtStep("dbt build (everything)"), ok=True, seconds=1.0, dbt_run=DbtRun(["build"], 0))
        ],
    )

    text = format_report(report)

    assert report.ok
    assert text.splitlines()[-1] == "Build succeeded."
    assert "FAILED" not in text


def _failed_at_step_2_of_3(**extra: Any) -> BuildReport:
    return BuildReport(
        target="local",
        outcomes=[
            StepOutcome(DbtStep("dbt build (upstream)"), ok=True, seconds=1.0, dbt_run=DbtRun(["build"], 0)),
            StepOutcome(JobStep("cluster", (), ()), ok=False, seconds=0.5, error="too few customers"),
        ],
        steps=3,
        **extra,
    )


def test_a_failed_build_says_at_which_step_and_that_the_marts_were_put_back():
    restored = RestoreSummary(
        restored=[Relation("marts", "customer_profiles"), Relation("staging", "stg_raw__orders")],
        dropped=[Relation("marts", "customer_scores")],
        seconds=0.25,
    )

    last = format_report(_failed_at_step_2_of_3(restored=restored)).splitlines()[-1]

    assert last == (
        "Build FAILED at step 2 of 3; the marts were restored to the previous build "
        "(2 relations put back, 1 new relation dropped, in 0.2s)."
    )


def test_a_failed_first_build_says_what_it_created_was_dropped():
    restored = RestoreSummary(dropped=[Relation("marts", "customer_profiles")] * 3, seconds=0.1)

    last = format_report(_failed_at_step_2_of_3(restored=restored)).splitlines()[-1]

    assert last == (
        "Build FAILED at step 2 of 3; nothing had been built before it, so the 3 relations it created were "
        "dropped (in 0.1s)."
    )


def test_a_restore_that_fails_says_where_the_previous_build_is():
    report = _failed_at_step_2_of_3(
        restore_error="disk full (the previous build is kept in /d/w.duckdb.previous_build)"
    )

    assert format_report(report).splitlines()[-1] == (
        "Build FAILED at step 2 of 3, and putting the previous build back failed too: disk full "
        "(the previous build is kept in /d/w.duckdb.previous_build)"
    )
