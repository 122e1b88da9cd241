"""Allocation of visitors to variants in process: sticky, deterministic, distributed as the weights say."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pytest
from scipy import stats

from python_jobs.experiments.allocation import (
    EXPERIMENT_WIDE,
    Allocator,
    UnknownExperimentError,
    WeightsInForce,
    hashed_uniform,
)

WEIGHT_ROWS = [
    # experiment, segment key, variant, weight
    ("checkout", EXPERIMENT_WIDE, "A", 0.25),
    ("checkout", EXPERIMENT_WIDE, "B", 0.25),
    ("checkout", EXPERIMENT_WIDE, "C", 0.25),
    ("checkout", EXPERIMENT_WIDE, "D", 0.25),
    ("checkout", "source:instagram|device:mobile", "A", 0.05),
    ("checkout", "source:instagram|device:mobile", "B", 0.50),
    ("checkout", "source:instagram|device:mobile", "C", 0.30),
    ("checkout", "source:instagram|device:mobile", "D", 0.15),
    ("checkout", "source:google|device:desktop", "A", 0.97),
    ("checkout", "source:google|device:desktop", "B", 0.01),
    ("checkout", "source:google|device:desktop", "C", 0.01),
    ("checkout", "source:google|device:desktop", "D", 0.01),
    ("newsletter", EXPERIMENT_WIDE, "plain", 0.5),
    ("newsletter", EXPERIMENT_WIDE, "rich", 0.5),
]


def _allocator(existing=None) -> Allocator:
    return Allocator(WeightsInForce.from_rows(WEIGHT_ROWS), existing=existing)


def test_the_hash_is_blake2b_of_experiment_and_visitor_read_as_a_uniform_number():
    digest = hashlib.blake2b(b"checkout\x00visitor-1", digest_size=8).digest()
    expected = (int.from_bytes(digest, "big") >> 11) / 2**53
    assert hashed_uniform("checkout", "visitor-1") == expected
    assert 0 <= hashed_uniform("checkout", "visitor-1") < 1
    # The separator keeps ("ab", "c") and ("a", "bc") apart.
    assert hashed_uniform("ab", "c") != hashed_uniform("a", "bc")


def test_a_visitor_already_assigned_keeps_their_variant_whatever_the_weights():
    existing = {("checkout", "v-1"): "D", ("checkout", "v-2"): "B"}
    allocator = _allocator(existing)
    first = allocator.allocate("checkout", "v-1", "source:google|device:desktop")
    assert (first.variant_id, first.is_new) == ("D", False)
    assert first.segment_key == "source:google|device:desktop"
    assert allocator.allocate("checkout", "v-2", "anything").variant_id == "B"


def test_existing_assignments_can_come_from_a_lookup_function():
    asked = []

    def lookup(experiment_id: str, visitor_id: str) -> str | None:
        asked.append((experiment_id, visitor_id))
        return "C" if visitor_id == "known" else None

    allocator = _allocator(lookup)
    assert allocator.allocate("checkout", "known", EXPERIMENT_WIDE).variant_id == "C"
    assert allocator.allocate("checkout", "stranger", EXPERIMENT_WIDE).is_new
    assert asked == [("checkout", "known"), ("checkout", "stranger")]


def test_a_new_visitor_gets_the_same_variant_on_a_retry_and_from_a_fresh_allocator():
    visitors = [f"visitor-{number}" for number in range(2_000)]
    segment = "source:instagram|device:mobile"
    first = [_allocator().allocate("checkout", visitor, segment).variant_id for visitor in visitors]
    allocator = _allocator()
    retried = [allocator.allocate("checkout", visitor, segment).variant_id for visitor in visitors]
    assert first == retried
    assert set(first) == {"A", "B", "C", "D"}


def test_a_new_visitor_is_placed_from_the_hash_on_the_cumulative_weights_in_variant_order():
    # Instagram mobile: A [0, 0.05), B [0.05, 0.55), C [0.55, 0.85), D [0.85, 1).
    allocator = _allocator()
    for number in range(500):
        visitor = f"v{number}"
        u = hashed_uniform("checkout", visitor)
        expected = "A" if u < 0.05 else "B" if u < 0.55 else "C" if u < 0.85 else "D"
        assert (
            allocator.allocate("checkout", visitor, "source:instagram|device:mobile").variant_id == expected
        )


def test_new_visitors_are_distributed_as_the_weights_say():
    allocator = _allocator()
    segment = "source:instagram|device:mobile"
    counts = {"A": 0, "B": 0, "C": 0, "D": 0}
    for number in range(100_000):
        counts[allocator.allocate("checkout", f"id-{number:06d}", segment).variant_id] += 1
    observed = np.array([counts[variant] for variant in "ABCD"])
    expected = 100_000 * np.array([0.05, 0.50, 0.30, 0.15])
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_an_unknown_segment_takes_the_experiment_wide_weights():
    allocator = _allocator()
    for number in range(200):
        visitor = f"v{number}"
        unknown = allocator.allocate("checkout", visitor, "source:tiktok|device:tablet")
        wide = allocator.allocate("checkout", visitor, EXPERIMENT_WIDE)
        assert unknown.variant_id == wide.variant_id
        assert unknown.segment_key == "source:tiktok|device:tablet"


def test_an_unknown_experiment_is_a_clear_error():
    with pytest.raises(UnknownExperimentError, match="experiment 'pricing' has no weights in force"):
        _allocator().allocate("pricing", "v1", EXPERIMENT_WIDE)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("e", "", "A", 0.5), ("e", "", "B", 0.4)], r"experiment 'e', segment '': weights add up to 0.9"),
        (
            [("e", "s", "A", 1.2), ("e", "s", "B", -0.2)],
            r"experiment 'e', segment 's', variant 'B'.*negative",
        ),
        (
            [("e", "", "A", 0.5), ("e", "", "A", 0.5)],
            r"experiment 'e', segment '', variant 'A' appears twice",
        ),
    ],
)
def test_weights_that_cannot_be_used_are_refused_naming_the_row(rows, message):
    with pytest.raises(ValueError, match=message):
        WeightsInForce.from_rows(rows)


def test_allocation_takes_well_under_a_millisecond():
    existing = {("checkout", f"old-{number}"): "B" for number in range(50_000)}
    allocator = _allocator(existing)
    timings = []
    for number in range(20_000):
        visitor = f"old-{number}" if number % 2 else f"new-{number}"
        started = time.perf_counter_ns()
        allocator.allocate("checkout", visitor, "source:instagram|device:mobile")
        timings.append(time.perf_counter_ns() - started)
    assert np.median(timings) < 100_000  # 0.1 ms; typically a few microseconds
