"""`segments bench-bandit` end to end on a small run: it prints every policy's figures and the latency, and the
experiment pipeline's time per stage on a scratch DuckDB file."""

from __future__ import annotations

import os
import re

import pytest
from click.testing import CliRunner

from python_jobs.cli import main


def test_bench_bandit_prints_regret_lift_and_latency():
    result = CliRunner().invoke(
        main,
        [
            "bench-bandit",
            "--seeds",
            "2",
            "--visitors",
            "6000",
            "--batch-size",
            "2000",
            "--workers",
            "1",
            "--latency-calls",
            "2000",
            "--no-pipeline",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    output = result.output
    assert "segments differ:" in output
    assert "segments alike:" in output
    for label in ("per-segment Thompson", "experiment-wide Thompson", "uniform split"):
        assert (
            len(re.findall(rf"^  {label} +[\d,.]+ ± +[\d.]+ +[\d.]+ +[\d.]+% +[+-][\d.]+%$", output, re.M))
            == 2
        )
    assert re.search(r"^  uniform split .* 1\.000 .* \+0\.0%$", output, re.M)
    assert len(re.findall(r"x uniform \(target at most 0\.25: (met|NOT met)\)", output)) == 1
    assert len(re.findall(r"\(the control: one variant is best everywhere", output)) == 1
    assert re.search(r"allocation in process: 2,000 calls .* median [\d.]+ µs, p99 [\d.]+ µs", output)
    assert re.search(r"simulation time: [\d.]+ s on 1 worker$", output, re.M)
    assert "experiment pipeline" not in output


def test_bench_bandit_times_the_experiment_pipeline_on_a_scratch_duckdb(tmp_path, monkeypatch):
    mine = tmp_path / "mine.duckdb"
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(mine))
    result = CliRunner().invoke(
        main,
        [
            "bench-bandit",
            "--seeds",
            "2",
            "--visitors",
            "2000",
            "--batch-size",
            "1000",
            "--scenario",
            "alike",
            "--workers",
            "1",
            "--latency-calls",
            "100",
            "--pipeline-assignments",
            "3000",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    output = result.output
    found = re.search(
        r"^experiment pipeline on DuckDB: 3,000 assignments, ([\d,]+) conversions, ([\d,]+) distinct user agents",
        output,
        re.M,
    )
    assert found, output
    assert int(found[1].replace(",", "")) > 0
    assert int(found[2].replace(",", "")) > 10  # phones, tablets, desktops and bots
    stages = {
        name: float(seconds)
        for name, seconds in re.findall(
            r"^  (user-agent lookup|contexts|stats|weights) +([\d.]+) s$", output, re.M
        )
    }
    assert set(stages) == {"user-agent lookup", "contexts", "stats", "weights"}
    total = re.search(r"^  total +([\d.]+) s \(target under 60 s: (met|NOT met)\)$", output, re.M)
    assert total, output
    assert float(total[1]) == pytest.approx(sum(stages.values()), abs=0.3)
    # The user's own warehouse is neither read nor written, and points where it did before.
    assert not mine.exists()
    assert os.environ["SEGMENTS_DUCKDB_PATH"] == str(mine)


def test_bench_bandit_refuses_zero_seeds_in_one_line():
    result = CliRunner().invoke(main, ["bench-bandit", "--seeds", "0"])
    assert result.exit_code == 2
    assert "--seeds" in result.output
    assert "Traceback" not in result.output
