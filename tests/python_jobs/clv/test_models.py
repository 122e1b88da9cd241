"""BG/NBD and Gamma-Gamma: the published CDNOW estimates, parameter recovery on simulated customers, P(alive)
worked by hand, and the weighted fit on distinct triples."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from python_jobs.clv.models import (
    BetaGeoParameters,
    CLVFitError,
    GammaGammaParameters,
    expected_purchases,
    expected_spend_per_purchase,
    fit_bgnbd,
    fit_gamma_gamma,
    probability_alive,
)


def cdnow(name: str) -> list[dict[str, str]]:
    """The CDNOW sample (2,357 customers, calibration period of 39 weeks) as the `lifetimes` package ships it.

    `python3 dev.py` installs that package without its dependencies, only for this data."""
    spec = importlib.util.find_spec("lifetimes")
    assert spec is not None, "run `python3 dev.py test`: it installs lifetimes for the CDNOW data"
    assert spec.origin
    with (Path(spec.origin).parent / "datasets" / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_bgnbd_reproduces_the_papers_cdnow_estimates():
    rows = cdnow("cdnow_customers_summary.csv")
    fit = fit_bgnbd(
        [float(r["frequency"]) for r in rows],
        [float(r["recency"]) for r in rows],
        [float(r["T"]) for r in rows],
    )
    # Fader, Hardie & Lee (2005), section 5: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
    assert (round(fit.r, 3), round(fit.alpha, 3), round(fit.a, 3), round(fit.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert fit.converged
    assert fit.customers == 2357


def test_gamma_gamma_reproduces_the_published_cdnow_estimates():
    rows = [r for r in cdnow("cdnow_customers_summary_with_transactions.csv") if float(r["x"]) > 0]
    fit = fit_gamma_gamma([float(r["x"]) for r in rows], [float(r["zbar"]) for r in rows])
    # Fader, Hardie & Lee, "The Gamma-Gamma Model of Monetary Value" (2013): p = 6.25, q = 3.74, v = 15.44.
    assert (round(fit.p, 2), round(fit.q, 2), round(fit.v, 1)) == (6.25, 3.74, 15.4)
    assert fit.customers == 946


PAPER = BetaGeoParameters(
    r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0, converged=True, customers=0
)


def test_probability_alive_worked_by_hand():
    # x = 2, t_x = 30.43, T = 38.86:
    #   a / (b + x - 1) = 0.793 / 3.426 = 0.2314653
    #   ((alpha + T) / (alpha + t_x)) ** (r + x) = (43.274 / 34.844) ** 2.243 = 1.2419355 ** 2.243 = 1.6257888
    #   P = 1 / (1 + 0.2314653 * 1.6257888) = 1 / 1.3763110 = 0.7265786
    # x = 0: nobody drops out before a repeat purchase, P = 1.
    alive = probability_alive(PAPER, [2, 0], [30.43, 0], [38.86, 38.86])
    assert alive[0] == pytest.approx(0.7265786, abs=1e-7)
    assert alive[1] == 1.0


def test_expected_purchases_of_a_new_customer_follow_the_unconditional_curve():
    # For x = t_x = 0 and T -> 0, equation 10 tends to the unconditional E[X(t)] of equation 7; at T = 1e-9
    # the two agree to many digits. Equation 7 at t = 39: (a + b - 1)/(a - 1) * (1 - (alpha/(alpha+t))^r *
    # 2F1(r, b; a + b - 1; t / (alpha + t))), written out here with scipy's hyp2f1 on the paper's values.
    from scipy.special import hyp2f1

    r, alpha, a, b, t = 0.243, 4.414, 0.793, 2.426, 39.0
    unconditional = (
        (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    )
    assert expected_purchases(PAPER, t, [0], [0], [1e-9])[0] == pytest.approx(unconditional, rel=1e-6)


def simulate_bgnbd(customers: int, r: float, alpha: float, a: float, b: float, age: float, seed: int):
    """Customers from the BG/NBD story: Poisson purchases at rate lambda ~ Gamma(r, alpha) while alive, and after
    each purchase a drop-out with probability p ~ Beta(a, b). Everyone's first purchase is at time 0."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(r, 1 / alpha, customers)
    dropouts = rng.beta(a, b, customers)
    frequency = np.zeros(customers)
    recency = np.zeros(customers)
    for i in range(customers):
        now = 0.0
        while True:
            now += rng.exponential(1 / rates[i]) if rates[i] > 0 else np.inf
            if now > age:
                break
            frequency[i] += 1
            recency[i] = now
            if rng.random() < dropouts[i]:
                break
    return frequency, recency, np.full(customers, age)


