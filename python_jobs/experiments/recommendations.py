"""What segmentation an experiment's traffic supports, and the conversion gain to expect from it, measured on its
own assignments.

Two measures, both from the data:

- **Which fields differ** (`score_fields`): for each candidate context field, a heterogeneity chi-square of
  whether the variants' conversion rates differ between the field's values (values with fewer than
  `MIN_VISITORS_PER_VALUE` visitors are pooled as `other`, so a handful of rare countries cannot make a field look
  decisive). Segmenting pays only where the best variant changes, so a field whose values convert at different
  rates but agree on the winner does not count. Fields are ranked by p-value; only those under `FIELD_P_VALUE`
  are worth segmenting by.
- **Expected lift** (`estimate_lift`): the relative gain in conversion rate if each segment got its own best
  variant instead of the single best variant for everyone, *cross-fitted*: the visitors are split in two halves by
  a stable hash of their id, the best variants are chosen on one half and their conversion rates read on the
  other, then the halves swap and the two estimates are averaged. To choose, segment-and-variant rates are
  shrunk towards the variant's rate over the whole half with `prior_visitors` pseudo-visitors (the experiment's
  min_samples_per_segment), so a small segment keeps its variant's overall winner until it has data; the rates
  read on the other half are not shrunk (that would pull them towards the pooled rate and hide the gain). Choosing
  and measuring on different visitors is what keeps the estimate honest: when segments do not differ, the best
  variant per segment is chosen by noise and its rate on the other half is no better, so the lift is about 0
  rather than the positive bias of picking maxima on the data that measures them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy import stats

# The context fields a recommendation chooses from (all columns of int_experiment_assignment_outcomes).
CANDIDATE_FIELDS = ("source", "medium", "device", "os", "browser", "country", "hour_bucket", "day_of_week")
MIN_VISITORS_PER_VALUE = 30
FIELD_P_VALUE = 0.001
MAX_RECOMMENDED_FIELDS = 2
# A further field joins the recommendation only if it adds this much relative lift (1 point).
MIN_LIFT_GAIN_PER_FIELD = 0.01
# At this many visitors a day (trailing 7-day mean) the recommendation is auto clustering rather than manual.
AUTO_CLUSTERING_VISITORS_PER_DAY = 10_000
LIFT_METHOD = (
    "cross-fitted over two halves of the visitors: best variant per segment chosen on one half (segment rates "
    "shrunk towards the variant's overall rate), its conversion rate read on the other"
)


@dataclass(frozen=True)
class FieldScore:
    field: str
    chi_square: (
        float  # heterogeneity: how much the variants' conversion rates differ between the field's values
    )
    degrees_of_freedom: int
    p_value: float
    best_variants: tuple[
        tuple[str, str, float], ...
    ]  # (value, its best variant, that variant's rate), busiest first

    def describe(self) -> str:
        winners = ", ".join(
            f"{variant} for {value} ({rate:.1%})" for value, variant, rate in self.best_variants
        )
        return (
            f"{self.field}: best variant {winners} (chi-square {self.chi_square:,.1f}, p {_p(self.p_value)})"
        )


@dataclass(frozen=True)
class LiftEstimate:
    best_single_variant_rate: float
    per_segment_rate: float
    segments: int

    @property
    def relative_lift(self) -> float:
        if self.best_single_variant_rate == 0:
            return 0.0
        return self.per_segment_rate / self.best_single_variant_rate - 1


def _p(p_value: float) -> str:
    return "< 0.0001" if p_value < 1e-4 else f"{p_value:.4f}"


def visitor_halves(visitor_ids: list[str]) -> np.ndarray:
    """0 or 1 per visitor, stable across runs and machines (not Python's salted hash)."""
    return np.array([hashlib.md5(v.encode()).digest()[0] & 1 for v in visitor_ids], dtype=np.int8)


def _chi_square(variants: np.ndarray, converted: np.ndarray, n_variants: int) -> float:
    visitors = np.bincount(variants, minlength=n_variants)
    conversions = np.bincount(variants, weights=converted, minlength=n_variants)
    table = np.column_stack([conversions, visitors - conversions])[visitors > 0]
    if len(table) < 2 or table[:, 0].sum() in (0, table.sum()):
        return 0.0
    return float(stats.chi2_contingency(table, correction=False)[0])


def score_fields(fields: dict[str, list], variant_ids: list[str], converted: np.ndarray) -> list[FieldScore]:
    """Every candidate field with at least two values of enough visitors, the one whose values prefer the most
    different variants first.

    The measure is a heterogeneity chi-square: the sum over the field's values of the chi-square of variant
    against conversion within the value, minus the same chi-square over everyone, with (values - 1) x
    (variants - 1) degrees of freedom. A field whose values convert at different rates but agree on the best
    variant scores about 0: segmenting by it would gain nothing.
    """
    variant_names, variants = np.unique(np.array(variant_ids, dtype=object), return_inverse=True)
    n_variants = len(variant_names)
    converted = converted.astype(float)
    pooled = _chi_square(variants, converted, n_variants)
    scores = []
    for field, raw_values in fields.items():
        values = np.array(["unknown" if v is None else str(v).lower() for v in raw_values], dtype=object)
        names, codes = np.unique(values, return_inverse=True)
        rare = np.bincount(codes, minlength=len(names))[codes] < MIN_VISITORS_PER_VALUE
        if rare.any():
            values = np.where(rare, "other", values)
            names, codes = np.unique(values, return_inverse=True)
        if len(names) < 2 or n_variants < 2:
            continue
        statistic = sum(
            _chi_square(variants[codes == k], converted[codes == k], n_variants) for k in range(len(names))
        )
        heterogeneity = max(statistic - pooled, 0.0)
        dof = (len(names) - 1) * (n_variants - 1)
        winners = []
        for k in np.argsort(-np.bincount(codes))[:3]:
            inside = codes == k
            visitors = np.bincount(variants[inside], minlength=n_variants)
            rates = np.divide(
                np.bincount(variants[inside], weights=converted[inside], minlength=n_variants),
                visitors,
                out=np.zeros(n_variants),
                where=visitors > 0,
            )
            winners.append((str(names[k]), str(variant_names[rates.argmax()]), float(rates.max())))
        scores.append(
            FieldScore(field, heterogeneity, dof, float(stats.chi2.sf(heterogeneity, dof)), tuple(winners))
        )
    return sorted(scores, key=lambda score: (score.p_value, -score.chi_square))


def segment_codes(fields: dict[str, list], chosen: tuple[str, ...]) -> np.ndarray:
    """One integer per visitor naming its segment on the chosen fields (all 0 when none are chosen)."""
    if not chosen:
        return np.zeros(len(next(iter(fields.values()), [])), dtype=np.int64)
    keys = [
        "|".join(str(fields[field][i]).lower() for field in chosen) for i in range(len(fields[chosen[0]]))
    ]
    return np.unique(np.array(keys, dtype=object), return_inverse=True)[1]


def _shrunk_rates(segments, variants, converted, n_segments, n_variants, prior_visitors):
    """Conversion rate per (segment, variant), shrunk towards the variant's rate; and visitors per segment."""
    cell = segments * n_variants + variants
    visitors = np.bincount(cell, minlength=n_segments * n_variants).reshape(n_segments, n_variants)
    conversions = np.bincount(cell, weights=converted, minlength=n_segments * n_variants).reshape(
        n_segments, n_variants
    )
    variant_visitors = visitors.sum(axis=0)
    variant_rates = np.divide(
        conversions.sum(axis=0), variant_visitors, out=np.zeros(n_variants), where=variant_visitors > 0
    )
    shrunk = visitors + prior_visitors
    rates = np.divide(
        conversions + prior_visitors * variant_rates,
        shrunk,
        out=np.broadcast_to(variant_rates, shrunk.shape).astype(float),
        where=shrunk > 0,
    )
    return rates, variant_rates, visitors.sum(axis=1)


def estimate_lift(
    segments: np.ndarray,
    variants: np.ndarray,
    converted: np.ndarray,
    halves: np.ndarray,
    prior_visitors: float,
) -> LiftEstimate:
    """Cross-fitted conversion rate of the best variant per segment vs the best single variant (see module)."""
    n_segments, n_variants = int(segments.max()) + 1, int(variants.max()) + 1
    converted = converted.astype(float)
    single, per_segment = [], []
    for half in (0, 1):
        train, test = halves != half, halves == half
        if not train.any() or not test.any():
            continue
        train_rates, train_variant_rates, _ = _shrunk_rates(
            segments[train], variants[train], converted[train], n_segments, n_variants, prior_visitors
        )
        # Read without shrinkage: it would pull every segment towards the variant's rate and hide the gain.
        test_rates, _, test_visitors = _shrunk_rates(
            segments[test], variants[test], converted[test], n_segments, n_variants, 0
        )
        weights = test_visitors / test_visitors.sum()
        best_single = int(train_variant_rates.argmax())
        best_per_segment = train_rates.argmax(axis=1)
        single.append(float(weights @ test_rates[:, best_single]))
        per_segment.append(float(weights @ test_rates[np.arange(n_segments), best_per_segment]))
    if not single:
        return LiftEstimate(0.0, 0.0, n_segments)
    return LiftEstimate(float(np.mean(single)), float(np.mean(per_segment)), n_segments)


@dataclass(frozen=True)
class Recommendation:
    experiment_id: str
    is_eligible: bool
    recommended_mode: str  # disabled (insights only) | manual | auto
    segment_by: tuple[str, ...]
    lift: LiftEstimate
    field_scores: list[FieldScore]
    reason: str


def recommend(
    experiment_id: str,
    trailing_mean: float,
    threshold: int,
    fields: dict[str, list],
    variant_ids: list[str],
    converted: np.ndarray,
    halves: np.ndarray,
    prior_visitors: float,
) -> Recommendation:
    """The segmentation the traffic supports, with the lift measured for it and the reason in words."""
    scores = score_fields(fields, variant_ids, converted) if len(converted) else []
    significant = [score for score in scores if score.p_value < FIELD_P_VALUE]
    eligible = trailing_mean >= threshold
    variants = np.unique(np.array(variant_ids, dtype=object), return_inverse=True)[1]

    def lift_by(chosen: tuple[str, ...]) -> LiftEstimate:
        if not len(converted):
            return LiftEstimate(0.0, 0.0, 1)
        return estimate_lift(segment_codes(fields, chosen), variants, converted, halves, prior_visitors)

    # Greedy: the most significant field, then each next one only if it adds lift (source and medium often
    # tell the same story, and a second field that adds nothing only splits the data).
    limit = 4 if trailing_mean >= AUTO_CLUSTERING_VISITORS_PER_DAY else MAX_RECOMMENDED_FIELDS
    chosen: tuple[str, ...] = ()
    lift = lift_by(chosen)
    for score in significant:
        if len(chosen) == limit:
            break
        wider = lift_by((*chosen, score.field))
        if not chosen or wider.relative_lift > lift.relative_lift + MIN_LIFT_GAIN_PER_FIELD:
            chosen, lift = (*chosen, score.field), wider
    if trailing_mean >= AUTO_CLUSTERING_VISITORS_PER_DAY:
        mode = "auto"
    elif eligible and chosen:
        mode = "manual"
    else:
        # Under the threshold, or eligible with no field that changes the winner: stay pooled.
        mode = "disabled"
    traffic = f"{trailing_mean:,.1f} visitors a day over the last 7 days"
    differ = "; ".join(score.describe() for score in significant if score.field in chosen) or (
        "none of the context fields: the same variant wins everywhere"
    )
    gain = (
        f"expected lift {lift.relative_lift:+.1%} ({lift.per_segment_rate:.2%} with each segment on its own best "
        f"variant vs {lift.best_single_variant_rate:.2%} for the best single variant)"
    )
    if mode == "auto":
        reason = (
            f"{traffic}, at least {AUTO_CLUSTERING_VISITORS_PER_DAY:,}: enough to cluster visitors automatically. "
            f"Strongest fields: {differ}. Lift estimated on the segments those fields make, as a stand-in for "
            f"the clusters: {gain}."
        )
    elif mode == "manual":
        reason = (
            f"{traffic}, at least the {threshold:,} threshold: segment by {', '.join(chosen)}. "
            f"Variants differ most by {differ}; {gain}."
        )
    elif eligible:
        reason = (
            f"{traffic}, at least the {threshold:,} threshold, but no context field changes which variant "
            f"converts best: keep one pooled experiment; {gain}."
        )
    else:
        reason = (
            f"{traffic}, under the {threshold:,} threshold: insights only, segmenting would split thin data. "
            f"Variants differ most by {differ}; {gain} if it were segmented."
        )
    segment_by = chosen if mode == "manual" else ()
    return Recommendation(experiment_id, eligible, mode, segment_by, lift, scores, reason)
