"""The call plan of a run: the parameters that shape its calls, and every call it will make, known up front.

`SegmentationParams` decide the batches (and so the cache keys); `CallPlan` turns a run's product ids (text) into
the extraction batches, the consolidation levels and the refinement batches. Nothing here talks to a model or a
warehouse, so the plan can be shown (and its call budget checked) before the first call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from python_jobs.product_segmentation.product_ids import id_order

EXTRACTION, CONSOLIDATION, REFINEMENT = "extraction", "consolidation", "refinement"
PHASES = (EXTRACTION, CONSOLIDATION, REFINEMENT)


@dataclass(frozen=True)
class SegmentationParams:
    """What shapes the calls (and so the cache keys): changing any of these changes which calls are made."""

    batch_size: int = 40
    refine_batch_size: int = 40
    max_segments_per_batch: int = 8
    max_segments: int = 12

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            if getattr(self, field.name) < 1:
                raise ValueError(f"{field.name} must be at least 1")

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> SegmentationParams:
        """The parameters of a run from its `processing_params`, for a resume."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in stored.items() if name in names})


def merges_per_level(taxonomies: int) -> tuple[int, ...]:
    """Merge calls at each consolidation level for `taxonomies` batch taxonomies: 25 -> (12, 6, 3, 2, 1)."""
    levels = []
    while taxonomies > 1:
        levels.append(taxonomies // 2)
        taxonomies = taxonomies // 2 + taxonomies % 2
    return tuple(levels)


def _chunks(ids: Sequence[str], size: int) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(ids[start : start + size]) for start in range(0, len(ids), size))


@dataclass(frozen=True)
class CallPlan:
    """Every call a run will make (follow-ups aside), known before the first one."""

    extraction_batches: tuple[tuple[str, ...], ...]
    refinement_batches: tuple[tuple[str, ...], ...]
    merge_levels: tuple[int, ...]

    @classmethod
    def for_products(cls, product_ids: Sequence[str], params: SegmentationParams) -> CallPlan:
        # Integer ids in numeric order, as when they were stored as integers: the same batches, the same prompts.
        ordered = sorted(product_ids, key=id_order)
        extraction = _chunks(ordered, params.batch_size)
        return cls(extraction, _chunks(ordered, params.refine_batch_size), merges_per_level(len(extraction)))

    @property
    def merge_calls(self) -> int:
        return sum(self.merge_levels)

    @property
    def calls_total(self) -> int:
        return len(self.extraction_batches) + self.merge_calls + len(self.refinement_batches)

    def describe(self) -> str:
        levels = len(self.merge_levels)
        return (
            f"{len(self.extraction_batches)} extraction + {self.merge_calls} merge ({levels} "
            f"level{'s' if levels != 1 else ''}) + {len(self.refinement_batches)} refinement calls"
        )


@dataclass(frozen=True)
class TaxonomyEntry:
    """A taxonomy entry as the job handles it: its id in the table and what the model sees."""

    id: str
    name: str
    definition: str

    def for_prompt(self) -> dict[str, str]:
        return {"name": self.name, "definition": self.definition}


@dataclass(frozen=True)
class TaxonomyReplacement:
    """A phase's taxonomy rows and which of the run's stored entries they replace: those of `stages`, and
    those whose stage starts with `stage_prefix` (when given)."""

    stages: tuple[str, ...]
    rows: list[dict[str, Any]]
    stage_prefix: str = ""
