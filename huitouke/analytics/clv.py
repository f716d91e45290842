"""Customer-lifetime-value models, pure numpy/scipy (no ORM, no settings).

- BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a customer buys at rate
  λ ~ Gamma(r, α); after each purchase they drop out with probability p ~ Beta(a, b). Gives P(alive), the
  expected number of purchases in the next t periods and the date by which a next purchase is even odds.
- Gamma-Gamma (Fader & Hardie 2013): the spend per purchase is Gamma(p, ν) with ν ~ Gamma(q, γ); gives the
  expected average spend of a customer from their repeat purchases.
- 12-month CLV = expected purchases in the next 12 months × expected average spend.

A customer enters the models only through (x, t_x, T): x repeat purchase periods (purchases on distinct days after
the first), t_x the time of the last purchase and T the time of the end of observation, both measured from the
first purchase. The fits compress customers to their distinct (x, t_x, T) with a weight each, compute the terms
that depend on x alone once per distinct x, and use the analytic gradient with L-BFGS-B on the log parameters,
followed by Newton steps on a Hessian obtained by differencing that gradient. Standard errors come from the
same Hessian (delta method from the log parameters). A fit that cannot be trusted raises FitError saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

Float = NDArray[np.float64]
Int = NDArray[np.int64]

#: Fewest customers (and, for Gamma-Gamma, repeat customers) a fit is attempted on.
MIN_CUSTOMERS = 20
MIN_REPEAT_CUSTOMERS = 10
#: Log-parameter box for L-BFGS-B. The fits work in scaled units where parameters are of order 1: one that ends
#: beyond e^±RUNAWAY (a factor of ~100,000) is running off to 0 or infinity, i.e. the data cannot pin it down.
LOG_BOUND = 18.0
RUNAWAY = 11.5
DAYS_PER_MONTH = 365.25 / 12


class FitError(ValueError):
    """The data cannot support the fit; the message says why in terms a shop owner can act on."""


# --- transaction log → per-customer summary ----------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """Per customer (one entry per distinct customer code, ascending): repeat periods x, recency t_x and age T in
    the chosen unit, the number of purchase days, the total amount and the mean amount of the repeat purchase
    days (NaN without repeats). `customers` are the codes the rows belong to."""

    customers: Int
    x: Int
    t_x: Float
    T: Float
    first_day: Int
    last_day: Int
    total: Float
    monetary: Float

    @property
    def size(self) -> int:
        return int(self.customers.size)


def summarise(
    customer: ArrayLike, day: ArrayLike, amount: ArrayLike | None = None, *, end_day: int, unit_days: float = 1.0
) -> Summary:
    """Summarise a transaction log: `customer` integer codes, `day` integer day numbers (any origin), `amount`
    per transaction (optional). Transactions after `end_day` are left out (the calibration period ends there);
    purchases of one customer on the same day count as one purchase with their amounts added. Times are divided
    by `unit_days` (7 for weeks)."""
    c = np.asarray(customer, dtype=np.int64)
    d = np.asarray(day, dtype=np.int64)
    a = np.zeros(c.size) if amount is None else np.asarray(amount, dtype=np.float64)
    if not (c.shape == d.shape == a.shape):
        raise ValueError("customer, day and amount must have the same length")
    keep = d <= end_day
    c, d, a = c[keep], d[keep], a[keep]
    if c.size == 0:
        empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0)
        return Summary(empty_i, empty_i, empty_f, empty_f, empty_i, empty_i, empty_f, empty_f)
    order = np.lexsort((d, c))
    c, d, a = c[order], d[order], a[order]
    new_day = np.empty(c.size, dtype=bool)
    new_day[0] = True
    np.not_equal(c[1:], c[:-1], out=new_day[1:])
    new_day[1:] |= d[1:] != d[:-1]
    starts = np.flatnonzero(new_day)
    cd, dd, amt = c[starts], d[starts], np.add.reduceat(a, starts)
    first_of = np.empty(cd.size, dtype=bool)
    first_of[0] = True
    np.not_equal(cd[1:], cd[:-1], out=first_of[1:])
    cs = np.flatnonzero(first_of)
    ends = np.append(cs[1:], cd.size) - 1
    periods = ends - cs + 1
    first, last = dd[cs], dd[ends]
    total = np.add.reduceat(amt, cs)
    x = (periods - 1).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(x > 0, (total - amt[cs]) / np.maximum(x, 1), np.nan)
    return Summary(
        customers=cd[cs],
        x=x,
        t_x=(last - first) / unit_days,
        T=(end_day - first) / unit_days,
        first_day=first,
        last_day=last,
        total=total,
        monetary=monetary,
    )


# --- compression ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Patterns:
    """Distinct (x, t_x, T) with weights, sorted by x (so those with x = 0 come first, up to `split`).

    `xs`, `ts`, `Ts` are the distinct values of x, t_x and T; `ix`, `it`, `iT` index each pattern into them, so
    that terms in one of them alone (log Γ(r+x), log(α+T), log(α+t_x)) are computed once per distinct value."""

    w: Float
    xs: Float
    ts: Float
    Ts: Float
    ix: Int
    it: Int
    iT: Int
    split: int

    @property
    def customers(self) -> float:
        return float(self.w.sum())

    @property
    def x(self) -> Float:
        return self.xs[self.ix]

    @property
    def t_x(self) -> Float:
        return self.ts[self.it]

    @property
    def T(self) -> Float:
        return self.Ts[self.iT]

    def scaled(self, factor: float) -> _Patterns:
        """The same patterns with times multiplied by `factor` (the fit works on T up to 10)."""
        return _Patterns(self.w, self.xs, self.ts * factor, self.Ts * factor, self.ix, self.it, self.iT, self.split)


def _codes(values: Float) -> tuple[Float, Int]:
    """Distinct values and each value's index; integer-valued columns (days, counts) by a bincount, not a sort."""
    if values.size and values.min() >= 0 and values.max() < 1 << 22 and np.array_equal(values, np.floor(values)):
        ints = values.astype(np.int64)
        present = np.bincount(ints) > 0
        distinct = np.flatnonzero(present)
        lookup = np.cumsum(present) - 1
        return distinct.astype(np.float64), lookup[ints].astype(np.int64)
    distinct, inverse = np.unique(values, return_inverse=True)
    return distinct.astype(np.float64), inverse.ravel().astype(np.int64)


