"""How the data gets dirty but stays usable: messy enums, stray spaces; and the few rows picked to carry a defect."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

STRAY_SPACE_SHARE = 0.005
MESSY_ENUM_SHARE = 0.05
NULL_CUSTOMER_SHARE = 0.0002
# Below this size a data set is a quick experiment: dirty rows appear only at their natural rate.
GUARANTEED_DIRT_MIN_CUSTOMERS = 1_000


def dirty_count(rows: int, share: float, guaranteed: bool) -> int:
    count = round(rows * share)
    return min(rows, max(count, 1 if guaranteed else 0))


_ENUM_SPELLINGS: tuple[Callable[[str], str], ...] = (
    lambda value: value,  # the clean spelling comes first: variant 0
    str.capitalize,
    str.upper,
    str.title,
    lambda value: f" {value} ",
    lambda value: f"{value.upper()} ",
    lambda value: f" {value.capitalize()}",
)


def messy_enum(rng: np.random.Generator, codes: np.ndarray, values: Sequence[str]) -> pa.Array:
    """Enum values as a careless source system writes them: now and then mixed case or padded."""
    spellings = pa.array([spell(value) for value in values for spell in _ENUM_SPELLINGS])
    is_messy = rng.random(len(codes)) < MESSY_ENUM_SHARE
    variant = np.where(is_messy, rng.integers(1, len(_ENUM_SPELLINGS), size=len(codes)), 0)
    return spellings.take(pa.array(codes * len(_ENUM_SPELLINGS) + variant))


_STRAY_SPACES = ((" ", ""), ("", " "), (" ", " "), ("  ", ""), ("", "  "))


def with_stray_spaces(rng: np.random.Generator, ids: pa.Array) -> pa.Array:
    is_scuffed = rng.random(len(ids)) < STRAY_SPACE_SHARE
    padding = rng.integers(0, len(_STRAY_SPACES), size=int(is_scuffed.sum()))
    left = pa.array([pair[0] for pair in _STRAY_SPACES]).take(pa.array(padding))
    right = pa.array([pair[1] for pair in _STRAY_SPACES]).take(pa.array(padding))
    scuffed = pc.binary_join_element_wise(left, ids.filter(pa.array(is_scuffed)), right, "")
    return pc.replace_with_mask(ids, pa.array(is_scuffed), scuffed)


def random_rows(rng: np.random.Generator, rows: int, share: float, guaranteed: bool) -> np.ndarray:
    """A mask over `rows` picking the few rows a dirty-data rule applies to."""
    mask = np.zeros(rows, dtype=bool)
    mask[rng.choice(rows, size=dirty_count(rows, share, guaranteed), replace=False)] = True
    return mask
