"""The weights of a Thompson sampling run written to `ml` and read back for the allocator, on DuckDB and
PostgreSQL: all of a run or nothing, and the latest run in force."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

from python_jobs.experiments import tables
from python_jobs.experiments.allocation import EXPERIMENT_WIDE, Allocator, UnknownExperimentError
from python_jobs.experiments.bandit import segment_weights
from python_jobs.experiments.tables import WeightRun, load_weights_in_force, write_weight_run

SEGMENTS = ("source:instagram|device:mobile", "source:google|device:desktop", "source:tiktok|device:tablet")
VARIANTS = ("A", "B", "C")
ASSIGNMENTS = np.array([[2_000, 2_000, 2_000], [1_500, 1_500, 1_500], [20, 20, 20]])
CONVERSIONS = np.array([[40, 120, 40], [150, 60, 60], [5, 0, 0]])


def _run(run_id: str, minute: int, conversions: np.ndarray = CONVERSIONS) -> WeightRun:
    return WeightRun(
        run_id=run_id,
        experiment_id="checkout",
        computed_at=dt.datetime(2026, 11, 27, 12, minute, tzinfo=dt.UTC),
        segment_keys=SEGMENTS,
        variant_ids=VARIANTS,
        assignments=ASSIGNMENTS,
        conversions=conversions,
        result=segment_weights(ASSIGNMENTS, conversions, seed=1),
        parameters={"draws": 10_000, "seed": 1},
    )


def _rows(warehouse, sql: str) -> list[tuple]:
    with warehouse.session(read_only=True) as session:
        return session.fetchall(sql)


def test_a_run_is_written_whole_and_read_back_as_the_weights_in_force(warehouse):
    write_weight_run(warehouse, _run("run-1", 0))
    posteriors = _rows(
        warehouse,
        "select segment_key, variant_id, assignments, conversions, posterior_alpha, posterior_beta, "
        "learns_from_experiment from ml.experiment_posteriors order by segment_key, variant_id",
    )
    # The experiment as a whole (the sums of the three segments) and three segments, three variants each.
    assert len(posteriors) == 12
    assert (EXPERIMENT_WIDE, "B", 3_520, 180, 181.0, 3_341.0, False) in posteriors
    assert ("source:google|device:desktop", "A", 1_500, 150, 151.0, 1_351.0, False) in posteriors
    # 60 assignments: under the burn-in of 300, so the TikTok segment learns from the experiment.
    assert ("source:tiktok|device:tablet", "A", 20, 5, 6.0, 16.0, True) in posteriors

    weights = _rows(
        warehouse,
        "select segment_key, sum(weight), min(weight) from ml.experiment_weights group by segment_key",
    )
    assert {key for key, _total, _smallest in weights} == {EXPERIMENT_WIDE, *SEGMENTS}
    for key, total, smallest in weights:
        assert total == pytest.approx(1.0), key
        assert smallest >= 0.01 - 1e-12, key
    assert _rows(warehouse, "select run_id, status, segment_count from ml.experiment_weight_runs") == [
        ("run-1", "succeeded", 3)
    ]

    with warehouse.session(read_only=True) as session:
        allocator = Allocator(load_weights_in_force(session))
    instagram = [allocator.allocate("checkout", f"v{n}", SEGMENTS[0]).variant_id for n in range(2_000)]
    google = [allocator.allocate("checkout", f"v{n}", SEGMENTS[1]).variant_id for n in range(2_000)]
    # B converts at 6% on Instagram against 2% for the others; A at 10% on Google against 4%.
    assert instagram.count("B") > 1_800
    assert google.count("A") > 1_800


def test_the_latest_run_of_an_experiment_is_in_force(warehouse):
    write_weight_run(warehouse, _run("run-1", 0))
    # Later, Instagram visitors turn to C.
    turned = CONVERSIONS.copy()
    turned[0] = [40, 40, 160]
    write_weight_run(warehouse, _run("run-2", 5, turned))
    with warehouse.session(read_only=True) as session:
        allocator = Allocator(load_weights_in_force(session))
    instagram = [allocator.allocate("checkout", f"v{n}", SEGMENTS[0]).variant_id for n in range(2_000)]
    assert instagram.count("C") > 1_800


def test_a_write_that_fails_midway_leaves_the_previous_run_in_force(warehouse, monkeypatch):
    write_weight_run(warehouse, _run("run-1", 0))
    original = tables._append

    def failing_after_the_weights(session, table, data):
        original(session, table, data)
        if table == tables.WEIGHTS_TABLE:
            raise RuntimeError("connection lost")

    monkeypatch.setattr(tables, "_append", failing_after_the_weights)
    with pytest.raises(RuntimeError, match="connection lost"):
        write_weight_run(warehouse, _run("run-2", 5))
    for table in ("experiment_weight_runs", "experiment_posteriors", "experiment_weights"):
        assert _rows(warehouse, f"select distinct run_id from ml.{table}") == [("run-1",)], table


def test_a_failed_first_write_leaves_no_tables_and_an_empty_warehouse_has_no_weights(warehouse, monkeypatch):
    def failing(session, table, data):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tables, "_append", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        write_weight_run(warehouse, _run("run-1", 0))
    with warehouse.session() as session:
        assert not session.table_exists("ml", "experiment_weight_runs")
        weights = load_weights_in_force(session)
    with pytest.raises(UnknownExperimentError):
        Allocator(weights).allocate("checkout", "v1", SEGMENTS[0])


def test_a_run_whose_keys_do_not_match_its_counts_is_refused():
    with pytest.raises(ValueError, match=r"counts of 3 segments x 3 variants for 2 segment keys"):
        WeightRun(
            run_id="r",
            experiment_id="checkout",
            computed_at=dt.datetime(2026, 11, 27, tzinfo=dt.UTC),
            segment_keys=SEGMENTS[:2],
            variant_ids=VARIANTS,
            assignments=ASSIGNMENTS,
            conversions=CONVERSIONS,
            result=segment_weights(ASSIGNMENTS, CONVERSIONS, seed=1),
            parameters={},
        )
    with pytest.raises(ValueError, match="'all' is the key of the experiment as a whole"):
        WeightRun(
            run_id="r",
            experiment_id="checkout",
            computed_at=dt.datetime(2026, 11, 27, tzinfo=dt.UTC),
            segment_keys=(SEGMENTS[0], SEGMENTS[1], EXPERIMENT_WIDE),
            variant_ids=VARIANTS,
            assignments=ASSIGNMENTS,
            conversions=CONVERSIONS,
            result=segment_weights(ASSIGNMENTS, CONVERSIONS, seed=1),
            parameters={},
        )


def test_a_run_computed_from_counts_records_its_parameters_and_is_reproducible():
    computed_at = dt.datetime(2026, 11, 27, 12, 30, 5, tzinfo=dt.UTC)
    first = WeightRun.from_counts(
        "checkout", SEGMENTS, VARIANTS, ASSIGNMENTS, CONVERSIONS, computed_at, seed=5
    )
    again = WeightRun.from_counts(
        "checkout", SEGMENTS, VARIANTS, ASSIGNMENTS, CONVERSIONS, computed_at, seed=5
    )
    np.testing.assert_array_equal(first.result.weights, again.result.weights)
    assert first.run_id != again.run_id
    assert re.fullmatch(r"weights_20261127T123005_[0-9a-f]{8}", first.run_id)
    assert first.parameters == {
        "draws": 10_000,
        "seed": 5,
        "floor": 0.01,
        "burn_in_per_variant": 100,
        "min_samples_per_segment": 100,
    }
