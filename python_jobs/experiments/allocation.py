"""Allocation of a visitor to a variant, in process, from the weights in force loaded once.

A visitor already assigned keeps their variant (sticky). A new visitor is placed by a deterministic number in
[0, 1): BLAKE2b of (experiment, visitor), its top 53 bits read as a fraction, located on the cumulative weights of
the visitor's segment in variant-id order. The same visitor in the same experiment always gets the same number, so
a retry (or a second server with the same weights) gives the same answer without any shared state; and since the
number is uniform over visitors, new visitors split as the weights say.

A segment without weights of its own (new, or too small to have been given any) takes the experiment-wide
weights, stored under the segment key `EXPERIMENT_WIDE`; an experiment without those takes equal weights over
its variants.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

# The segment key of the experiment as a whole. Segment keys are `field:value` pairs joined by `|`; this one has no
# colon, so it can never be taken for a segment.
EXPERIMENT_WIDE = "all"

_WEIGHT_TOLERANCE = 1e-6

ExistingAssignments = Mapping[tuple[str, str], str] | Callable[[str, str], str | None]


class UnknownExperimentError(LookupError):
    """An allocation was asked for an experiment that has no weights in force."""


@dataclass(frozen=True)
class Allocation:
    variant_id: str
    segment_key: str
    is_new: bool  # False when the visitor already had this variant


def hashed_uniform(experiment_id: str, visitor_id: str) -> float:
    """A number in [0, 1) fixed by (experiment, visitor): BLAKE2b's top 53 bits, so every value is a float."""
    digest = hashlib.blake2b(f"{experiment_id}\x00{visitor_id}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) / 2**53


@dataclass(frozen=True)
class _Split:
    variants: tuple[str, ...]
    cumulative: tuple[float, ...]  # upper bound of each variant's interval

    def variant_at(self, u: float) -> str:
        # bisect_right never lands on a variant of weight 0 (an interval of no width).
        return self.variants[bisect.bisect_right(self.cumulative, u)]


def _split(variants: list[str], weights: list[float]) -> _Split:
    total = 0.0
    cumulative = []
    for weight in weights:
        total += weight
        cumulative.append(total)
    # The last bound is infinite, so rounding in the running total can never leave a number past the end.
    return _Split(tuple(variants), (*cumulative[:-1], math.inf))


class WeightsInForce:
    """The weights in force of every experiment and segment, ready for allocation."""

    def __init__(self, splits: dict[str, dict[str, _Split]]) -> None:
        self._splits = splits

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str, float]]) -> WeightsInForce:
        """From rows (experiment id, segment key, variant id, weight); each segment's weights must add up to 1."""
        grouped: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
        for experiment_id, segment_key, variant_id, weight in rows:
            where = f"experiment {experiment_id!r}, segment {segment_key!r}, variant {variant_id!r}"
            weight = float(weight)
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"{where}: weight {weight} is negative or not a number")
            if variant_id in grouped[experiment_id][segment_key]:
                raise ValueError(f"{where} appears twice")
            grouped[experiment_id][segment_key][variant_id] = weight
        splits: dict[str, dict[str, _Split]] = {}
        for experiment_id, segments in grouped.items():
            splits[experiment_id] = {}
            for segment_key, weights in segments.items():
                total = sum(weights.values())
                if abs(total - 1.0) > _WEIGHT_TOLERANCE:
                    raise ValueError(
                        f"experiment {experiment_id!r}, segment {segment_key!r}: weights add up to {total:.6g}, not 1"
                    )
                variants = sorted(weights)
                splits[experiment_id][segment_key] = _split(variants, [weights[v] for v in variants])
            if EXPERIMENT_WIDE not in splits[experiment_id]:
                variants = sorted({v for split in splits[experiment_id].values() for v in split.variants})
                splits[experiment_id][EXPERIMENT_WIDE] = _split(
                    variants, [1.0 / len(variants)] * len(variants)
                )
        return cls(splits)

    def split(self, experiment_id: str, segment_key: str) -> _Split:
        segments = self._splits.get(experiment_id)
        if segments is None:
            raise UnknownExperimentError(f"experiment {experiment_id!r} has no weights in force")
        split = segments.get(segment_key)
        return split if split is not None else segments[EXPERIMENT_WIDE]


class Allocator:
    """Allocates visitors from weights loaded once; `existing` gives the variant a visitor already has, as a
    mapping (experiment id, visitor id) -> variant id or as a function returning None for a new visitor."""

    def __init__(self, weights: WeightsInForce, existing: ExistingAssignments | None = None) -> None:
        self._weights = weights
        if existing is None:
            self._existing: Callable[[str, str], str | None] = lambda _experiment, _visitor: None
        elif callable(existing):
            self._existing = existing
        else:
            mapping = existing
            self._existing = lambda experiment_id, visitor_id: mapping.get((experiment_id, visitor_id))

    def allocate(self, experiment_id: str, visitor_id: str, segment_key: str) -> Allocation:
        split = self._weights.split(experiment_id, segment_key)
        variant_id = self._existing(experiment_id, visitor_id)
        if variant_id is not None:
            return Allocation(variant_id, segment_key, is_new=False)
        return Allocation(
            split.variant_at(hashed_uniform(experiment_id, visitor_id)), segment_key, is_new=True
        )
