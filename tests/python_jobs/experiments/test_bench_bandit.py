"""`segments bench-bandit` end to end on a small run: it prints every policy's figures and the latency."""

from __future__ import annotations

import re

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


def test_bench_bandit_refuses_zero_seeds_in_one_line():
    result = CliRunner().invoke(main, ["bench-bandit", "--seeds", "0"])
    assert result.exit_code == 2
    assert "--seeds" in result.output
    assert "Traceback" not in result.output