def _patterns(x: ArrayLike, t_x: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None) -> _Patterns:
    xa = np.asarray(x, dtype=np.float64).ravel()
    ta = np.asarray(t_x, dtype=np.float64).ravel()
    Ta = np.asarray(T, dtype=np.float64).ravel()
    if not (xa.size == ta.size == Ta.size):
        raise ValueError("x, t_x and T must have the same length")
    xs, cx = _codes(xa)
    ts, ct = _codes(ta)
    Ts, cT = _codes(Ta)
    # one int64 key per customer, x-major: a single sort finds the distinct patterns
    key = (cx * Ts.size + cT) * ts.size + ct
    if weights is None:
        uniq, w_int = np.unique(key, return_counts=True)
        w = w_int.astype(np.float64)
    else:
        uniq, inverse = np.unique(key, return_inverse=True)
        w = np.bincount(inverse.ravel(), weights=np.asarray(weights, dtype=np.float64).ravel())
    it = uniq % ts.size
    rest = uniq // ts.size
    iT = rest % Ts.size
    ix = rest // Ts.size
    split = int(np.searchsorted(ix, np.searchsorted(xs, 0.5)))  # patterns with x = 0 come first
    return _Patterns(w, xs, ts, Ts, ix, it, iT, split)


def _check_rft(x: Float, t_x: Float, T: Float) -> None:
    if x.size == 0:
        raise FitError("there are no customers to fit")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t_x)) and np.all(np.isfinite(T))):
        raise FitError("x, t_x and T must be finite numbers")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise FitError("the repeat purchase counts x must be whole numbers >= 0")
    if np.any(t_x < 0) or np.any(t_x > T):
        raise FitError("every customer needs 0 <= t_x <= T (last purchase between the first one and the end)")
    if np.any((x == 0) & (t_x != 0)):
        raise FitError("a customer without repeat purchases must have t_x = 0")


