"""The regularized incomplete gamma and beta functions, and their derivatives in every
argument, on plain arrays.

``gammainc(a, x) = P(a, x)`` and ``gammaincc(a, x) = Q(a, x) = 1 - P(a, x)``; ``betainc(a,
b, x) = I_x(a, b)``. Each kernel takes ``orders``, the order of the partial derivative
wanted in each argument (all 0: the value). Derivatives in ``x`` of order ``m >= 1`` are
derivatives of the density (``x^(a-1) e^(-x) / Gamma(a)``, ``x^(a-1) (1-x)^(b-1) /
B(a, b)``); derivatives in the parameters come from running the algorithm on jets
(:mod:`~tapeflow.scipy.kernels.jets`), so they are as accurate as the values.

Algorithms, chosen per entry so that the smaller of P and Q (of I and 1 - I) is computed
directly and never as a difference close to 1:

* P by its power series ``x^a e^-x / Gamma(a) sum_n x^n / (a (a+1) ... (a+n))`` for
  ``x < a``; Q by Legendre's continued fraction for ``x >= a``; Q for ``a < 1, x <= 1.1``
  by ``1 - x^a / Gamma(1 + a)`` (an ``expm1``) minus the alternating series of the rest.
* I_x(a, b) by its power series where ``b x <= 1, x <= 0.95``, by its continued fraction
  where ``x <= (a + 1) / (a + b + 2)``, else as ``1 - I_{1-x}(b, a)``.
* The factors ``x^a e^-x / Gamma(a)`` and ``x^a (1-x)^b / B(a, b)`` come from Stirling's
  formula with ``log1p(u) - u`` for large parameters, so that their logarithms (which
  nearly cancel where the functions change) are never formed as differences of large
  numbers.

Series and fractions stop when every Taylor coefficient has converged; parameters near
1e6 take a few thousand steps. Accuracy against SciPy is in tests/test_special_values.py.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.scipy.kernels import jets
from tapeflow.scipy.kernels.common import HALF_LOG_2PI, as_float64, finish, float_dtype
from tapeflow.scipy.kernels.gammas import lgamma1p_f64, lgamma_f64, polygamma_f, stirling_tail
from tapeflow.scipy.kernels.jets import Jet

__all__ = ["np_gammainc", "np_gammaincc", "np_betainc", "lgamma_jet", "MAX_STEPS"]

_EPS = 1e-17
_ROUNDING = 4e-16
MAX_STEPS = 100_000
_LARGE = 10.0  # Stirling's tail is accurate to double precision from here on


def _lgamma_taylor(j: Jet, shift: float, value: Any) -> Jet:
    def derivative(v: np.ndarray, k: int) -> Any:
        return value(v) if k == 0 else polygamma_f(k - 1, v + shift)

    return j.compose(
        [derivative(j.value, k) / math.factorial(k) for k in range(j.basis.degree + 1)]
    )


def lgamma_jet(j: Jet) -> Jet:
    """log |Gamma| of a jet (its derivatives are the polygamma functions)."""
    with np.errstate(all="ignore"):
        return _lgamma_taylor(j, 0.0, lgamma_f64)


def _lgamma1p_jet(j: Jet) -> Jet:
    """lgamma(1 + a) of a jet, accurate for tiny a."""
    with np.errstate(all="ignore"):
        return _lgamma_taylor(j, 1.0, lgamma1p_f64)


def _converged(term: Jet, total: Jet) -> bool:
    """A series has converged: every coefficient of the last term is negligible."""
    with np.errstate(invalid="ignore"):
        small = np.abs(term.c) <= _EPS * np.abs(total.c)
    return bool(np.all(small | ~np.isfinite(total.c)))


def _settled(delta: Jet) -> bool:
    """A continued fraction has converged: its last factor is 1 to rounding, with
    derivatives 0 (each adds delta' / delta to the log-derivative of the fraction)."""
    with np.errstate(invalid="ignore"):
        off = np.abs(delta.c)
        off[0] = np.abs(delta.c[0] - 1.0)
    return bool(np.all((off <= _ROUNDING) | ~np.isfinite(delta.c)))


def _variables(values: list[np.ndarray], orders: tuple[int, ...]) -> list[Jet]:
    return [Jet.variable(v, k, orders) for k, v in enumerate(values)]


# ----- incomplete gamma ------------------------------------------------------------------
def _log_ratio_minus_one(a: Jet, ratio: Jet, excess: Jet) -> Jet:
    """a (log(r) - r + 1) for r = ratio = 1 + excess: from log1p(u) - u where r is near 1
    (excess computed exactly there), from log(r) where it is not (r - 1 would round)."""
    near = np.abs(excess.value) < 0.5
    with np.errstate(all="ignore"):
        close = a * jets.log1pmx(excess)
        far = a * (jets.log(ratio) - excess)
    return jets.where(near, close, far)


def _log_gamma_factor(a: Jet, x: Jet) -> Jet:
    """log(x^a e^-x / Gamma(a))."""
    with np.errstate(all="ignore"):
        plain = a * jets.log(x) - x - lgamma_jet(a)
        # Stirling: a (log(x/a) - x/a + 1) + log(a / 2 pi) / 2 - S(a), exact cancellation.
        stirling = _log_ratio_minus_one(a, x / a, (x - a) / a)
        stirling = stirling + 0.5 * jets.log(a) - HALF_LOG_2PI - stirling_tail(a)
    return jets.where(a.value >= _LARGE, stirling, plain)


def _p_series(a: Jet, x: Jet) -> Jet:
    term = 1.0 / a
    total = term
    for n in range(1, MAX_STEPS):
        term = term * x / (a + n)
        total = total + term
        if _converged(term, total):
            break
    with np.errstate(all="ignore"):
        return jets.exp(_log_gamma_factor(a, x)) * total


def _q_fraction(a: Jet, x: Jet) -> Jet:
    # Q = x^a e^-x / Gamma(a) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / ...)),
    # evaluated forwards (modified Lentz).
    f = x + 1.0 - a
    c, d = f, None
    for k in range(1, MAX_STEPS):
        ak = (a - k) * k
        bk = x + (2 * k + 1) - a
        d = (bk if d is None else bk + ak * d).reciprocal()
        c = bk + ak / c
        delta = c * d
        f = f * delta
        if _settled(delta):
            break
    with np.errstate(all="ignore"):
        return jets.exp(_log_gamma_factor(a, x)) / f


def _q_small_x(a: Jet, x: Jet) -> Jet:
    # Q = 1 - x^a / Gamma(1 + a) - x^a / Gamma(a) sum_{n>=1} (-x)^n / (n! (a + n)).
    power = (-1.0) * x
    total = power / (a + 1.0)
    for n in range(2, MAX_STEPS):
        power = power * (-1.0 / n) * x
        term = power / (a + n)
        total = total + term
        if _converged(term, total):
            break
    with np.errstate(all="ignore"):
        log_lead = a * jets.log(x) - _lgamma1p_jet(a)
        return -jets.expm1(log_lead) - a * jets.exp(log_lead) * total


def _gamma_density(a: Jet, x: Jet) -> Jet:
    with np.errstate(all="ignore"):
        return jets.exp(_log_gamma_factor(a, x)) / x


def _incomplete_gamma(a: Any, x: Any, orders: tuple[int, int], upper: bool) -> Any:
    name = "gammaincc" if upper else "gammainc"
    dtype = float_dtype(a, x)
    ad, xd = np.broadcast_arrays(as_float64(a, name), as_float64(x, name))
    shape = ad.shape
    ad, xd = ad.ravel(), xd.ravel()
    i, m = orders
    out = np.full(ad.shape, np.nan)
    inside = (ad > 0) & (xd > 0) & np.isfinite(ad) & np.isfinite(xd)
    if m > 0:
        sel = inside
        jet_orders = (i, m - 1)
        av, xv = _variables([ad[sel], xd[sel]], jet_orders)
        out[sel] = (-1.0 if upper else 1.0) * _gamma_density(av, xv).derivative(jet_orders)
    else:
        small_x = inside & (xd <= 1.1) & (ad < 1.0)
        series = inside & ~small_x & (xd < ad)
        fraction = inside & ~small_x & (xd >= ad)
        for sel, algorithm, gives_q in (
            (small_x, _q_small_x, True),
            (series, _p_series, False),
            (fraction, _q_fraction, True),
        ):
            if not sel.any():
                continue
            av = Jet.variable(ad[sel], 0, (i,))
            result = algorithm(av, Jet.constant(xd[sel], av))
            if gives_q != upper:
                result = 1.0 - result
            out[sel] = result.derivative((i,))
        # The edges, as SciPy has them: P(a, 0) = 0, P(a, inf) = 1, P(inf, x) = 0,
        # P(0, x) = 1; derivatives there are 0 (nan at a = 0, outside the domain).
        p_edge = np.select(
            [(ad > 0) & (xd == 0), (ad >= 0) & (xd == np.inf) & (ad < np.inf),
             (ad == np.inf) & (xd < np.inf) & (xd >= 0), (ad == 0) & (xd > 0)],
            [0.0, 1.0, 0.0, 1.0],
            np.nan,
        )  # fmt: skip
        edge = ~inside & ~np.isnan(p_edge)
        if i == 0:
            out[edge] = (1.0 - p_edge[edge]) if upper else p_edge[edge]
        else:
            out[edge & (ad > 0)] = 0.0
    return finish(out.reshape(shape), dtype)


def np_gammainc(a: Any, x: Any, orders: tuple[int, int] = (0, 0)) -> Any:
    return _incomplete_gamma(a, x, orders, upper=False)


def np_gammaincc(a: Any, x: Any, orders: tuple[int, int] = (0, 0)) -> Any:
    return _incomplete_gamma(a, x, orders, upper=True)


# ----- incomplete beta -------------------------------------------------------------------
def _log_beta_factor(a: Jet, b: Jet, x: Jet, y: Jet) -> Jet:
    """log(x^a y^b / B(a, b)) with y = 1 - x given exactly."""
    with np.errstate(all="ignore"):
        plain = a * jets.log(x) + b * jets.log(y) - lgamma_jet(a) - lgamma_jet(b)
        plain = plain + lgamma_jet(a + b)
        # One parameter large: lgamma(a + b) - lgamma(a) by Stirling for a, without the
        # difference of two large logarithms.
        a_large = a * jets.log(x) + b * jets.log(y) - lgamma_jet(b) + (a - 0.5) * jets.log1p(b / a)
        a_large = a_large + b * jets.log(a + b) - b + stirling_tail(a + b) - stirling_tail(a)
        b_large = a * jets.log(x) + b * jets.log(y) - lgamma_jet(a) + (b - 0.5) * jets.log1p(a / b)
        b_large = b_large + a * jets.log(a + b) - a + stirling_tail(a + b) - stirling_tail(b)
        # Both large: x^a y^b / B = (x/p)^a (y/q)^b sqrt(ab / (a+b)) / sqrt(2 pi) e^(S(a+b) -
        # S(a) - S(b)) with p = a / (a+b), q = b / (a+b); the linear parts of the logs cancel.
        s = a + b
        p, q = a / s, b / s
        both = _log_ratio_minus_one(a, x / p, (x - p) / p)
        both = both + _log_ratio_minus_one(b, y / q, (y - q) / q)
        both = both + 0.5 * jets.log(a * b / s) - HALF_LOG_2PI
        both = both + stirling_tail(s) - stirling_tail(a) - stirling_tail(b)
    big_a, big_b = a.value >= _LARGE, b.value >= _LARGE
    out = jets.where(big_a, a_large, plain)
    out = jets.where(big_b, b_large, out)
    return jets.where(big_a & big_b, both, out)


def _beta_fraction(a: Jet, b: Jet, x: Jet, y: Jet) -> Jet:
    # I_x(a, b) = x^a y^b / (a B(a, b)) / (1 + d1 / (1 + d2 / (1 + ...))), with
    # d_{2k+1} = -(a + k)(a + b + k) x / ((a + 2k)(a + 2k + 1)) and
    # d_{2k} = k (b - k) x / ((a + 2k - 1)(a + 2k)); evaluated forwards (modified Lentz).
    f = Jet.constant(np.ones(np.shape(a.value)), a)
    c, d = f, f * 0.0
    for n in range(1, MAX_STEPS):
        k = n // 2
        if n % 2:
            dn = -((a + k) * (a + b + k) * x) / ((a + 2 * k) * (a + (2 * k + 1)))
        else:
            dn = (k * (b - k) * x) / ((a + (2 * k - 1)) * (a + 2 * k))
        d = (dn * d + 1.0).reciprocal()
        c = 1.0 + dn / c
        delta = c * d
        f = f * delta
        if n > 1 and _settled(delta):
            break
    with np.errstate(all="ignore"):
        return jets.exp(_log_beta_factor(a, b, x, y)) / (a * f)


def _beta_series(a: Jet, b: Jet, x: Jet, y: Jet) -> Jet:
    # I_x(a, b) = x^a / B(a, b) (1/a + sum_{n>=1} (1-b)(2-b)...(n-b) x^n / (n! (a + n))):
    # for small b, where I_x is far from the continued fraction's side of the mean.
    term = Jet.constant(np.ones(np.shape(a.value)), a)
    total = 1.0 / a
    for n in range(1, MAX_STEPS):
        term = term * (n - b) * x * (1.0 / n)
        part = term / (a + n)
        total = total + part
        if _converged(part, total):
            break
    with np.errstate(all="ignore"):
        return jets.exp(_log_beta_factor(a, b, x, y) - b * jets.log(y)) * total


def _beta_density(a: Jet, b: Jet, x: Jet) -> Jet:
    y = 1.0 - x
    with np.errstate(all="ignore"):
        return jets.exp(_log_beta_factor(a, b, x, y)) / (x * y)


def np_betainc(a: Any, b: Any, x: Any, orders: tuple[int, int, int] = (0, 0, 0)) -> Any:
    dtype = float_dtype(a, b, x)
    arrays = np.broadcast_arrays(*(as_float64(v, "betainc") for v in (a, b, x)))
    shape = arrays[0].shape
    ad, bd, xd = (v.ravel() for v in arrays)
    i, j, m = orders
    out = np.full(ad.shape, np.nan)
    inside = (ad > 0) & (bd > 0) & (xd > 0) & (xd < 1) & np.isfinite(ad) & np.isfinite(bd)
    if m > 0:
        jet_orders = (i, j, m - 1)
        av, bv, xv = _variables([ad[inside], bd[inside], xd[inside]], jet_orders)
        out[inside] = _beta_density(av, bv, xv).derivative(jet_orders)
    else:
        # The continued fraction converges fast left of the mean; right of it, the mirror
        # 1 - I_{1-x}(b, a); for small b the power series gives I_x directly.
        series = (bd * xd <= 1.0) & (xd <= 0.95)
        mirror = ~series & (xd > (ad + 1.0) / (ad + bd + 2.0))
        for sel, algorithm, flip in (
            (inside & series, _beta_series, False),
            (inside & ~series & ~mirror, _beta_fraction, False),
            (inside & mirror, _beta_fraction, True),
        ):
            if not sel.any():
                continue
            av, bv = _variables([ad[sel], bd[sel]], (i, j))
            xs = Jet.constant(xd[sel], av)
            ys = Jet.constant(1.0 - xd[sel], av)
            if flip:
                result = 1.0 - algorithm(bv, av, ys, xs)
            else:
                result = algorithm(av, bv, xs, ys)
            out[sel] = result.derivative((i, j))
        # The edges, as SciPy has them (derivatives there: 0).
        ok = (ad >= 0) & (bd >= 0) & (xd >= 0) & (xd <= 1) & ~((ad == 0) & (bd == 0))
        edge_value = np.select(
            [ok & (xd == 0), ok & (xd == 1), ok & (ad == 0), ok & (bd == 0),
             ok & (ad == np.inf) & (bd < np.inf), ok & (bd == np.inf) & (ad < np.inf)],
            [0.0, 1.0, 1.0, 0.0, 0.0, 1.0],
            np.nan,
        )  # fmt: skip
        edge = ~inside & ~np.isnan(edge_value)
        out[edge] = edge_value[edge] if (i, j) == (0, 0) else 0.0
    return finish(out.reshape(shape), dtype)
