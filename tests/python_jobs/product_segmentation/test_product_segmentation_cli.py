"""`segments product-segmentation run|show` and `segments bench-llm`, through click's test runner.

Runs here pass --no-rebuild: the rebuild after a job has its own tests (cli/test_job_rebuilds_downstream.py)."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from python_jobs.bench.products import call_depths, run_bench
from python_jobs.cli.bench import bench_llm_command
from python_jobs.cli.products import (
    ProgressDisplay,
    parse_product_ids,
    product_segmentation_group,
)
from python_jobs.product_segmentation.job import RunProgress


def _invoke(*args: str):
    return CliRunner().invoke(product_segmentation_group, list(args), catch_exceptions=False)


def test_run_then_show_as_json_and_as_a_table(catalogue, kit, tmp_path):
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(str(i) for i in kit.product_ids) + "\n# trailing comment\n")
    result = _invoke(
        "run", "--category", kit.category, "--product-ids-file", str(ids_file), "--provider", "offline",
        "--batch-size", "3", "--refine-batch-size", "4", "--archive-root", str(tmp_path / "llm"), "--no-rebuild",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_id = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"RUN_\d{8}T\d{6}Z_[0-9a-f]{8}", run_id)
    # Not a terminal: plain progress lines on stderr, ending at 100.0%.
    assert "100.0%" in result.stderr.strip().splitlines()[-1]

    shown = _invoke("show", run_id, "--json")
    assert shown.exit_code == 0
    report = json.loads(shown.stdout)
    assert set(report) == {"run_id", "taxonomies", "segments"}
    assert report["run_id"] == run_id
    assert all(
        set(entry) == {"id", "segment_name", "definition", "product_count"} for entry in report["taxonomies"]
    )
    assert all(set(row) == {"product_id", "taxonomy_id"} for row in report["segments"])
    names = [entry["segment_name"] for entry in report["taxonomies"]]
    assert names[-2:] == ["__OUT_OF_SCOPE__", "__UNASSIGNED__"]
    counts = {entry["segment_name"]: entry["product_count"] for entry in report["taxonomies"]}
    assert counts["__OUT_OF_SCOPE__"] == len(kit.out_of_scope_ids)
    assert counts["__UNASSIGNED__"] == 0
    assert sum(counts.values()) == len(kit.product_ids)
    assert sorted(row["product_id"] for row in report["segments"]) == list(kit.product_ids)

    table = _invoke("show", run_id)
    assert table.exit_code == 0
    assert f"Run {run_id}: category 'Dimmer Switches', stage done, 100.0%" in table.stdout
    assert all(name in table.stdout for name in names)


def test_options_without_a_subcommand_run_the_job(catalogue, kit, tmp_path):
    ids = ",".join(str(i) for i in kit.product_ids)
    result = _invoke(
        "--category", kit.category, "--product-ids", ids, "--provider", "offline",
        "--archive-root", str(tmp_path / "llm"), "--no-rebuild",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_id = result.stdout.strip().splitlines()[-1]
    shown = json.loads(_invoke("show", run_id, "--json").stdout)
    assert sorted(row["product_id"] for row in shown["segments"]) == list(kit.product_ids)


def test_the_options_must_fit_together(catalogue, kit, tmp_path):
    both = _invoke(
        "run", "--category", kit.category, "--all", "--product-ids", "101", "--provider", "offline"
    )
    assert both.exit_code == 2
    assert "exactly one of" in both.output
    resume_with_category = _invoke("run", "--resume", "RUN_x", "--category", kit.category)
    assert resume_with_category.exit_code == 2
    unknown = _invoke(
        "run", "--category", kit.category, "--product-ids", "101,424242", "--provider", "offline",
        "--archive-root", str(tmp_path / "llm"),
    )  # fmt: skip
    assert unknown.exit_code == 1
    assert "424242" in unknown.output
    missing_run = _invoke("show", "RUN_missing")
    assert missing_run.exit_code == 1
    assert "no product segmentation run" in missing_run.output


def test_resume_by_cli_refuses_a_done_run(catalogue, kit, tmp_path):
    archive = str(tmp_path / "llm")
    result = _invoke(
        "run", "--category", kit.category, "--all", "--provider", "offline", "--archive-root", archive,
        "--no-rebuild",
    )  # fmt: skip
    run_id = result.stdout.strip().splitlines()[-1]
    again = _invoke("run", "--resume", run_id, "--archive-root", archive, "--no-rebuild")
    assert again.exit_code == 1
    assert "already done" in again.output


def test_the_provider_choices_are_the_llm_layers():
    from python_jobs.cli.products import PROVIDERS
    from python_jobs.llm.config import PROVIDERS as LLM_PROVIDERS

    assert PROVIDERS == LLM_PROVIDERS


def test_product_ids_parse_from_commas_spaces_and_lines():
    assert parse_product_ids("1,2, 3\n4 5\n# none\n6 # six") == ["1", "2", "3", "4", "5", "6"]


def test_plain_progress_lines_are_throttled_but_show_every_stage(tmp_path):
    with open(tmp_path / "progress.txt", "w") as stream:
        display = ProgressDisplay(stream)
        for done in range(0, 101):
            stage = "extraction" if done < 50 else "refinement"
            display(RunProgress("RUN_x", stage, 0, 1, 0, 0, 0, 1, done, 100, float(done), 10, 0))
    lines = (tmp_path / "progress.txt").read_text().splitlines()
    assert 10 <= len(lines) <= 13
    assert any("refinement" in line and " 50.0%" in line for line in lines)
    assert "100.0%" in lines[-1]


# ---------------------------------------------------------------------------------------------------- bench


def test_rounds_count_the_waves_a_request_waited_through():
    # Two calls at once, then one that waited for them, then two more after that one.
    assert call_depths([0.0, 0.01, 0.21, 0.42, 0.43], 0.2) == [1, 1, 2, 3, 3]


def test_bench_meets_its_call_budget_and_schedule(duckdb_warehouse, monkeypatch):
    result, report = run_bench(
        products=90, delay=0.2, concurrency=2, batch_size=20, refine_batch_size=30, offline_products=300,
        echo=lambda _line: None,
    )  # fmt: skip
    # 5 extraction batches, 4 merges over levels (2, 1, 1), 3 refinement batches.
    assert result.calls == {"extract_taxonomy": 5, "consolidate_taxonomy": 4, "refine_assignments": 3}
    assert (
        result.rounds
        == result.ideal
        == {"extract_taxonomy": 3, "consolidate_taxonomy": 3, "refine_assignments": 2}
    )
    assert result.max_in_flight <= 2
    assert result.rerun_requests == 0
    assert result.offline_products == 300
    # The wall-time ratio is the 1,000-product benchmark's business: on 12 calls fixed costs dominate it.
    assert "calls: 12 <= ceil(N/20) + (ceil(N/20) - 1) + ceil(N/30) = 12: ok" in report


def test_bench_command_runs(duckdb_warehouse):
    result = CliRunner().invoke(
        bench_llm_command,
        [
            "--products",
            "40",
            "--delay",
            "0",
            "--batch-size",
            "20",
            "--refine-batch-size",
            "20",
            "--offline-products",
            "0",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0
    assert "extraction" in result.stdout
    assert "re-run of the same products: 0 request(s)" in result.stdout
