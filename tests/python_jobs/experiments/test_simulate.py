"""The traffic simulator behind `segments bench-bandit`: its bookkeeping, and that per-segment Thompson sampling
earns its keep when segments differ."""

from __future__ import annotations

import numpy as np
import pytest

from python_jobs.experiments.simulate import (
    POLICIES,
    SEGMENTS_DIFFER,
    compare_policies,
    simulate,
)


def test_uniform_regret_is_the_mean_gap_to_each_segment_s_best_variant():
    run = simulate(SEGMENTS_DIFFER, "uniform", visitors=40_000, batch_size=5_000, seed=3)
    # Worked from the scenario's table: best minus mean rate, per segment, weighted by traffic share.
    gaps = [0.045 - 0.03375, 0.060 - 0.048, 0.070 - 0.0535, 0.036 - 0.02775]
    expected = 40_000 * float(np.dot([0.34, 0.28, 0.22, 0.16], gaps))
    assert run.regret == pytest.approx(expected, rel=0.03)
    assert run.assignments.sum() == 40_000


def test_every_policy_sees_the_same_arrivals_for_a_seed():
    visitors_by_segment = [
        simulate(SEGMENTS_DIFFER, policy, visitors=12_000, batch_size=3_000, seed=8, draws=500)
        .assignments.sum(axis=1)
        .tolist()
        for policy in POLICIES
    ]
    assert visitors_by_segment[0] == visitors_by_segment[1] == visitors_by_segment[2]


def test_a_policy_the_simulator_does_not_know_is_refused():
    with pytest.raises(ValueError, match="unknown policy 'greedy'"):
        simulate(SEGMENTS_DIFFER, "greedy")


def test_per_segment_thompson_sampling_beats_uniform_and_the_experiment_wide_sampler_when_segments_differ():
    comparison = compare_policies(SEGMENTS_DIFFER, seeds=3, visitors=30_000, batch_size=2_500, draws=2_000)
    per_segment = comparison.regret["per_segment"].mean()
    assert per_segment < 0.6 * comparison.regret["uniform"].mean()
    assert per_segment < 0.75 * comparison.regret["experiment_wide"].mean()
    assert (comparison.lift_over_uniform("per_segment") > 0).all()


def test_the_comparison_does_not_depend_on_the_number_of_workers():
    one = compare_policies(SEGMENTS_DIFFER, seeds=2, visitors=6_000, batch_size=2_000, draws=300, workers=1)
    two = compare_policies(SEGMENTS_DIFFER, seeds=2, visitors=6_000, batch_size=2_000, draws=300, workers=2)
    for policy in POLICIES:
        np.testing.assert_array_equal(one.regret[policy], two.regret[policy])
