"""Random streams and the vectorised draws every table uses."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Random streams ---------------------------------------------------------------------------------

_STREAMS = (
    "archetypes",
    "population",
    "merges",
    "orders",
    "items",
    "web",
    "tickets",
    "customers",
    "bad_rows",
)


def random_streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per concern, so tuning one table does not reshuffle the others."""
    children = np.random.default_rng(seed).spawn(len(_STREAMS))
    return dict(zip(_STREAMS, children, strict=True))


# Small helpers ----------------------------------------------------------------------------------


def draw_codes(rng: np.random.Generator, probabilities: Sequence[float], size: int) -> np.ndarray:
    return rng.choice(len(probabilities), size=size, p=np.asarray(probabilities)).astype(np.int64)


def draw_codes_by_group(
    rng: np.random.Generator, groups: np.ndarray, probability_table: np.ndarray
) -> np.ndarray:
    """Draw one code per row from its group's distribution (a row of `probability_table`)."""
    uniform = rng.random(len(groups))
    cumulative = np.cumsum(probability_table, axis=1)
    codes = np.zeros(len(groups), dtype=np.int64)
    # Inverse CDF one column at a time: a rows x codes matrix would not fit at a million customers.
    for column in range(probability_table.shape[1] - 1):
        codes += uniform >= cumulative[:, column][groups]
    return codes


def poisson_by_group(rng: np.random.Generator, groups: np.ndarray, means: np.ndarray) -> np.ndarray:
    return rng.poisson(means[groups]).astype(np.int64)


def pick_uniform(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """A uniform integer in [0, count) per row."""
    return np.minimum((rng.random(len(counts)) * counts).astype(np.int64), counts - 1)


def segment_cumsum(values: np.ndarray, segment_lengths: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at every segment; segments are consecutive runs of rows."""
    total = np.cumsum(values)
    segment_start = np.cumsum(segment_lengths) - segment_lengths
    before_segment = total[segment_start[segment_lengths > 0]] - values[segment_start[segment_lengths > 0]]
    return total - np.repeat(before_segment, segment_lengths[segment_lengths > 0])