# --- BG/NBD --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters with standard errors; `loglik` in the units of the data."""

    r: float
    alpha: float
    a: float
    b: float
    loglik: float
    se: dict[str, float]
    customers: int
    iterations: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "r": self.r,
            "alpha": self.alpha,
            "a": self.a,
            "b": self.b,
            "loglik": self.loglik,
            "se": dict(self.se),
        }


def _dot(u: NDArray[Any], v: NDArray[Any]) -> float:
    """Σ u·v. einsum, not BLAS: on a busy two-core machine OpenBLAS's threaded ddot is ~20× slower here."""
    return float(np.einsum("i,i->", u, v))


class _BgNbd:
    """The weighted log-likelihood of the compressed patterns and its gradient in (r, α, a, b).

    Per customer (FHL 2005, sec. 7): LL = log Γ(r+x) − log Γ(r) + r log α + log B(a, b+x) − log B(a, b)
    + log(e^A3 + δ(x>0) e^A4) with A3 = −(r+x) log(α+T) and A4 = log a − log(b+x−1) − (r+x) log(α+t_x).
    Terms in x alone are summed with the total weight of each distinct x; the per-pattern work is a handful of
    array passes with one exp and one log1p."""

    def __init__(self, pat: _Patterns) -> None:
        self.p = pat
        k = pat.split
        self.wx = np.bincount(pat.ix, weights=pat.w, minlength=pat.xs.size)
        self.n = float(pat.w.sum())
        # patterns without repeats: only A3, i.e. −r log(α+T), weighted per distinct T
        self.w0_T = np.bincount(pat.iT[:k], weights=pat.w[:k], minlength=pat.Ts.size)
        # patterns with repeats (x > 0)
        self.w1 = pat.w[k:]
        self.ix1, self.it1, self.iT1 = pat.ix[k:], pat.it[k:], pat.iT[k:]
        self.x1 = pat.xs[self.ix1]
        self.wx1 = self.w1 * self.x1

    def value_grad(self, r: float, alpha: float, a: float, b: float) -> tuple[float, Float]:
        p, xs, wx, n = self.p, self.p.xs, self.wx, self.n
        # terms in x alone: once per distinct x, weighted by the customers with that x
        g_x = special.gammaln(r + xs) + special.gammaln(b + xs) - special.gammaln(a + b + xs)
        const = -special.gammaln(r) + special.gammaln(a + b) - special.gammaln(b)
        ll = _dot(wx, g_x) + n * (const + r * np.log(alpha))
        dig_abx = special.digamma(a + b + xs)
        d_r = _dot(wx, special.digamma(r + xs)) + n * (np.log(alpha) - special.digamma(r))
        d_alpha = n * r / alpha
        d_a = n * special.digamma(a + b) - _dot(wx, dig_abx)
        d_b = n * (special.digamma(a + b) - special.digamma(b)) + _dot(wx, special.digamma(b + xs) - dig_abx)
        # terms in T or t_x alone: once per distinct value
        lT = np.log(alpha + p.Ts)
        inv_T = 1.0 / (alpha + p.Ts)
        lt = np.log(alpha + p.ts)
        inv_t = 1.0 / (alpha + p.ts)

        # x = 0: LL term −r log(α+T)
        ll -= r * _dot(self.w0_T, lT)
        d_r -= _dot(self.w0_T, lT)
        d_alpha -= r * _dot(self.w0_T, inv_T)

        # x > 0: A3 + softplus(d) with d = A4 − A3 = log a − log(b+x−1) + (r+x)(log(α+T) − log(α+t_x))
        w1, x1 = self.w1, self.x1
        if w1.size:
            lT1 = lT.take(self.iT1)
            gap = lT1 - lt.take(self.it1)
            rx = r + x1
            c4 = np.log(a) - np.log(b + xs - 1.0 + (xs == 0))  # (xs == 0) keeps log finite; unused for x = 0
            d = c4.take(self.ix1) + rx * gap
            e = np.exp(-np.abs(d))
            softplus = np.maximum(d, 0.0) + np.log1p(e)
            q = 1.0 / (1.0 + e)
            w4 = q + (d < 0) * (1.0 - 2.0 * q)  # sigmoid(d): the share of the "dropped out after t_x" term
            ww4 = w1 * w4
            ll += _dot(w1, softplus - rx * lT1)
            d_r += _dot(ww4, gap) - _dot(w1, lT1)
            iT1 = inv_T.take(self.iT1)
            d_alpha -= _dot(w1, rx * iT1) + _dot(ww4, rx * (inv_t.take(self.it1) - iT1))
            d_a += float(ww4.sum()) / a
            per_x = np.bincount(self.ix1, weights=ww4, minlength=xs.size)
            d_b -= _dot(per_x, 1.0 / (b + xs - 1.0 + (xs == 0)))
        return ll, np.array([d_r, d_alpha, d_a, d_b])


