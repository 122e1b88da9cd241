"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"), fitted by
maximum likelihood.

Inputs are the RFM columns as the reference library computes them: `frequency` = repeat purchase periods,
`recency` = time from the first to the last purchase, `age` = time from the first purchase to the end of the
observation, all in one time unit (the warehouse uses days). Customers who share (frequency, recency, age)
contribute identical likelihood terms, so the fits take optional weights: fitting on the distinct triples with
their counts gives the same estimate as fitting on every customer, at a fraction of the cost.

Parameters are optimised on the log scale (all are positive) with L-BFGS-B from a fixed start, so the same data
always gives the same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

_START = 0.0  # log(1): every parameter starts at 1
_MAX_ITERATIONS = 2_000


class CLVFitError(RuntimeError):
    """The data cannot support a fit (too few customers, no repeat purchases) or the optimiser failed."""


@dataclass(frozen=True)
class BetaGeoParameters:
    """BG/NBD: purchase rates ~ Gamma(r, alpha); dropout probabilities ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool
    customers: int


@dataclass(frozen=True)
class GammaGammaParameters:
    """Gamma-Gamma: spend per purchase ~ Gamma(p, nu), nu ~ Gamma(q, v); population mean spend p·v / (q - 1)."""

    p: float
    q: float
    v: float
    log_likelihood: float
    converged: bool
    customers: int

    @property
    def population_mean_spend(self) -> float:
        return self.p * self.v / (self.q - 1) if self.q > 1 else float("nan")


def _as_arrays(*columns: np.ndarray | list[float]) -> list[np.ndarray]:
    arrays = [np.asarray(column, dtype=np.float64) for column in columns]
    if len({array.shape for array in arrays}) != 1 or arrays[0].ndim != 1:
        raise ValueError("the RFM columns must be one-dimensional and of one length")
    return arrays


def _weights(weights: np.ndarray | list[float] | None, size: int) -> np.ndarray:
    if weights is None:
        return np.ones(size)
    array = np.asarray(weights, dtype=np.float64)
    if array.shape != (size,) or (array < 0).any():
        raise ValueError("weights must be one non-negative number per row")
    return array


def bgnbd_log_likelihood(
    params: tuple[float, float, float, float], frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Each customer's log-likelihood under BG/NBD (equation 6 of the paper, in logs)."""
    r, alpha, a, b = params
    x, t_x, t = frequency, recency, age
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.betaln(a, b + x) - special.betaln(a, b)
    a3 = -(r + x) * np.log(alpha + t)
    repeat = x > 0
    # Only customers with a repeat purchase have the second term; the where keeps log(0) out of the others.
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bgnbd(
    frequency: np.ndarray | list[float],
    recency: np.ndarray | list[float],
    age: np.ndarray | list[float],
    weights: np.ndarray | list[float] | None = None,
) -> BetaGeoParameters:
    """Maximum-likelihood BG/NBD parameters."""
    x, t_x, t = _as_arrays(frequency, recency, age)
    w = _weights(weights, x.size)
    if w.sum() < 2:
        raise CLVFitError(f"BG/NBD needs at least 2 customers, got {w.sum():g}")
    if not (w[x > 0] > 0).any():
        raise CLVFitError("BG/NBD needs at least one customer with a repeat purchase")
    if (t_x > t).any() or (t <= 0).any() or (x < 0).any():
        raise CLVFitError("every customer needs 0 <= recency <= age, age > 0 and frequency >= 0")

    def negative(log_params: np.ndarray) -> float:
        value = -(w * bgnbd_log_likelihood(tuple(np.exp(log_params)), x, t_x, t)).sum()
        return float(value) if np.isfinite(value) else 1e300

    result = _minimise(negative, 4)
    r, alpha, a, b = np.exp(result.x)
    return BetaGeoParameters(
        r=float(r),
        alpha=float(alpha),
        a=float(a),
        b=float(b),
        log_likelihood=float(-result.fun),
        converged=bool(result.success),
        customers=round(float(w.sum())),
    )


