"""How a clustered segment gets its name: the two naming rules an axis can use, `Ladder` and `Dominant`.

Part of the shared definitions (`python_jobs.definitions` re-exports everything here), so it stays import-light:
dbt loads it on every invocation.
"""

from __future__ import annotations

from dataclasses import dataclass

# An axis is split into at most this many segments; `SHARED_BAND_SUFFIXES` has suffixes for every k up to it.
MAX_SEGMENTS_PER_AXIS = 6
LADDER_LENGTH = 7


# Where a ladder's rungs begin, as percentiles of the naming feature over the whole population: a centroid below
# the 5th percentile takes the first name, from the 5th to the 20th the second, ... from the 95th the seventh. The
# bands are symmetric around the median, so a centroid at the median takes the middle (fourth) name.
PERCENTILE_BAND_FLOORS = (0.05, 0.20, 0.40, 0.60, 0.80, 0.95)

# How segments that would share a name are told apart: by where each sits among them, lowest first. Two become
# `<name>_lower` and `<name>_upper`, and so on.
SHARED_BAND_SUFFIXES: dict[int, tuple[str, ...]] = {
    2: ("lower", "upper"),
    3: ("lower", "middle", "upper"),
    4: ("lowest", "lower", "upper", "highest"),
    5: ("lowest", "lower", "middle", "upper", "highest"),
    6: ("lowest", "lower", "lower_middle", "upper_middle", "upper", "highest"),
}


def percentile_band(percentile: float) -> int:
    """The ladder rung (0..6) of a population percentile in [0, 1]; a band includes its floor."""
    return sum(percentile >= floor for floor in PERCENTILE_BAND_FLOORS)


def _tell_apart(names: list[str], keys: list[float]) -> list[str]:
    """Give segments that share a name a suffix saying where each sits among them (by `keys`, lowest first)."""
    told_apart = list(names)
    for name in set(names):
        holders = [i for i, candidate in enumerate(names) if candidate == name]
        if len(holders) < 2:
            continue
        holders.sort(key=lambda i: (keys[i], i))
        for suffix, index in zip(SHARED_BAND_SUFFIXES[len(holders)], holders, strict=True):
            told_apart[index] = f"{name}_{suffix}"
    return told_apart


def _with_suffixes(bases: list[str]) -> list[str]:
    suffixes = sorted({suffix for group in SHARED_BAND_SUFFIXES.values() for suffix in group})
    return [*bases, *(f"{base}_{suffix}" for base in bases for suffix in suffixes)]


@dataclass(frozen=True)
class Ladder:
    """Segments named by where their centroid sits in the population on one feature.

    Seven names, low to high. A segment's name is the rung of the band (`PERCENTILE_BAND_FLOORS`) that holds the
    percentile of its centroid's `feature` in that feature's distribution over all customers: an extreme name is
    earned by an extreme centroid, whatever k is. Segments of one axis whose centroids fall in the same band keep
    that band's name with a suffix saying where each sits among them (`SHARED_BAND_SUFFIXES`), so two segments
    never share a name and no name claims a band its centroid is not in.

    `none_name`, when given, names a segment most of whose customers have exactly zero on `feature` (say, never
    returned anything): "none" is then a fact about the typical member, truer than any rung of a percentile.
    """

    feature: str
    names: tuple[str, ...]
    none_name: str | None = None

    def name(
        self,
        centroids: list[dict[str, float]],
        percentiles: list[float],
        zero_shares: list[float] | None = None,
    ) -> list[str]:
        if len(percentiles) != len(centroids):
            raise ValueError(f"{len(centroids)} centroids but {len(percentiles)} percentiles")
        names = [self.names[percentile_band(p)] for p in percentiles]
        if self.none_name is not None and zero_shares is not None:
            names = [
                self.none_name if share > 0.5 else name
                for name, share in zip(names, zero_shares, strict=True)
            ]
        return _tell_apart(names, [centroid[self.feature] for centroid in centroids])

    def order_key(self, centroid: dict[str, float]) -> float:
        return centroid[self.feature]

    def accepted_names(self) -> list[str]:
        return _with_suffixes([*self.names, *([self.none_name] if self.none_name else [])])


@dataclass(frozen=True)
class ValueBands:
    """Segments named by fixed bands of their centroid's value on one feature, for a feature whose values mean
    something on their own (a spend ratio, a share of the year), where a percentile would mislead: when most
    customers' spending collapsed, the median customer's trend is a collapse, not "steady".

    `floors` are the values where each name after the first begins (a band includes its floor), so there is one
    more name than floors. `none_name`, as on a ladder, names a segment most of whose customers are at zero.
    """

    feature: str
    floors: tuple[float, ...]
    names: tuple[str, ...]
    none_name: str | None = None

    def __post_init__(self) -> None:
        if len(self.names) != len(self.floors) + 1 or list(self.floors) != sorted(self.floors):
            raise ValueError(f"{self.feature}: need ascending floors and one name more than floors")

    def name(
        self,
        centroids: list[dict[str, float]],
        percentiles: list[float] | None = None,
        zero_shares: list[float] | None = None,
    ) -> list[str]:
        values = [centroid[self.feature] for centroid in centroids]
        names = [self.names[sum(value >= floor for floor in self.floors)] for value in values]
        if self.none_name is not None and zero_shares is not None:
            names = [
                self.none_name if share > 0.5 else name
                for name, share in zip(names, zero_shares, strict=True)
            ]
        return _tell_apart(names, values)

    def order_key(self, centroid: dict[str, float]) -> float:
        return centroid[self.feature]

    def accepted_names(self) -> list[str]:
        return _with_suffixes([*self.names, *([self.none_name] if self.none_name else [])])


@dataclass(frozen=True)
class Dominant:
    """Segments named by the feature that dominates the centroid, e.g. the support channel used most.

    `labels` pairs each share feature with a stem. A centroid whose largest share is at least `only_from` is
    `<stem>_only`, at least `first_from` `<stem>_first`, and below that `mixed_name`. Segments that would share a
    name are told apart by how strongly their stem dominates (`_lower`, `_upper`, ...), as on a ladder.
    """

    labels: tuple[tuple[str, str], ...]
    mixed_name: str
    first_from: float = 0.5
    only_from: float = 0.8

    def _label(self, centroid: dict[str, float]) -> str:
        feature, stem = max(self.labels, key=lambda pair: centroid[pair[0]])
        if centroid[feature] >= self.only_from:
            return f"{stem}_only"
        if centroid[feature] >= self.first_from:
            return f"{stem}_first"
        return self.mixed_name

    def order_key(self, centroid: dict[str, float]) -> float:
        return max(centroid[feature] for feature, _ in self.labels)

    def name(self, centroids: list[dict[str, float]], percentiles: list[float] | None = None) -> list[str]:
        """Names from the centroids alone: a dominant share is already a statement about the customer."""
        return _tell_apart(
            [self._label(centroid) for centroid in centroids], [self.order_key(c) for c in centroids]
        )

    def accepted_names(self) -> list[str]:
        stems = [stem for _, stem in self.labels]
        return _with_suffixes(
            [*(f"{s}_only" for s in stems), *(f"{s}_first" for s in stems), self.mixed_name]
        )