def _fit_log_params(
    value_grad: Any, n: float, start: Float, names: tuple[str, ...], what: str
) -> tuple[Float, Float, int]:
    """Maximise a log-likelihood over log-parameters: L-BFGS-B on the mean, then Newton steps on the Hessian of
    the analytic gradient (forward differences). Returns (log-params, Hessian of the total log-likelihood in the
    log-parameters, iterations). Raises FitError when the fit does not converge to an interior maximum."""

    def objective(phi: Float) -> tuple[float, Float]:
        theta = np.exp(phi)
        with np.errstate(all="ignore"):
            ll, grad = value_grad(*theta)
        if not np.isfinite(ll) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(phi)
        return -ll / n, -(grad * theta) / n

    def grad_phi(phi: Float) -> Float:
        theta = np.exp(phi)
        with np.errstate(all="ignore"):
            _, grad = value_grad(*theta)
        return grad * theta

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    res = optimize.minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 1000, "ftol": 1e-12, "gtol": 1e-8, "maxcor": 20},
    )
    phi = np.asarray(res.x, dtype=np.float64)
    iterations = int(res.nit)

    def hessian(at: Float, g_at: Float) -> Float:
        """Of the negative log-likelihood, by forward differences of the analytic gradient (one gradient per
        parameter), symmetrised."""
        h = np.empty((len(at), len(at)))
        for j in range(len(at)):
            step = 1e-6 * max(1.0, abs(at[j]))
            moved = at.copy()
            moved[j] += step
            h[:, j] = (grad_phi(moved) - g_at) / step
        return -(h + h.T) / 2

    best = -objective(phi)[0]
    g = grad_phi(phi)
    h = hessian(phi, g)
    for _ in range(6):  # Newton polish: L-BFGS-B stops at ~1e-7 relative; the benchmark compares at 1e-3
        if np.max(np.abs(g)) / n < 1e-10:
            break
        try:
            step = np.linalg.solve(h, g)
        except np.linalg.LinAlgError:
            break
        trial = np.clip(phi + step, -LOG_BOUND, LOG_BOUND)
        value = -objective(trial)[0]
        if not np.isfinite(value) or value < best - 1e-12 * abs(best):
            break
        phi, best = trial, value
        g = grad_phi(phi)
        h = hessian(phi, g)
        iterations += 1

    runaway = [names[j] for j in range(len(phi)) if abs(phi[j]) >= RUNAWAY]
    if runaway:
        towards = "0" if phi[names.index(runaway[0])] < 0 else "infinity"
        raise FitError(
            f"{what}: the data cannot pin down {', '.join(runaway)} (running off to {towards}); the customers "
            "differ too little from one another for this model, or more customers and repeat purchases are needed"
        )
    if not np.all(np.isfinite(g)) or np.max(np.abs(g)) / n > 1e-4:
        raise FitError(f"{what}: the fit did not converge ({res.message}); the data may be too thin or degenerate")
    try:
        np.linalg.cholesky(h)
    except np.linalg.LinAlgError as exc:
        raise FitError(
            f"{what}: the likelihood is flat in some direction at the optimum, so the parameters are not "
            "identified; more customers or more repeat purchases are needed"
        ) from exc
    return phi, h, iterations


