"""`segments bench-packages`, run small: both backends' stage timings, the LLM stage against the ideal schedule
through the fake Messages API, and a re-run from the caches."""

from __future__ import annotations

import re

from click.testing import CliRunner

from python_jobs.bench.packages import ideal_llm_seconds, run_bench
from python_jobs.cli.packages import bench_packages_command


def test_the_ideal_schedule_is_whole_rounds_of_calls():
    assert ideal_llm_seconds(630, 4, 0.3) == 158 * 0.3
    assert ideal_llm_seconds(8, 4, 0.5) == 1.0
    assert ideal_llm_seconds(0, 4, 0.5) == 0


def test_a_small_bench_measures_each_stage_and_the_rerun_calls_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    results, report = run_bench(deals=120, backends=["tfidf", "minilm"], delay=0.05, echo=lambda _line: None)
    assert [r.backend for r in results] == ["tfidf", "minilm"]
    for result in results:
        assert result.first.llm_calls == result.llm_requests == result.first.clusters > 0
        assert 1 <= result.max_in_flight <= 4
        assert result.rerun_requests == 0
        assert result.rerun.cache_hits == result.first.clusters
        assert result.rerun.texts_embedded == 0
        # The LLM stage cannot beat its ideal schedule: the fake API holds every answer for the delay.
        assert result.first.seconds["llm"] >= ideal_llm_seconds(result.first.llm_calls, 4, 0.05)
    tfidf, minilm = results
    assert tfidf.first.texts_embedded == 120  # TF-IDF embeds each deal's whole text (generated deals differ)
    assert minilm.first.texts_embedded < 120 * 8  # MiniLM: each distinct aspect line once
    assert re.search(r"tfidf +\d+\.\ds +\d+\.\ds +\d+\.\ds +< 30s", report)
    assert re.search(r"minilm +\d+\.\ds +\d+\.\ds +\d+\.\ds +< 120s", report)
    assert "re-run" in report
    assert "with 0 requests" in report


def test_the_command_refuses_an_unknown_backend():
    result = CliRunner().invoke(bench_packages_command, ["--backend", "word2vec"])
    assert result.exit_code == 2
    assert "word2vec" in result.output
