"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"), fitted by
maximum likelihood.

Inputs are the RFM columns as the reference library computes them: `frequency` = repeat purchase periods,
`recency` = time from the first to the last purchase, `age` = time from the first purchase to the end of the
observation, all in one time unit (the warehouse uses days). Customers who share (frequency, recency, age)
contribute identical likelihood terms, so the fits take optional weights: fitting on the distinct triples with
their counts gives the same estimate as fitting on every customer, at a fraction of the cost.

Parameters are optimised on the log scale (all are positive) with L-BFGS-B and the analytic gradients of the
log-likelihoods, from a fixed start, so the same data always gives the same parameters.
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


class _Distinct:
    """The distinct values of one column and where each row's value sits among them: terms that depend on one
    column only (gammaln(r + x), log(alpha + T)…) are computed once per distinct value, not once per row."""

    def __init__(self, values: np.ndarray) -> None:
        self.values, inverse = np.unique(values, return_inverse=True)
        self.inverse = inverse.reshape(-1)

    def __call__(self, function) -> np.ndarray:
        return function(self.values)[self.inverse]


@dataclass
class _BetaGeoData:
    frequency: np.ndarray
    recency: np.ndarray
    age: np.ndarray

    def __post_init__(self) -> None:
        self.by_frequency = _Distinct(self.frequency)
        self.by_recency = _Distinct(self.recency)
        self.by_age = _Distinct(self.age)
        self.repeat = self.frequency > 0


def _bgnbd_terms(
    params: tuple[float, float, float, float], data: _BetaGeoData, gradient: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Each row's log-likelihood (equation 6 of the paper, in logs) and, if asked, its gradient (4, n)."""
    r, alpha, a, b = params
    x, repeat = data.frequency, data.repeat
    by_x = data.by_frequency
    # log(b + x - 1) only where x > 0 (1 elsewhere keeps log(0) out).
    log_b_x1 = by_x(lambda u: np.log(np.where(u > 0, b + u - 1, 1.0)))
    log_alpha_t = data.by_age(lambda u: np.log(alpha + u))
    log_alpha_tx = data.by_recency(lambda u: np.log(alpha + u))
    a1 = by_x(lambda u: special.gammaln(r + u)) - special.gammaln(r) + r * np.log(alpha)
    a2 = by_x(lambda u: special.betaln(a, b + u)) - special.betaln(a, b)
    a3 = -(r + x) * log_alpha_t
    # Only customers with a repeat purchase have the second term.
    a4 = np.where(repeat, np.log(a) - log_b_x1 - (r + x) * log_alpha_tx, -np.inf)
    total = np.logaddexp(a3, a4)
    if not gradient:
        return a1 + a2 + total, None
    # The two terms' shares of the sum inside the log: the derivative of a log-sum is their weighted mean.
    w3, w4 = np.exp(a3 - total), np.exp(a4 - total)
    inverse_alpha_t = data.by_age(lambda u: 1.0 / (alpha + u))
    inverse_alpha_tx = data.by_recency(lambda u: 1.0 / (alpha + u))
    digamma_abx = by_x(lambda u: special.digamma(a + b + u))
    d_r = by_x(lambda u: special.digamma(r + u)) - special.digamma(r) + np.log(alpha)
    d_r -= w3 * log_alpha_t + w4 * log_alpha_tx
    d_alpha = r / alpha - (r + x) * (w3 * inverse_alpha_t + w4 * inverse_alpha_tx)
    d_a = special.digamma(a + b) - digamma_abx + w4 / a
    d_b = by_x(lambda u: special.digamma(b + u)) - digamma_abx - special.digamma(b) + special.digamma(a + b)
    d_b -= w4 * np.exp(-log_b_x1)
    return a1 + a2 + total, np.vstack([d_r, d_alpha, d_a, d_b])


def bgnbd_log_likelihood(
    params: tuple[float, float, float, float], frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Each customer's log-likelihood under BG/NBD (equation 6 of the paper, in logs)."""
    data = _BetaGeoData(*_as_arrays(frequency, recency, age))
    return _bgnbd_terms(params, data, gradient=False)[0]


def bgnbd_log_likelihood_gradient(
    params: tuple[float, float, float, float], frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Each customer's gradient of `bgnbd_log_likelihood` with respect to (r, alpha, a, b); shape (4, n)."""
    data = _BetaGeoData(*_as_arrays(frequency, recency, age))
    return _bgnbd_terms(params, data, gradient=True)[1]


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

    data = _BetaGeoData(x, t_x, t)

    def negative(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        rows, row_gradients = _bgnbd_terms(tuple(params), data, gradient=True)
        return _finite(-(w @ rows), -(row_gradients @ w) * params)

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


def gamma_gamma_log_likelihood_gradient(
    params: tuple[float, float, float], frequency: np.ndarray, mean_spend: np.ndarray
) -> np.ndarray:
    """Each customer's gradient of `gamma_gamma_log_likelihood` with respect to (p, q, v); shape (3, n)."""
    p, q, v = params
    x, m = frequency, mean_spend
    digamma_pxq = special.digamma(p * x + q)
    log_total = np.log(x * m + v)
    d_p = x * (digamma_pxq - special.digamma(p * x) + np.log(m) + np.log(x) - log_total)
    d_q = digamma_pxq - special.digamma(q) + np.log(v) - log_total
    d_v = q / v - (p * x + q) / (x * m + v)
    return np.vstack([d_p, d_q, d_v])


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

    def negative(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        value = -(w * gamma_gamma_log_likelihood(tuple(params), x, m)).sum()
        gradient = -(gamma_gamma_log_likelihood_gradient(tuple(params), x, m) @ w) * params
        return _finite(value, gradient)

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


def _finite(value: float, gradient: np.ndarray) -> tuple[float, np.ndarray]:
    """A point where the likelihood cannot be evaluated is a very bad one, never a crash of the optimiser."""
    if not np.isfinite(value) or not np.isfinite(gradient).all():
        return 1e300, np.zeros_like(gradient)
    return float(value), gradient


def _minimise(negative, dimensions: int) -> optimize.OptimizeResult:
    """L-BFGS-B on the log-parameters with the analytic gradient, to a tight tolerance: with the gradient given,
    one evaluation costs one pass over the data, so a million customers fit in seconds."""
    result = optimize.minimize(
        negative,
        np.full(dimensions, _START),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-12.0, 12.0)] * dimensions,
        options={"maxiter": _MAX_ITERATIONS, "ftol": 1e-15, "gtol": 1e-9},
    )
    if not np.isfinite(result.fun) or result.fun >= 1e300:
        raise CLVFitError("the likelihood could not be evaluated at any parameters tried")
    return result