def test_bgnbd_recovers_the_parameters_it_simulated():
    truth = (0.5, 20.0, 0.8, 3.0)
    frequency, recency, age = simulate_bgnbd(30_000, *truth, age=365.0, seed=3)
    fit = fit_bgnbd(frequency, recency, age)
    for estimate, true in zip((fit.r, fit.alpha, fit.a, fit.b), truth, strict=True):
        assert estimate == pytest.approx(true, rel=0.15)


def test_gamma_gamma_recovers_the_parameters_it_simulated():
    p, q, v = 6.0, 4.0, 15.0
    rng = np.random.default_rng(5)
    frequency = rng.integers(1, 12, 5_000).astype(float)
    nu = rng.gamma(q, 1 / v, frequency.size)
    mean_spend = np.array([rng.gamma(p, 1 / n, int(x)).mean() for n, x in zip(nu, frequency, strict=True)])
    fit = fit_gamma_gamma(frequency, mean_spend)
    assert fit.p == pytest.approx(p, rel=0.15)
    assert fit.q == pytest.approx(q, rel=0.15)
    assert fit.v == pytest.approx(v, rel=0.2)


def test_a_weighted_fit_on_distinct_triples_equals_the_fit_on_every_customer():
    frequency, recency, age = simulate_bgnbd(3_000, 0.5, 20.0, 0.8, 3.0, age=180.0, seed=11)
    recency = np.round(recency)
    everyone = fit_bgnbd(frequency, recency, age)
    triples, counts = np.unique(np.column_stack([frequency, recency, age]), axis=0, return_counts=True)
    assert len(triples) < len(frequency) / 2
    weighted = fit_bgnbd(triples[:, 0], triples[:, 1], triples[:, 2], weights=counts)
    assert weighted.customers == everyone.customers
    for name in ("r", "alpha", "a", "b", "log_likelihood"):
        assert getattr(weighted, name) == pytest.approx(getattr(everyone, name), rel=1e-4)


def test_expected_spend_shrinks_toward_the_population_mean():
    params = GammaGammaParameters(p=6.25, q=3.74, v=15.44, log_likelihood=0, converged=True, customers=0)
    population = 6.25 * 15.44 / 2.74
    spend = expected_spend_per_purchase(params, [1, 20, 0], [100.0, 100.0, float("nan")])
    # (p (v + x m)) / (p x + q - 1), by hand: x = 1 -> 6.25 * 115.44 / 8.99; x = 20 -> 6.25 * 2015.44 / 127.74.
    assert spend[0] == pytest.approx(6.25 * 115.44 / 8.99)
    assert spend[1] == pytest.approx(6.25 * 2015.44 / 127.74)
    assert spend[2] == pytest.approx(population)
    assert population < spend[0] < spend[1] < 100.0


@pytest.mark.parametrize(
    ("frequency", "recency", "age", "problem"),
    [
        ([0, 0, 0], [0, 0, 0], [10, 10, 10], "repeat purchase"),
        ([1], [1], [10], "at least 2"),
        ([1, 2], [5, 20], [10, 10], "recency <= age"),
    ],
)
def test_data_that_cannot_support_a_fit_is_refused(frequency, recency, age, problem):
    with pytest.raises(CLVFitError, match=problem):
        fit_bgnbd(frequency, recency, age)


def test_the_analytic_gradients_match_finite_differences():
    from scipy.optimize import approx_fprime

    from python_jobs.clv.models import (
        bgnbd_log_likelihood,
        bgnbd_log_likelihood_gradient,
        gamma_gamma_log_likelihood,
        gamma_gamma_log_likelihood_gradient,
    )

    x, t_x, t = (
        np.array([0.0, 1.0, 5.0, 12.0]),
        np.array([0.0, 3.0, 40.0, 200.0]),
        np.array([10.0, 50.0, 90.0, 300.0]),
    )
    point = np.array([0.4, 8.0, 0.7, 2.5])
    for i in range(x.size):
        numeric = approx_fprime(point, lambda q, i=i: bgnbd_log_likelihood(tuple(q), x, t_x, t)[i], 1e-7)
        assert bgnbd_log_likelihood_gradient(tuple(point), x, t_x, t)[:, i] == pytest.approx(
            numeric, rel=1e-4
        )
    m = np.array([12.5, 30.0, 7.25])
    spend_point = np.array([6.0, 3.5, 15.0])
    for i in range(m.size):
        numeric = approx_fprime(
            spend_point, lambda q, i=i: gamma_gamma_log_likelihood(tuple(q), x[1:], m)[i], 1e-7
        )
        assert gamma_gamma_log_likelihood_gradient(tuple(spend_point), x[1:], m)[:, i] == pytest.approx(
            numeric, rel=1e-4
        )
