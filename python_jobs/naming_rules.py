"""How a clustered segment gets its name: the two naming rules an axis can use, `Ladder` and `Dominant`.

Part of the shared definitions (`python_jobs.definitions` re-exports everything here), so it stays import-light:
dbt loads it on every invocation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from python_jobs.naming_words import CONTRASTS

# An axis is split into at most this many segments; `SHARED_BAND_SUFFIXES` has suffixes for every k up to it.
MAX_SEGMENTS_PER_AXIS = 6
LADDER_LENGTH = 7


# Where a ladder's rungs begin, as percentiles of the naming feature over the whole population: a centroid below
# the 5th percentile takes the first name, from the 5th to the 20th the second, ... from the 95th the seventh. The
# bands are symmetric around the median, so a centroid at the median takes the middle (fourth) name.
PERCENTILE_BAND_FLOORS = (0.05, 0.20, 0.40, 0.60, 0.80, 0.95)

# Segments that would share a name are told apart by the features of the axis on which they stand out from each
# other (`CONTRASTS` gives the words), but only by a difference of at least this much in population percentile:
# closer than 5 percentile points, "more" would claim a difference a marketer could not find in the data.
MIN_CONTRAST = 0.05

# A word of what a segment has more of than the others of its name (`more_email`) is preferred to one of what it
# has less of (`less_chat`) unless the latter is this much stronger: "more email" tells a marketer what the
# segment does, "less chat" only what it does not.
MORE_PREFERRED_BY = 0.05

# A segment named for being at zero on the naming feature (`Ladder.none_name`) claims it for every member only when
# at least this share of them is; from half of them to this share it says "mostly" (`mostly_no_returns`).
ALL_AT_ZERO = 0.95

# Per segment, its population percentile (0..1) on every feature of its axis: the weighted mean of its members'
# percentiles, so that features of any unit and skew compare on one scale.
Positions = Sequence[dict[str, float]]

# The fallback when the features do not tell them apart: where each sits among them on the naming key, lowest
# first. Two become `<name>_lower` and `<name>_upper`, and so on.
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


def contrast_words(holders: list[int], positions: Positions) -> dict[int, str] | None:
    """Per segment of `holders` (segments sharing a name), the word of the feature on which it stands out most
    from the others: its population percentile minus theirs (their mean), `more_<noun>` above, `less_<noun>`
    below. Two segments are mostly told apart by the feature on which they differ most, one `less_`, one `more_`;
    each gets a `more_` word of its own when that is nearly as strong (`MORE_PREFERRED_BY`).

    Greedy, strongest difference first, and no word twice: a segment whose best word is taken gets its next best.
    None when some segment cannot be told apart by at least `MIN_CONTRAST` with a word still free.
    """
    features = list(positions[holders[0]])
    candidates = []
    for rank, i in enumerate(holders):
        others = [j for j in holders if j != i]
        for order, feature in enumerate(features):
            difference = positions[i][feature] - sum(positions[j][feature] for j in others) / len(others)
            if abs(difference) < MIN_CONTRAST:
                continue
            word = CONTRASTS[feature].word(higher=difference > 0)
            preference = abs(difference) + (MORE_PREFERRED_BY if difference > 0 else 0.0)
            candidates.append((-preference, rank, order, i, word))
    chosen: dict[int, str] = {}
    for _, _, _, i, word in sorted(candidates):
        if i not in chosen and word not in chosen.values():
            chosen[i] = word
    return chosen if len(chosen) == len(holders) else None


def _tell_apart(names: list[str], keys: list[float], positions: Positions | None = None) -> list[str]:
    """Give segments that share a name a suffix telling them apart: the words of the features on which they
    stand out from each other (`contrast_words`), or else where each sits among them by `keys`."""
    if positions is not None and len(positions) != len(names):
        raise ValueError(f"{len(names)} segments but {len(positions)} feature positions")
    told_apart = list(names)
    for name in set(names):
        holders = [i for i, candidate in enumerate(names) if candidate == name]
        if len(holders) < 2:
            continue
        words = contrast_words(holders, positions) if positions is not None else None
        if words is None:
            holders.sort(key=lambda i: (keys[i], i))
            words = dict(zip(holders, SHARED_BAND_SUFFIXES[len(holders)], strict=True))
        for index, word in words.items():
            told_apart[index] = f"{name}_{word}"
    return told_apart


def _at_zero(
    names: list[str], zero_shares: list[float] | None, none_name: str | None, mostly_none_name: str | None
) -> list[str]:
    """Rename the segments most of whose members are at zero on the naming feature (see `Ladder.none_name`)."""
    if none_name is None or zero_shares is None:
        return names
    return [
        name if share <= 0.5 else none_name if share >= ALL_AT_ZERO else (mostly_none_name or none_name)
        for name, share in zip(names, zero_shares, strict=True)
    ]


def _with_suffixes(bases: list[str], features: Sequence[str]) -> list[str]:
    suffixes = sorted({suffix for group in SHARED_BAND_SUFFIXES.values() for suffix in group})
    suffixes += [word for feature in features for word in CONTRASTS[feature].words()]
    return [*bases, *(f"{base}_{suffix}" for base in bases for suffix in suffixes)]


@dataclass(frozen=True)
class Ladder:
    """Segments named by where their centroid sits in the population on one feature.

    Seven names, low to high. A segment's name is the rung of the band (`PERCENTILE_BAND_FLOORS`) that holds the
    percentile of its centroid's `feature` in that feature's distribution over all customers: an extreme name is
    earned by an extreme centroid, whatever k is. Segments of one axis whose centroids fall in the same band keep
    that band's name with a suffix telling them apart (`_tell_apart`: the feature of the axis on which they
    differ most, `typical_support_fewer_complex_tickets`), so two segments never share a name and no name
    claims a band its centroid is not in.

    `none_name`, when given, names a segment most of whose customers have exactly zero on `feature` (say, never
    returned anything): "none" is then a fact about the typical member, truer than any rung of a percentile. It
    claims it for all of them only when nearly all are at zero (`ALL_AT_ZERO`); from half of them to that, the
    segment is `mostly_none_name` (`mostly_no_returns`: a third of its members did return something).
    """

    feature: str
    names: tuple[str, ...]
    none_name: str | None = None
    mostly_none_name: str | None = None

    def name(
        self,
        centroids: list[dict[str, float]],
        percentiles: list[float],
        zero_shares: list[float] | None = None,
        positions: Positions | None = None,
    ) -> list[str]:
        if len(percentiles) != len(centroids):
            raise ValueError(f"{len(centroids)} centroids but {len(percentiles)} percentiles")
        names = [self.names[percentile_band(p)] for p in percentiles]
        names = _at_zero(names, zero_shares, self.none_name, self.mostly_none_name)
        return _tell_apart(names, [centroid[self.feature] for centroid in centroids], positions)

    def order_key(self, centroid: dict[str, float]) -> float:
        return centroid[self.feature]

    def accepted_names(self, features: Sequence[str]) -> list[str]:
        extra = [name for name in (self.none_name, self.mostly_none_name) if name]
        return _with_suffixes([*self.names, *extra], features)


@dataclass(frozen=True)
class ValueBands:
    """Segments named by fixed bands of their centroid's value on one feature, for a feature whose values mean
    something on their own (a spend ratio, a share of the year), where a percentile would mislead: when most
    customers' spending collapsed, the median customer's trend is a collapse, not "steady".

    `floors` are the values where each name after the first begins (a band includes its floor), so there is one
    more name than floors. `none_name` and `mostly_none_name`, as on a ladder, name a segment most of whose
    customers are at zero.
    """

    feature: str
    floors: tuple[float, ...]
    names: tuple[str, ...]
    none_name: str | None = None
    mostly_none_name: str | None = None
    # (feature, floor, name): a centroid at or above `floor` on another feature of the axis takes `name`, when
    # that feature says more about the segment than the bands do (most of a customer's orders in the holidays).
    override: tuple[str, float, str] | None = None

    def __post_init__(self) -> None:
        if len(self.names) != len(self.floors) + 1 or list(self.floors) != sorted(self.floors):
            raise ValueError(f"{self.feature}: need ascending floors and one name more than floors")

    def name(
        self,
        centroids: list[dict[str, float]],
        percentiles: list[float] | None = None,
        zero_shares: list[float] | None = None,
        positions: Positions | None = None,
    ) -> list[str]:
        values = [centroid[self.feature] for centroid in centroids]
        names = [self.names[sum(value >= floor for floor in self.floors)] for value in values]
        if self.override is not None:
            feature, floor, name = self.override
            names = [name if c[feature] >= floor else n for n, c in zip(names, centroids, strict=True)]
        names = _at_zero(names, zero_shares, self.none_name, self.mostly_none_name)
        return _tell_apart(names, values, positions)

    def order_key(self, centroid: dict[str, float]) -> float:
        return centroid[self.feature]

    def accepted_names(self, features: Sequence[str]) -> list[str]:
        extra = [
            name
            for name in (self.none_name, self.mostly_none_name, self.override and self.override[2])
            if name
        ]
        return _with_suffixes([*self.names, *extra], features)


@dataclass(frozen=True)
class Dominant:
    """Segments named by the feature that dominates the centroid, e.g. the support channel used most.

    `labels` pairs each share feature with a stem. A centroid whose largest share is at least `only_from` is
    `<stem>_only`, at least `first_from` `<stem>_first`, and below that `mixed_name`. Segments that would share a
    name are told apart as on a ladder (`phone_first_less_chat`, `phone_first_more_chat`).
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

    def name(self, centroids: list[dict[str, float]], positions: Positions | None = None) -> list[str]:
        """Names from the centroids alone: a dominant share is already a statement about the customer."""
        return _tell_apart(
            [self._label(centroid) for centroid in centroids],
            [self.order_key(c) for c in centroids],
            positions,
        )

    def accepted_names(self, features: Sequence[str]) -> list[str]:
        stems = [stem for _, stem in self.labels]
        return _with_suffixes(
            [*(f"{s}_only" for s in stems), *(f"{s}_first" for s in stems), self.mixed_name], features
        )
