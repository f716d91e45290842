"""The CLV maths: the published CDNOW results, the analytic gradients, compression, predictions, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.analytics import clv
from huitouke.analytics.tests import cdnow


def sig3(value: float) -> str:
    return f"{value:.3g}"


@pytest.fixture(scope="module")
def calibration() -> clv.Summary:
    customers, days, amounts = cdnow.transactions()
    return clv.summarise(customers, days, amounts, end_day=cdnow.CALIBRATION_END.toordinal(), unit_days=7)


@pytest.fixture(scope="module")
def bgnbd(calibration: clv.Summary) -> clv.BgNbdParams:
    return clv.bgnbd_fit(calibration.x, calibration.t_x, calibration.T)


def test_cdnow_calibration_summary(calibration):
    # Fader, Hardie & Lee (2005): 2,357 customers, 39-week calibration period, 946 of them repeat
    assert calibration.size == 2357
    assert int((calibration.x > 0).sum()) == 946
    assert int(calibration.x.sum()) == 2457  # repeat purchases, as in the published summary (cdnow_customers_summary)
    first = np.flatnonzero(calibration.customers == 4)[0]  # the paper's first customer: x=2, t_x=30.43, T=38.86
    assert (calibration.x[first], round(calibration.t_x[first], 2), round(calibration.T[first], 2)) == (2, 30.43, 38.86)


def test_cdnow_bgnbd_matches_fader_hardie_lee_2005(bgnbd):
    assert (sig3(bgnbd.r), sig3(bgnbd.alpha), sig3(bgnbd.a), sig3(bgnbd.b)) == ("0.243", "4.41", "0.793", "2.43")
    assert round(bgnbd.loglik, 1) == -9582.4
    assert bgnbd.customers == 2357
    # standard errors from the observed information, as lifetimes reports them for this sample
    assert {k: round(v, 3) for k, v in bgnbd.se.items()} == {"r": 0.013, "alpha": 0.378, "a": 0.186, "b": 0.705}


def test_cdnow_gamma_gamma_matches_fader_hardie_2013(calibration):
    fit = clv.gamma_gamma_fit(calibration.x, calibration.monetary)
    assert fit.customers == 946
    assert (sig3(fit.p), sig3(fit.q), sig3(fit.gamma)) == ("6.25", "3.74", "15.4")
    assert round(fit.gamma, 2) == 15.44


def test_cdnow_predictions_for_the_papers_customer(bgnbd):
    # FHL 2005: the customer with x=2, t_x=30.43, T=38.86 is expected to buy 1.226 times in the next 39 weeks
    expected = clv.bgnbd_expected_purchases(bgnbd, 39, np.array([2]), np.array([30.43]), np.array([38.86]))
    assert round(float(expected[0]), 3) == 1.226
    p_alive = clv.bgnbd_p_alive(bgnbd, np.array([2]), np.array([30.43]), np.array([38.86]))
    by_hand = 1 / (1 + bgnbd.a / (bgnbd.b + 1) * ((bgnbd.alpha + 38.86) / (bgnbd.alpha + 30.43)) ** (bgnbd.r + 2))
    assert float(p_alive[0]) == pytest.approx(by_hand, rel=1e-12)
    assert float(p_alive[0]) == pytest.approx(0.7266, abs=1e-4)


def test_expected_purchases_agree_with_the_unconditional_model_for_a_new_customer(bgnbd):
    # a customer first seen just now (x=0, t_x=T=0) is the population: E[X(t)] of FHL eq. 9
    r, alpha, a, b, t = bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b, 52.0
    from scipy.special import hyp2f1

    population = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    got = clv.bgnbd_expected_purchases(bgnbd, t, np.array([0]), np.array([0.0]), np.array([0.0]))
    assert float(got[0]) == pytest.approx(population, rel=1e-10)


def _numeric_grad(f, theta, h=1e-6):
    out = np.empty(len(theta))
    for j in range(len(theta)):
        up, down = np.array(theta, float), np.array(theta, float)
        up[j] += h * theta[j]
        down[j] -= h * theta[j]
        out[j] = (f(up) - f(down)) / (2 * h * theta[j])
    return out


@settings(max_examples=40, deadline=None)
@given(
    r=st.floats(0.05, 5),
    alpha=st.floats(0.5, 50),
    a=st.floats(0.1, 5),
    b=st.floats(0.2, 10),
)
def test_bgnbd_gradient_is_the_derivative_of_the_loglik(r, alpha, a, b):
    x = np.array([0, 0, 1, 2, 2, 5, 1, 3])
    t_x = np.array([0, 0, 3.5, 10, 2, 30, 0.5, 20])
    T = np.array([5, 40, 12, 38, 9, 31, 40, 20])
    pat = clv._patterns(x, t_x, T)
    model = clv._BgNbd(pat)
    _, grad = model.value_grad(r, alpha, a, b)
    numeric = _numeric_grad(lambda th: model.value_grad(*th)[0], [r, alpha, a, b])
    assert grad == pytest.approx(numeric, rel=1e-4, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.3, 20), q=st.floats(0.3, 20), g=st.floats(0.5, 100))
def test_gamma_gamma_gradient_is_the_derivative_of_the_loglik(p, q, g):
    x = np.array([1.0, 2, 2, 5, 9])
    m = np.array([10.0, 35.5, 12, 80, 22])
    model = clv._GammaGamma(x, m, np.ones(5))
    _, grad = model.value_grad(p, q, g)
    numeric = _numeric_grad(lambda th: model.value_grad(*th)[0], [p, q, g])
    assert grad == pytest.approx(numeric, rel=1e-4, abs=1e-6)


def test_bgnbd_loglik_matches_the_per_customer_formula():
    # the compressed, weighted likelihood equals the textbook sum over customers
    from scipy.special import betaln, gammaln

    r, alpha, a, b = 0.4, 6.0, 0.9, 2.5
    x = np.array([0, 0, 1, 3, 3, 3])
    t_x = np.array([0, 0, 4.0, 20, 20, 7])
    T = np.array([10, 10, 30, 25, 25, 25.0])
    by_customer = 0.0
    for xi, ti, Ti in zip(x, t_x, T, strict=True):
        alive = np.exp(betaln(a, b + xi) - betaln(a, b) + gammaln(r + xi) - gammaln(r) + r * np.log(alpha))
        alive *= (alpha + Ti) ** -(r + xi)
        dead = 0.0
        if xi > 0:
            dead = np.exp(betaln(a + 1, b + xi - 1) - betaln(a, b) + gammaln(r + xi) - gammaln(r) + r * np.log(alpha))
            dead *= (alpha + ti) ** -(r + xi)
        by_customer += np.log(alive + dead)
    assert clv.bgnbd_loglik((r, alpha, a, b), x, t_x, T) == pytest.approx(by_customer, rel=1e-12)


def test_weighted_patterns_fit_like_the_expanded_table(calibration):
    # the same customers given once per distinct (x, t_x, T) with a weight give the same fit
    rows = np.column_stack([calibration.x, calibration.t_x, calibration.T])
    uniq, counts = np.unique(rows, axis=0, return_counts=True)
    assert len(uniq) < calibration.size
    weighted = clv.bgnbd_fit(uniq[:, 0], uniq[:, 1], uniq[:, 2], weights=counts)
    plain = clv.bgnbd_fit(calibration.x, calibration.t_x, calibration.T)
    assert (weighted.r, weighted.alpha, weighted.a, weighted.b) == pytest.approx(
        (plain.r, plain.alpha, plain.a, plain.b), rel=1e-8
    )
    assert weighted.customers == 2357


def test_summarise_merges_same_day_purchases_and_stops_at_the_calibration_end():
    customer = np.array([7, 7, 7, 7, 9, 9, 3])
    day = np.array([100, 100, 107, 121, 110, 130, 90])
    amount = np.array([10.0, 5, 20, 30, 8, 99, 4])
    s = clv.summarise(customer, day, amount, end_day=121, unit_days=7)
    assert s.customers.tolist() == [3, 7, 9]
    assert s.x.tolist() == [0, 2, 0]  # customer 9's second purchase (day 130) is after the end
    assert s.t_x.tolist() == [0, 3, 0]  # (121 - 100) / 7
    assert s.T.tolist() == pytest.approx([31 / 7, 3, 11 / 7])
    assert s.total.tolist() == [4, 65, 8]
    assert s.monetary[1] == 25  # the mean of the repeat days (20, 30); the first day (10 + 5) is not a repeat
    assert np.isnan(s.monetary[0])
    assert s.first_day.tolist() == [90, 100, 110]
    assert s.last_day.tolist() == [90, 121, 110]


def test_summarise_of_nothing_is_empty():
    s = clv.summarise(np.array([1]), np.array([50]), None, end_day=10)
    assert s.size == 0


@pytest.mark.parametrize(
    ("x", "t_x", "T", "message"),
    [
        ([1, 0] * 5, [1, 0] * 5, [3, 3] * 5, "at least 20 customers; there are 10"),
        ([0] * 30, [0] * 30, [5] * 30, "no customer bought a second time"),
        ([1, 0] * 15, [0, 0] * 15, [0, 0] * 15, "T = 0"),
        ([1, 0] * 15, [4, 0] * 15, [3, 3] * 15, "0 <= t_x <= T"),
        ([1.5, 0] * 15, [1, 0] * 15, [3, 3] * 15, "whole numbers"),
        ([0, 0] * 15, [1, 0] * 15, [3, 3] * 15, "without repeat purchases must have t_x = 0"),
    ],
)
def test_bgnbd_refuses_data_that_cannot_support_a_fit(x, t_x, T, message):
    with pytest.raises(clv.FitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        clv.bgnbd_fit(np.array(x, float), np.array(t_x, float), np.array(T, float))


def test_bgnbd_refuses_customers_who_never_drop_out():
    # everybody buys steadily to the end: the drop-out probability runs to 0 and a, b are not identified
    rng = np.random.default_rng(3)
    n = 400
    T = rng.integers(200, 365, n).astype(float)
    x = rng.poisson(T / 30)
    t_x = np.where(x > 0, T - rng.integers(0, 5, n), 0).clip(0)
    with pytest.raises(clv.FitError, match=r"cannot pin down|not identified|did not converge"):
        clv.bgnbd_fit(x, t_x, T)


def test_gamma_gamma_refuses_too_few_or_identical_spenders():
    with pytest.raises(clv.FitError, match="at least 10 customers with repeat purchases"):
        clv.gamma_gamma_fit(np.array([1, 2, 0]), np.array([5.0, 6.0, np.nan]))
    with pytest.raises(clv.FitError, match="spent the same amount"):
        clv.gamma_gamma_fit(np.ones(30), np.full(30, 9.9))


def test_expected_spend_shrinks_towards_the_population_mean():
    params = clv.GammaGammaParams(p=6.25, q=3.74, gamma=15.44, loglik=0.0, se={}, customers=946)
    spend = clv.gamma_gamma_expected_spend(params, np.array([0, 1, 10]), np.array([np.nan, 100.0, 100.0]))
    population = 6.25 * 15.44 / 2.74
    assert spend[0] == pytest.approx(population)
    assert spend[1] == pytest.approx(6.25 * (15.44 + 100) / (6.25 + 2.74))
    assert population < spend[1] < spend[2] < 100


def test_next_purchase_wait_gives_even_odds_and_none_for_the_likely_gone(bgnbd):
    x, t_x, T = np.array([2, 1, 5]), np.array([30.43, 1.71, 8.0]), np.array([38.86, 38.86, 38.86])
    wait = clv.bgnbd_next_purchase_wait(bgnbd, x, t_x, T)
    p = clv.bgnbd_p_alive(bgnbd, x, t_x, T)
    assert p[0] > 0.5
    assert np.isfinite(wait[0])
    # at the wait, P(alive) × P(a purchase within it | alive) is one half
    r, alpha = bgnbd.r, bgnbd.alpha
    odds = p[0] * (1 - ((alpha + T[0]) / (alpha + T[0] + wait[0])) ** (r + x[0]))
    assert odds == pytest.approx(0.5)
    assert p[2] < 0.5
    assert np.isnan(wait[2])


def test_clv_is_expected_purchases_times_expected_spend(bgnbd):
    gg = clv.GammaGammaParams(p=6.25, q=3.74, gamma=15.44, loglik=0.0, se={}, customers=946)
    x, t_x, T, m = np.array([2]), np.array([30.43]), np.array([38.86]), np.array([22.35])
    value = clv.clv(bgnbd, gg, x, t_x, T, m, months=12, unit_days=7)
    horizon = 365.25 / 7
    assert value[0] == pytest.approx(
        clv.bgnbd_expected_purchases(bgnbd, horizon, x, t_x, T)[0] * clv.gamma_gamma_expected_spend(gg, x, m)[0]
    )