def _standard_errors(theta: Float, hess: Float, names: tuple[str, ...]) -> dict[str, float]:
    cov_phi = np.linalg.inv(hess)
    se = theta * np.sqrt(np.clip(np.diag(cov_phi), 0, None))
    return {name: float(v) for name, v in zip(names, se, strict=True)}


def bgnbd_loglik(
    params: tuple[float, float, float, float],
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
) -> float:
    """The BG/NBD log-likelihood of (x, t_x, T) at (r, α, a, b)."""
    pat = _patterns(x, t_x, T, weights)
    return _BgNbd(pat).value_grad(*params)[0]


def bgnbd_fit(x: ArrayLike, t_x: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters for customers with `x` repeat purchases, recency `t_x` and age `T`
    (one row per customer, or per pattern with `weights` customers each).

    Raises FitError (fewer than MIN_CUSTOMERS customers, no repeat purchases, everybody observed for no time,
    a parameter that the data cannot pin down, no convergence)."""
    xa, ta, Ta = (np.asarray(v, dtype=np.float64).ravel() for v in (x, t_x, T))
    _check_rft(xa, ta, Ta)
    pat = _patterns(xa, ta, Ta, weights)
    n = pat.customers
    if n < MIN_CUSTOMERS:
        raise FitError(f"BG/NBD needs at least {MIN_CUSTOMERS} customers; there are {int(n)}")
    if pat.split == pat.w.size:
        raise FitError("BG/NBD: no customer bought a second time, so the repeat-purchase rate cannot be estimated")
    scale = 10.0 / float(pat.Ts.max()) if pat.Ts.max() > 0 else 0.0
    if scale == 0.0:
        raise FitError("BG/NBD: every customer made their first purchase at the end of the period (T = 0)")
    scaled = pat.scaled(scale)
    model = _BgNbd(scaled)
    names = ("r", "alpha", "a", "b")
    # start: r = 1; α from the mean purchase rate of repeaters; a, b = 1
    rate = _dot(scaled.w, scaled.x) / max(_dot(scaled.w, scaled.T), 1e-9)  # repeat purchases per unit
    start = np.log(np.array([1.0, max(1.0 / max(rate, 1e-6), 1e-3), 1.0, 1.0]))
    phi, hess, iterations = _fit_log_params(model.value_grad, n, start, names, "BG/NBD")
    theta = np.exp(phi)
    se = _standard_errors(theta, hess, names)
    theta[1] /= scale
    se["alpha"] /= scale
    r, alpha, a, b = (float(v) for v in theta)
    loglik = float(_BgNbd(pat).value_grad(r, alpha, a, b)[0])
    return BgNbdParams(r=r, alpha=alpha, a=a, b=b, loglik=loglik, se=se, customers=int(n), iterations=iterations)


def _distinct(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[Float, Float, Float, Int]:
    """Distinct (x, t_x, T) rows and each input row's index into them: predictions are computed once per
    pattern (a million customers have a few hundred thousand patterns at most)."""
    xa, ta, Ta = (np.asarray(v, dtype=np.float64).ravel() for v in (x, t_x, T))
    xs, cx = _codes(xa)
    ts, ct = _codes(ta)
    Ts, cT = _codes(Ta)
    uniq, inverse = np.unique((cx * Ts.size + cT) * ts.size + ct, return_inverse=True)
    rest = uniq // ts.size
    return xs[rest // Ts.size], ts[uniq % ts.size], Ts[rest % Ts.size], inverse.ravel()


def _alive_odds_log(params: BgNbdParams, x: Float, t_x: Float, T: Float) -> Float:
    """log of δ(x>0)·a/(b+x-1)·((α+T)/(α+t_x))^(r+x); -inf without repeats."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    out = np.full(x.shape, -np.inf)
    pos = x > 0
    xp = x[pos]
    out[pos] = np.log(a) - np.log(b + xp - 1) + (r + xp) * (np.log(alpha + T[pos]) - np.log(alpha + t_x[pos]))
    return out


def bgnbd_p_alive(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Float:
    """P(the customer is still alive at T | x, t_x, T). A customer with no repeat purchase is alive for sure
    in BG/NBD (dropping out only happens right after a purchase)."""
    xa, ta, Ta = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    return 1.0 / (1.0 + np.exp(_alive_odds_log(params, xa, ta, Ta)))


def bgnbd_expected_purchases(params: BgNbdParams, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Float:
    """E[purchases in (T, T+t] | x, t_x, T] (FHL 2005, eq. 10), computed once per distinct (x, t_x, T)."""
    xu, tu, Tu, inverse = _distinct(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + Tu + t)
    with np.errstate(all="ignore"):
        hyp = special.hyp2f1(r + xu, b + xu, a + b + xu - 1.0, z)
        head = (a + b + xu - 1.0) / (a - 1.0)
        tail = 1.0 - np.exp((r + xu) * (np.log(alpha + Tu) - np.log(alpha + Tu + t))) * hyp
        value = head * tail / (1.0 + np.exp(_alive_odds_log(params, xu, tu, Tu)))
    value = np.where(np.isfinite(value), np.maximum(value, 0.0), np.nan)
    return value[inverse].reshape(np.shape(x))


def bgnbd_next_purchase_wait(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Float:
    """Time from T until a next purchase becomes even odds: the t with
    P(alive)·(1 − ((α+T)/(α+T+t))^(r+x)) = 1/2 (while alive the wait is exponential with the posterior Gamma(r+x,
    α+T) rate). NaN when P(alive) ≤ 1/2: the customer is more likely gone than not, and no date is promised."""
    xa, ta, Ta = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    p = bgnbd_p_alive(params, xa, ta, Ta)
    with np.errstate(all="ignore"):
        wait = (params.alpha + Ta) * (np.power(1.0 - 0.5 / p, -1.0 / (params.r + xa)) - 1.0)
    return np.where(p > 0.5, wait, np.nan)


# --- Gamma-Gamma ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters (γ is called `gamma`), standard errors and the repeat customers used."""

    p: float
    q: float
    gamma: float
    loglik: float
    se: dict[str, float]
    customers: int

    def as_json(self) -> dict[str, Any]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma, "loglik": self.loglik, "customers": self.customers}

    @property
    def mean_spend(self) -> float:
        """The population mean spend per purchase, pγ/(q−1) (infinite when q ≤ 1)."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1 else float("inf")


class _GammaGamma:
    def __init__(self, x: Float, m: Float, w: Float) -> None:
        self.xs, self.ix = np.unique(x, return_inverse=True)
        self.wx = np.bincount(self.ix, weights=w, minlength=self.xs.size)
        self.x, self.m, self.w = x, m, w
        self.xm = x * m
        # constant pieces, per customer once
        self.sum_wx_logm = _dot(w, x * np.log(m))
        self.sum_w_logm = _dot(w, np.log(m))
        self.sum_wx_logx = _dot(w, x * np.log(x))
        self.n = float(w.sum())

    def value_grad(self, p: float, q: float, g: float) -> tuple[float, Float]:
        xs, wx = self.xs, self.wx
        px = p * xs
        per_x = special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
        lden = np.log(self.xm + g)
        px_all = p * self.x
        ll = (
            _dot(wx, per_x)
            + self.n * q * np.log(g)
            + p * self.sum_wx_logm
            - self.sum_w_logm
            + p * self.sum_wx_logx
            - _dot(self.w, (px_all + q) * lden)
        )
        dig_pxq = special.digamma(px + q)
        d_p = _dot(wx, xs * (dig_pxq - special.digamma(px))) + self.sum_wx_logm + self.sum_wx_logx
        d_p -= _dot(self.w, self.x * lden)
        d_q = _dot(wx, dig_pxq - special.digamma(q)) + self.n * np.log(g) - _dot(self.w, lden)
        d_g = self.n * q / g - _dot(self.w, (px_all + q) / (self.xm + g))
        return ll, np.array([d_p, d_q, d_g])


def gamma_gamma_fit(x: ArrayLike, monetary: ArrayLike, weights: ArrayLike | None = None) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from the repeat customers' number of repeat purchases `x` (≥ 1)
    and the mean value of those purchases `monetary` (> 0). Rows with x = 0 or a non-positive mean are left out.

    Raises FitError with fewer than MIN_REPEAT_CUSTOMERS usable customers or a fit that does not converge."""
    xa = np.asarray(x, dtype=np.float64).ravel()
    ma = np.asarray(monetary, dtype=np.float64).ravel()
    wa = np.ones_like(xa) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    keep = (xa > 0) & np.isfinite(ma) & (ma > 0)
    xa, ma, wa = xa[keep], ma[keep], wa[keep]
    n = float(wa.sum())
    if n < MIN_REPEAT_CUSTOMERS:
        raise FitError(
            f"Gamma-Gamma needs at least {MIN_REPEAT_CUSTOMERS} customers with repeat purchases and a positive "
            f"amount; there are {int(n)}"
        )
    if np.allclose(ma, ma[0], rtol=1e-12):
        raise FitError("Gamma-Gamma: every repeat customer spent the same amount, so spend cannot vary by customer")
    scale = 1.0 / float(np.mean(ma))
    model = _GammaGamma(xa, ma * scale, wa)
    names = ("p", "q", "gamma")
    start = np.log(np.array([1.0, 2.0, 1.0]))
    phi, hess, _ = _fit_log_params(model.value_grad, n, start, names, "Gamma-Gamma")
    theta = np.exp(phi)
    se = _standard_errors(theta, hess, names)
    theta[2] /= scale
    se["gamma"] /= scale
    p, q, g = (float(v) for v in theta)
    loglik = float(_GammaGamma(xa, ma, wa).value_grad(p, q, g)[0])
    return GammaGammaParams(p=p, q=q, gamma=g, loglik=loglik, se=se, customers=round(n))


def gamma_gamma_expected_spend(params: GammaGammaParams, x: ArrayLike, monetary: ArrayLike) -> Float:
    """E[mean spend per purchase | x, m̄] = (p(γ + x·m̄)) / (p·x + q − 1): the customer's own repeat mean shrunk
    towards the population mean. Customers without repeat purchases (x = 0 or m̄ not a number) get the
    population mean pγ/(q−1)."""
    xa = np.asarray(x, dtype=np.float64)
    ma = np.asarray(monetary, dtype=np.float64)
    has = (xa > 0) & np.isfinite(ma)
    xm = np.where(has, xa * np.where(has, ma, 0.0), 0.0)
    xx = np.where(has, xa, 0.0)
    with np.errstate(all="ignore"):
        out = params.p * (params.gamma + xm) / (params.p * xx + params.q - 1.0)
    return np.where(out > 0, out, np.nan)


def clv(
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams | None,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    monetary: ArrayLike,
    *,
    months: int = 12,
    unit_days: float = 1.0,
    fallback_spend: ArrayLike | None = None,
) -> Float:
    """Expected value of each customer's purchases in the next `months` months: expected purchases × expected
    average spend (Gamma-Gamma; without a Gamma-Gamma fit, `fallback_spend`, e.g. the customer's own average).
    No discounting: a year ahead is short next to the uncertainty of the forecast."""
    horizon = months * DAYS_PER_MONTH / unit_days
    purchases = bgnbd_expected_purchases(bgnbd, horizon, x, t_x, T)
    if gamma_gamma is not None:
        spend = gamma_gamma_expected_spend(gamma_gamma, x, monetary)
    elif fallback_spend is not None:
        spend = np.asarray(fallback_spend, dtype=np.float64)
    else:
        spend = np.asarray(monetary, dtype=np.float64)
    return purchases * spend
