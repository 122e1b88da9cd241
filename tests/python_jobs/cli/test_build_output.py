"""What `segments build` prints: a line per step and the warnings that matter, not dbt's 190 node lines;
plain lines off a terminal, a live line and tables on one."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from python_jobs.cli.build_display import LiveProgress, render_report
from python_jobs.warehouse.build import BuildReport, DbtStep, JobStep, StepOutcome
from python_jobs.warehouse.build_progress import DbtOutput, PlainProgress, parse_result_line
from python_jobs.warehouse.dbt_runner import DbtRun


def dbt_lines(total: int = 190, warn_at: int = 65) -> list[str]:
    lines = ["14:00:00  Running with dbt=1.11.16", "14:00:00  Found 48 models, 181 data tests"]
    for index in range(1, total + 1):
        lines.append(f"14:00:01  {index} of {total} START test t{index} ........ [RUN]")
        if index == warn_at:
            lines.append(
                f"14:00:01  {index} of {total} WARN 5 assert_merge_chains_resolve ..... [WARN 5 in 0.06s]"
            )
        else:
            lines.append(f"14:00:01  {index} of {total} PASS unique_t{index} ............ [PASS in 0.10s]")
    lines += ["14:00:02  ", "14:00:02  Done. PASS=189 WARN=1 ERROR=0 SKIP=0 NO-OP=0 TOTAL=190"]
    return lines


def run_step(progress, lines: list[str], *, verbose: bool = False, ok: bool = True) -> DbtOutput:
    progress.start_step(1, 3, "dbt build (everything upstream of the Python jobs)")
    output = DbtOutput(progress, verbose=verbose)
    for line in lines:
        output(line)
    progress.end_step(ok, 6.9)
    return output


def test_a_dbt_step_is_a_start_line_its_warnings_and_an_end_line():
    printed: list[str] = []
    run_step(PlainProgress(printed.append), dbt_lines())
    assert printed == [
        "\n[1/3] dbt build (everything upstream of the Python jobs)",
        "    WARN 5 assert_merge_chains_resolve",
        "  done: 190 nodes in 6.9s",
    ]


def test_verbose_passes_dbts_own_lines_through():
    printed: list[str] = []
    run_step(PlainProgress(printed.append), dbt_lines(), verbose=True)
    assert "    14:00:01  8 of 190 PASS unique_t8 ............ [PASS in 0.10s]" in printed
    assert not any(" START " in line for line in printed)
    assert len(printed) == 2 + 190 + 4


def test_plain_lines_while_a_step_runs_are_throttled():
    printed: list[str] = []
    run_step(PlainProgress(printed.append, every_seconds=3600), dbt_lines())
    assert len(printed) == 3
    printed.clear()
    run_step(PlainProgress(printed.append, every_seconds=0), dbt_lines(total=5, warn_at=0))
    # From the second node on (the first only starts the clock), a line each time, never for the last node.
    assert [line.split(",")[0] for line in printed[1:-1]] == [f"  … {n} of 5 nodes" for n in range(2, 5)]


def test_a_failed_step_shows_dbts_error_summary():
    lines = [
        *dbt_lines(total=3, warn_at=0)[:-2],
        "14:00:02  Completed with 1 error, 0 partial successes, and 0 warnings:",
        "14:00:02  Runtime Error in model m (models/m.sql)",
        "14:00:02    Conflicting lock is held",
    ]
    output = run_step(PlainProgress(lambda _line: None), lines, ok=False)
    assert output.failure_lines() == lines[-3:]


def test_result_lines_are_parsed_with_or_without_colour_codes():
    line = "\x1b[0m14:03:06  2 of 3 PASS not_null_x .......... [\x1b[32mPASS\x1b[0m in 0.23s]"
    result = parse_result_line(line)
    assert result is not None
    assert (result.index, result.total, result.status, result.text) == (2, 3, "PASS", "PASS not_null_x")
    assert parse_result_line("14:03:06  2 of 3 START test not_null_x ...... [RUN]") is None


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_each_step_is_a_live_line_and_the_summary_a_table():
    stream = Terminal()
    console = Console(file=stream, force_terminal=True, width=160)
    progress = LiveProgress(console)
    run_step(progress, dbt_lines())
    progress.close()
    screen = stream.getvalue()
    assert "[1/3] dbt build (everything upstream of the Python jobs)" in screen
    assert "190 nodes" in screen
    assert "WARN 5 assert_merge_chains_resolve" in screen
    assert "PASS unique_t8" not in screen

    report = BuildReport(
        "local",
        [
            StepOutcome(
                DbtStep("dbt build (a)"), True, 6.9, dbt_run=DbtRun(["build"], 0, [{"status": "pass"}])
            ),
            StepOutcome(JobStep("cluster_customers", (), ()), True, 4.4),
        ],
        row_counts={"marts.customer_profiles": 3002},
    )
    stream.seek(0)
    stream.truncate()
    render_report(report, Console(file=stream, width=160))
    table = stream.getvalue()
    for text in (
        "Summary (local)",
        "dbt build (a)",
        "1 pass",
        "marts.customer_profiles",
        "3,002",
        "Build succeeded.",
    ):
        assert text in table


def test_a_real_build_off_a_terminal_prints_a_line_per_step_and_no_escape_codes(built_duckdb):
    """The session's build, run by the real `segments build` with its output captured (tests/conftest.py)."""
    output = built_duckdb.build_output
    lines = output.splitlines()
    assert "\x1b" not in output
    assert "\r" not in output
    assert not any(" of 1" in line and "PASS" in line for line in lines)  # no dbt node lines
    # The weights are learnt per cluster in auto mode, so their job follows the experiments' clustering.
    assert [line for line in lines if line.startswith("[")] == [
        "[1/11] dbt build (everything upstream of the Python jobs)",
        "[2/11] python job fit_clv",
        "[3/11] python job parse_user_agents",
        "[4/11] dbt build (models and tests downstream of fit_clv, parse_user_agents)",
        "[5/11] python job check_eligibility",
        "[6/11] python job cluster_customers",
        "[7/11] python job cluster_experiments",
        "[8/11] dbt build (models and tests downstream of check_eligibility, cluster_customers, "
        "cluster_experiments)",
        "[9/11] python job explain_segments",
        "[10/11] python job update_experiment_weights",
        "[11/11] dbt build (models and tests downstream of explain_segments, update_experiment_weights)",
    ]
    ends = [line for line in lines if line.startswith("  done: ")]
    assert len(ends) == 11
    assert " nodes in " in ends[0]
    assert "Build succeeded." in lines
    assert len(lines) < 160  # eleven steps with their jobs' lines, not dbt's hundreds of node lines


def test_a_real_build_counts_the_rows_of_every_mart(built_duckdb):
    """Every model under models/marts, the experiments' four included, has its row count in the summary."""
    marts = sorted(
        path.stem for path in (Path(__file__).resolve().parents[3] / "models" / "marts").rglob("*.sql")
    )
    counted = re.findall(
        r"^  marts\.(\w+) +[\d,]+ rows(?:  \(filled by `[^`]+`\))?$", built_duckdb.build_output, re.M
    )
    assert sorted(counted) == marts
    # The on-demand marts are empty after a build, and the summary names the command that fills each.
    assert re.search(
        r"^  marts\.deal_packages +0 rows  \(filled by `segments packages run --all`\)$",
        built_duckdb.build_output,
        re.M,
    )
    assert {
        "experiment_traffic_stats",
        "segmentation_recommendations",
        "experiment_segment_performance",
    } <= set(counted)
    assert "experiment_alerts" in counted
