"""The statistics behind a recommendation, on synthetic experiments whose truth is known: the fields whose
conversion differs are found, and the expected lift is positive when segments prefer different variants and about
0 when they do not (the cross-fitting keeps noise from looking like a gain)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from python_jobs.experiments.clustering import CLUSTERING_TABLES
from python_jobs.experiments.eligibility import ELIGIBILITY_TABLES
from python_jobs.experiments.recommendations import estimate_lift, recommend, score_fields, visitor_halves


def synthetic(rates: dict[tuple[str, str], float], visitors_per_cell: int, seed: int = 7):
    """Visitors of two sources x two variants, converting at the given rate per (source, variant)."""
    rng = np.random.default_rng(seed)
    sources, variants, converted, devices = [], [], [], []
    for (source, variant), rate in rates.items():
        sources += [source] * visitors_per_cell
        variants += [variant] * visitors_per_cell
        converted.append(rng.random(visitors_per_cell) < rate)
        devices += list(rng.choice(["mobile", "desktop"], visitors_per_cell))
    ids = [f"v{i}" for i in range(len(sources))]
    return ids, {"source": sources, "device": devices}, variants, np.concatenate(converted)


# Instagram converts best on B, Google on A: each segment on its own variant converts at 0.10 instead of 0.075.
CROSSED = {("instagram", "A"): 0.05, ("instagram", "B"): 0.10, ("google", "A"): 0.10, ("google", "B"): 0.05}
# Same two segments, same rates for both variants: segmenting cannot gain anything.
FLAT = {("instagram", "A"): 0.08, ("instagram", "B"): 0.08, ("google", "A"): 0.08, ("google", "B"): 0.08}


def lift_of(rates, seed=7, visitors_per_cell=4_000):
    ids, fields, variants, converted = synthetic(rates, visitors_per_cell, seed)
    segments = np.unique(np.array(fields["source"], dtype=object), return_inverse=True)[1]
    variant_codes = np.unique(np.array(variants, dtype=object), return_inverse=True)[1]
    return estimate_lift(segments, variant_codes, converted, visitor_halves(ids), prior_visitors=100)


def test_segments_preferring_different_variants_give_a_positive_lift_close_to_the_true_one():
    lift = lift_of(CROSSED)
    # True lift: 0.10 / 0.075 - 1 = +33%; the estimate is from 16,000 visitors.
    assert lift.relative_lift == pytest.approx(0.10 / 0.075 - 1, abs=0.10)


def test_segments_that_do_not_differ_give_a_lift_of_about_zero():
    # Picking the best variant per segment on the data that measures it can only show a gain; chosen on one
    # half and read on the other, the gain is noise around 0. Over 20 synthetic experiments (measured: mean
    # -0.2%, standard deviation 3.0%, worst 7.6%):
    lifts = [lift_of(FLAT, seed=seed).relative_lift for seed in range(1, 21)]
    assert abs(np.mean(lifts)) < 0.015
    assert max(abs(lift) for lift in lifts) < 0.10


def test_the_field_whose_values_prefer_different_variants_ranks_first_and_is_significant():
    _, fields, variants, converted = synthetic(CROSSED, 2_000)
    scores = score_fields(fields, variants, converted)
    assert [score.field for score in scores] == ["source", "device"]
    assert scores[0].p_value < 1e-6
    assert scores[1].p_value > 0.001
    assert {(value, variant) for value, variant, _ in scores[0].best_variants} == {
        ("instagram", "B"),
        ("google", "A"),
    }


def test_a_field_whose_values_convert_differently_but_agree_on_the_winner_is_not_significant():
    # Google converts three times better than Instagram, and B beats A by the same margin in both.
    rates = {("instagram", "A"): 0.04, ("instagram", "B"): 0.05, ("google", "A"): 0.12, ("google", "B"): 0.15}
    _, fields, variants, converted = synthetic(rates, 2_000)
    source = next(score for score in score_fields(fields, variants, converted) if score.field == "source")
    assert source.p_value > 0.001


@pytest.mark.parametrize(
    ("visitors_a_day", "mode", "eligible"),
    [(999.9, "disabled", False), (1_000, "manual", True), (9_999, "manual", True), (10_000, "auto", True)],
)
def test_the_recommended_mode_follows_traffic(visitors_a_day, mode, eligible):
    ids, fields, variants, converted = synthetic(CROSSED, 1_000)
    found = recommend("e", visitors_a_day, 1_000, fields, variants, converted, visitor_halves(ids), 100)
    assert (found.recommended_mode, found.is_eligible) == (mode, eligible)
    assert found.segment_by == (("source",) if mode == "manual" else ())
    assert f"{visitors_a_day:,.1f} visitors a day" in found.reason
    assert found.lift.relative_lift > 0.1


def test_an_eligible_experiment_without_any_conversion_is_not_segmented():
    ids, fields, variants, _ = synthetic(FLAT, 100)
    found = recommend("e", 5_000, 1_000, fields, variants, np.zeros(len(ids), bool), visitor_halves(ids), 100)
    assert found.recommended_mode == "disabled"
    assert found.lift.relative_lift == 0


ML_SOURCES_YML = Path(__file__).parents[3] / "models" / "staging" / "ml" / "_ml__sources.yml"


@pytest.mark.parametrize("table", [*ELIGIBILITY_TABLES, *CLUSTERING_TABLES])
def test_ml_source_columns_are_the_tables_the_jobs_write(table):
    schema = {**ELIGIBILITY_TABLES, **CLUSTERING_TABLES}[table]
    [source] = [s for s in yaml.safe_load(ML_SOURCES_YML.read_text())["sources"] if s["name"] == "ml"]
    [declared] = [t for t in source["tables"] if t["name"] == table]
    assert [column["name"] for column in declared["columns"]] == schema.names
