"""The fixed time window of the data and each archetype's calendar within it."""

from __future__ import annotations

import numpy as np

from python_jobs.ingest.generate.archetypes import ARCHETYPES, Archetype

WINDOW_START = np.datetime64("2024-07-01T00:00:00", "us")
# Exclusive: the last day of the window is 2026-06-30.
WINDOW_END = np.datetime64("2026-07-01T00:00:00", "us")
US_PER_SECOND = 1_000_000
US_PER_HOUR = 3_600 * US_PER_SECOND
US_PER_DAY = 24 * US_PER_HOUR
START_US = int(WINDOW_START.astype(np.int64))
END_US = int(WINDOW_END.astype(np.int64))
_WINDOW_DAYS = (END_US - START_US) // US_PER_DAY


def _with_share(weights: np.ndarray, mask: np.ndarray, share: float) -> np.ndarray:
    """Rescale weights so the masked days carry `share` of the total (when both sides can)."""
    inside, outside = weights[mask].sum(), weights[~mask].sum()
    if inside == 0 or outside == 0:
        return weights
    scaled = weights.copy()
    scaled[mask] *= share / inside
    scaled[~mask] *= (1 - share) / outside
    return scaled


def _day_weights(archetype: Archetype) -> np.ndarray:
    """How likely an archetype is active on each day: trend, churn, weekends and holidays."""
    days = WINDOW_START.astype("datetime64[D]") + np.arange(_WINDOW_DAYS)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    is_weekend, is_holiday = weekday >= 5, month >= 11

    weights = np.exp(archetype.activity_trend * np.linspace(0.0, 1.0, _WINDOW_DAYS))
    if archetype.quiet_final_days:
        weights[-archetype.quiet_final_days :] = 0.0
    # Weekend share within holiday and ordinary days alike, so setting the holiday share keeps it.
    for season in (is_holiday, ~is_holiday):
        weights[season] = _with_share(weights[season], is_weekend[season], archetype.weekend_share)
    weights = _with_share(weights, is_holiday, archetype.holiday_share)
    return weights / weights.sum()


_DAY_CDF = np.cumsum(np.stack([_day_weights(archetype) for archetype in ARCHETYPES]), axis=1)


def sample_times(rng: np.random.Generator, archetype_codes: np.ndarray) -> np.ndarray:
    """Timestamps (µs) in the window, the day drawn from each row's archetype calendar."""
    return times_at_positions(rng, archetype_codes, rng.random(len(archetype_codes)))


def times_at_positions(
    rng: np.random.Generator, archetype_codes: np.ndarray, positions: np.ndarray
) -> np.ndarray:
    """Timestamps (µs) at calendar positions in [0, 1): the share of each row's archetype activity before them.

    Evenly spread positions give times that follow the archetype's calendar (trend, weekends, holidays, quiet end).
    """
    days = np.zeros(len(archetype_codes), dtype=np.int64)
    for code in range(len(ARCHETYPES)):
        rows = np.flatnonzero(archetype_codes == code)
        days[rows] = np.searchsorted(_DAY_CDF[code], positions[rows], side="right")
    days = np.minimum(days, _WINDOW_DAYS - 1)
    seconds = rng.integers(0, 86_400, size=len(archetype_codes))
    return START_US + days * US_PER_DAY + seconds * US_PER_SECOND


def is_holiday_season(times: np.ndarray) -> np.ndarray:
    months = times.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    return months >= 11


def keep_in_window(times: np.ndarray, fallback: np.ndarray, margin_us: int = 0) -> np.ndarray:
    """Times moved relative to an order, falling back where they left the window.

    Clipping instead would pile rows up on the window's first and last instant.
    """
    inside = (times >= START_US) & (times < END_US - margin_us)
    return np.where(inside, times // US_PER_SECOND * US_PER_SECOND, fallback)


def whole_seconds(micros: np.ndarray) -> np.ndarray:
    return micros // US_PER_SECOND * US_PER_SECOND