def probability_alive(
    params: BetaGeoParameters, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """P(alive | x, t_x, T): 1 for a customer without a repeat purchase (BG/NBD lets nobody drop out before
    their first repeat purchase)."""
    x, t_x, t = _as_arrays(frequency, recency, age)
    repeat = x > 0
    log_ratio = np.log(params.a) - np.log(np.where(repeat, params.b + x - 1, 1.0))
    log_ratio += (params.r + x) * (np.log(params.alpha + t) - np.log(params.alpha + t_x))
    return np.where(repeat, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)


def expected_purchases(
    params: BetaGeoParameters, horizon: float, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """E[purchases in the next `horizon` | x, t_x, T] (equation 10 of the paper)."""
    x, t_x, t = _as_arrays(frequency, recency, age)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = horizon / (alpha + t + horizon)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    first = (a + b + x - 1) / (a - 1)
    second = 1 - ((alpha + t) / (alpha + t + horizon)) ** (r + x) * hyp
    repeat = x > 0
    odds = np.where(
        repeat,
        (a / np.where(repeat, b + x - 1, 1.0)) * ((alpha + t) / (alpha + t_x)) ** (r + x),
        0.0,
    )
    return first * second / (1 + odds)


def gamma_gamma_log_likelihood(
    params: tuple[float, float, float], frequency: np.ndarray, mean_spend: np.ndarray
) -> np.ndarray:
    """Each customer's log-likelihood of their mean spend over `frequency` purchases."""
    p, q, v = params
    x, m = frequency, mean_spend
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(x * m + v)
    )


def fit_gamma_gamma(
    frequency: np.ndarray | list[float],
    mean_spend: np.ndarray | list[float],
    weights: np.ndarray | list[float] | None = None,
) -> GammaGammaParameters:
    """Maximum-likelihood Gamma-Gamma parameters, on customers with at least one repeat purchase and a positive
    mean spend (rows that are not are refused, not skipped: the caller chooses them)."""
    x, m = _as_arrays(frequency, mean_spend)
    w = _weights(weights, x.size)
    if (x <= 0).any() or (m <= 0).any():
        raise CLVFitError("Gamma-Gamma takes only customers with a repeat purchase and a positive mean spend")
    if w.sum() < 2:
        raise CLVFitError(f"Gamma-Gamma needs at least 2 customers with a repeat purchase, got {w.sum():g}")

    def negative(log_params: np.ndarray) -> float:
        value = -(w * gamma_gamma_log_likelihood(tuple(np.exp(log_params)), x, m)).sum()
        return float(value) if np.isfinite(value) else 1e300

    result = _minimise(negative, 3)
    p, q, v = np.exp(result.x)
    return GammaGammaParameters(
        p=float(p),
        q=float(q),
        v=float(v),
        log_likelihood=float(-result.fun),
        converged=bool(result.success),
        customers=round(float(w.sum())),
    )


def expected_spend_per_purchase(
    params: GammaGammaParameters, frequency: np.ndarray, mean_spend: np.ndarray
) -> np.ndarray:
    """E[spend per purchase | x, m_x]: a weighted mean of the population's and the customer's own mean spend;
    the population mean for customers without a repeat purchase (NaN mean spend or frequency 0)."""
    x, m = _as_arrays(frequency, mean_spend)
    p, q, v = params.p, params.q, params.v
    known = (x > 0) & np.isfinite(m)
    own = np.where(known, (p * (v + x * np.where(known, m, 0.0))) / (p * x + q - 1), np.nan)
    return np.where(known, own, params.population_mean_spend)


def _minimise(negative, dimensions: int) -> optimize.OptimizeResult:
    start = np.full(dimensions, _START)
    result = optimize.minimize(
        negative,
        start,
        method="L-BFGS-B",
        bounds=[(-12.0, 12.0)] * dimensions,
        options={"maxiter": _MAX_ITERATIONS},
    )
    if not np.isfinite(result.fun) or result.fun >= 1e300:
        raise CLVFitError("the likelihood could not be evaluated at any parameters tried")
    # A polish from the L-BFGS-B optimum with Nelder-Mead: cheap, and it settles flat valleys the same way.
    polished = optimize.minimize(
        negative,
        result.x,
        method="Nelder-Mead",
        options={"maxiter": _MAX_ITERATIONS, "xatol": 1e-8, "fatol": 1e-10},
    )
    return polished if polished.fun <= result.fun else result
