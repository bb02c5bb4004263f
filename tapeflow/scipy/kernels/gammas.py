"""The gamma function family on plain arrays: gammaln, gamma, rgamma, gammasgn, betaln,
beta, polygamma (and digamma).

* ``gammaln``: Stirling's series after shifting the argument above 10 with the
  recurrence, a Taylor series in zeta values near its zeros at 1 and 2, and the
  reflection formula for negative arguments. ``betaln`` for large arguments uses the
  Stirling form directly, so ``gammaln(a) + gammaln(b) - gammaln(a + b)`` never cancels.
* ``polygamma`` (real or complex): the asymptotic series after the same shift, and the
  reflection formula (derivatives of ``pi * cot(pi z)``) left of the imaginary axis.
  SciPy has no complex polygamma; this one is numpy's alone.
* ``gamma`` is ``exp(gammaln)`` with its sign (exact factorials at the integers),
  ``rgamma`` its reciprocal with zeros at the poles; complex ``gamma`` and ``rgamma`` come
  from SciPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.scipy.kernels.common import (
    B2K,
    EULER_GAMMA,
    HALF_LOG_2PI,
    as_float64,
    finish,
    float_dtype,
    horner,
    is_complex_input,
    shift_above,
    small_zeta,
    with_complex,
)

__all__ = [
    "np_gammaln",
    "lgamma_f64",
    "lgamma1p_f64",
    "stirling_tail",
    "np_gamma",
    "np_rgamma",
    "np_gammasgn",
    "gammasgn_f64",
    "np_betaln",
    "np_beta",
    "np_polygamma",
    "np_psi_gap",
    "polygamma_f",
]

# lgamma(1 + z) = -gamma z + sum_{k>=2} (-1)^k zeta(k) z^k / k, for |z| < 1.
_LGAMMA1_COEFFS = [-EULER_GAMMA] + [(-1) ** k * small_zeta(k) / k for k in range(2, 30)]
# Stirling's tail S(z) = lgamma(z) - (z - 1/2) log z + z - log(2 pi)/2, as r h(r^2), r = 1/z.
STIRLING_COEFFS = [float(b / (2 * k * (2 * k - 1))) for k, b in enumerate(B2K[:9], start=1)]


def stirling_tail(z: Any) -> Any:
    """S(z) for z >= 10 (an array or a jet): lgamma's correction to Stirling's formula."""
    r = 1.0 / z
    return r * horner(STIRLING_COEFFS, r * r)


def _lgamma_positive(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    near1 = np.abs(x - 1.0) < 0.2
    near2 = np.abs(x - 2.0) < 0.2
    z = x[near1] - 1.0
    out[near1] = z * horner(_LGAMMA1_COEFFS, z)
    z = x[near2] - 2.0
    out[near2] = z * horner(_LGAMMA1_COEFFS, z) + np.log1p(z)
    rest = ~(near1 | near2)
    # lgamma(x) = lgamma(x + m) - log(x (x+1) ... (x+m-1)); products stay small.
    xr = x[rest]
    z = xr.copy()
    prod = np.ones_like(xr)
    low = z < 10.0
    while low.any():
        prod[low] *= z[low]
        z[low] += 1.0
        low = z < 10.0
    out[rest] = (z - 0.5) * np.log(z) - z + HALF_LOG_2PI + stirling_tail(z) - np.log(prod)
    return out


def lgamma_f64(xd: np.ndarray) -> np.ndarray:
    """log |Gamma(x)| of a float64 array (inf at the poles)."""
    out = np.full(xd.shape, np.nan)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        pos = xd > 0
        out[pos] = _lgamma_positive(xd[pos])
        out[np.isinf(xd)] = np.inf
        neg = (xd <= 0) & np.isfinite(xd)
        xn = xd[neg]
        frac = xn - np.round(xn)  # exact; sin(pi x) = +-sin(pi frac)
        pole = frac == 0
        res = np.full(xn.shape, np.inf)
        xs, fs = xn[~pole], frac[~pole]
        # Reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x).
        res[~pole] = (
            math.log(math.pi) - np.log(np.abs(np.sin(math.pi * fs))) - _lgamma_positive(1.0 - xs)
        )
        out[neg] = res
    return out


def np_gammaln(x: Any) -> Any:
    return finish(lgamma_f64(as_float64(x, "gammaln")), float_dtype(x))


def lgamma1p_f64(a: np.ndarray) -> np.ndarray:
    """lgamma(1 + a), accurate for tiny a (where 1 + a would round a away)."""
    out = np.empty_like(a)
    small = np.abs(a) < 0.2
    out[small] = a[small] * horner(_LGAMMA1_COEFFS, a[small])
    out[~small] = lgamma_f64(1.0 + a[~small])
    return out


_FACTORIALS = np.array([float(math.factorial(k)) for k in range(171)])


def gammasgn_f64(xd: np.ndarray) -> np.ndarray:
    """The sign of Gamma(x): -1 on (-1, 0), (-3, -2), ... and at -0; nan at the poles."""
    negative = ((xd < 0) & (np.floor(-xd) % 2 == 0)) | ((xd == 0) & np.signbit(xd))
    out = np.where(negative, -1.0, 1.0)
    return np.where((xd < 0) & (xd == np.round(xd)) | np.isnan(xd), np.nan, out)


def np_gammasgn(x: Any) -> Any:
    with np.errstate(invalid="ignore"):
        return finish(gammasgn_f64(as_float64(x, "gammasgn")), float_dtype(x))


def _gamma_f64(xd: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        magnitude = np.array(np.exp(lgamma_f64(xd)))
        # Exact at the positive integers: gamma(n) = (n - 1)!.
        whole = (xd >= 1) & (xd <= 171) & (xd == np.round(xd))
        magnitude[whole] = _FACTORIALS[xd[whole].astype(np.int64) - 1]
        out = gammasgn_f64(xd) * magnitude
        out = np.where(xd == 0, np.copysign(np.inf, xd), out)
        return np.where(xd == -np.inf, np.nan, out)


@with_complex("gamma")
def np_gamma(x: Any) -> Any:
    return finish(_gamma_f64(as_float64(x, "gamma")), float_dtype(x))


@with_complex("rgamma")
def np_rgamma(x: Any) -> Any:
    xd = as_float64(x, "rgamma")
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        out = np.array(gammasgn_f64(xd) * np.exp(-lgamma_f64(xd)))
        whole = (xd >= 1) & (xd <= 171) & (xd == np.round(xd))
        out[whole] = 1.0 / _FACTORIALS[xd[whole].astype(np.int64) - 1]
        # Zeros at the poles 0, -1, -2, ... and at both infinities (SciPy's values).
        out[((xd <= 0) & (xd == np.round(xd))) | np.isinf(xd)] = 0.0
    return finish(out, float_dtype(x))


def _betaln_f64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        out = np.array(lgamma_f64(a) + lgamma_f64(b) - lgamma_f64(a + b))
        large = (a >= 10) & (b >= 10)
        al, bl = a[large], b[large]
        s = al + bl
        # Stirling's formula for all three: the large logs cancel analytically, not in
        # floating point.
        out[large] = (
            HALF_LOG_2PI
            + (al - 0.5) * np.log1p(-bl / s)
            + (bl - 0.5) * np.log1p(-al / s)
            - 0.5 * np.log(s)
            + stirling_tail(al)
            + stirling_tail(bl)
            - stirling_tail(s)
        )
        # One argument small, the other large: lgamma(b) - lgamma(a + b) from Stirling's
        # formula, -(b - 1/2) log1p(a / b) - a log(a + b) + a + tails, not as the difference
        # of two large numbers (which would leave an error of eps lgamma(b)).
        for small, big in ((a, b), (b, a)):
            one = (big >= 10) & (small < 10) & (small + big >= 10) & ~large
            x, y = small[one], big[one]
            out[one] = (
                lgamma_f64(x)
                - (y - 0.5) * np.log1p(x / y)
                - x * np.log(x + y)
                + x
                + stirling_tail(y)
                - stirling_tail(x + y)
            )
    return out


def _beta_pole_limit(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """B(a, b) where b is a pole of Gamma and a a positive integer with a + b <= 0:
    Gamma(b) / Gamma(a + b) = 1 / (b (b+1) ... (b+a-1)) is finite there."""
    out = np.full(a.shape, np.inf)
    finite = (a >= 1) & (a == np.round(a)) & (a + b <= 0) & (a < 171)
    for i in np.flatnonzero(finite):
        n = int(a.flat[i])
        out.flat[i] = math.factorial(n - 1) / math.prod(b.flat[i] + k for k in range(n))
    return out


def np_betaln(a: Any, b: Any) -> Any:
    ad, bd = np.broadcast_arrays(as_float64(a, "betaln"), as_float64(b, "betaln"))
    out = _betaln_f64(ad, bd)
    with np.errstate(divide="ignore"):
        for first, second in ((ad, bd), (bd, ad)):
            pole = (second <= 0) & (second == np.round(second))
            out[pole] = np.log(np.abs(_beta_pole_limit(first[pole], second[pole])))
    return finish(out, float_dtype(a, b))


def np_beta(a: Any, b: Any) -> Any:
    ad, bd = np.broadcast_arrays(as_float64(a, "beta"), as_float64(b, "beta"))
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        sign = gammasgn_f64(ad) * gammasgn_f64(bd) * gammasgn_f64(ad + bd)
        out = np.array(np.where(np.isnan(sign), 1.0, sign) * np.exp(_betaln_f64(ad, bd)))
        for first, second in ((ad, bd), (bd, ad)):
            pole = (second <= 0) & (second == np.round(second))
            out[pole] = _beta_pole_limit(first[pole], second[pole])
        out[np.isnan(ad) | np.isnan(bd)] = np.nan
    return finish(out, float_dtype(a, b))


# ----- polygamma -----------------------------------------------------------------------
def _cot_derivative_polys(n_max: int) -> list[np.ndarray]:
    """P_n with d^n/dx^n cot(pi x) = pi^n P_n(cot(pi x)); coefficients, lowest first."""
    polys = [np.array([0.0, 1.0])]
    for _ in range(n_max):
        dp = np.polynomial.polynomial.polyder(polys[-1])
        polys.append(-np.polynomial.polynomial.polymul([1.0, 0.0, 1.0], dp))
    return polys


_COT_POLYS: list[np.ndarray] = _cot_derivative_polys(8)


def _cot_poly(n: int) -> np.ndarray:
    while len(_COT_POLYS) <= n:
        dp = np.polynomial.polynomial.polyder(_COT_POLYS[-1])
        _COT_POLYS.append(-np.polynomial.polynomial.polymul([1.0, 0.0, 1.0], dp))
    return _COT_POLYS[n]


def _polygamma_asymptotic(n: int, z: np.ndarray) -> np.ndarray:
    """psi^(n)(z) for Re z >= 10 + 2n from the asymptotic (Bernoulli) series."""
    r = 1.0 / z
    if n == 0:
        coeffs = [float(b / (2 * k)) for k, b in enumerate(B2K[:10], start=1)]
        return np.log(z) - 0.5 * r - r * r * horner(coeffs, r * r)  # type: ignore[no-any-return]
    sign = (-1.0) ** (n + 1)
    lead = math.factorial(n - 1) * r**n + 0.5 * math.factorial(n) * r ** (n + 1)
    coeffs = [
        float(b * math.factorial(2 * k + n - 1) / math.factorial(2 * k))
        for k, b in enumerate(B2K[:10], start=1)
    ]
    return sign * (lead + r ** (n + 2) * horner(coeffs, r * r))  # type: ignore[no-any-return]


def _polygamma_right(n: int, x: np.ndarray) -> np.ndarray:
    # psi^(n)(x) = psi^(n)(x + 1) + (-1)^(n+1) n! / x^(n+1): shift up, then the series.
    sign_fact = (-1.0) ** (n + 1) * math.factorial(n)
    if n == 0:
        z, acc = shift_above(x, 10.0, lambda v: -1.0 / v)
    else:
        z, acc = shift_above(x, 10.0 + 2 * n, lambda v: sign_fact / v ** (n + 1))
    return _polygamma_asymptotic(n, z) + acc  # type: ignore[no-any-return]


def _cot_pi(z: np.ndarray) -> np.ndarray:
    if not np.iscomplexobj(z):
        return 1.0 / np.tan(math.pi * z)
    # cot(pi z) = i (w + 1) / (w - 1) with w = exp(2 pi i z), taken on the side where
    # |w| <= 1 so that nothing overflows far from the real axis.
    upper = z.imag >= 0
    w = np.exp(np.where(upper, 2j, -2j) * math.pi * z)
    return np.where(upper, 1j, -1j) * (w + 1) / (w - 1)  # type: ignore[no-any-return]


def polygamma_f(n: int, xd: np.ndarray) -> np.ndarray:
    """psi^(n) of a float64 or complex128 array."""
    out = np.full(xd.shape, np.nan, xd.dtype)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        right = xd.real > 0
        out[right] = _polygamma_right(n, xd[right])
        if not np.iscomplexobj(xd):
            out[xd == np.inf] = np.inf if n == 0 else 0.0
        left = (xd.real <= 0) & np.isfinite(xd)
        xn = xd[left]
        frac = xn - np.round(xn.real)  # an integer shift: cot(pi frac) = cot(pi x)
        pole = frac == 0
        res = np.empty(xn.shape, xd.dtype)
        # Reflection: psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) P_n(cot(pi x)).
        xs = xn[~pole]
        poly = np.polynomial.polynomial.polyval(_cot_pi(frac[~pole]), _cot_poly(n))
        res[~pole] = (-1.0) ** n * _polygamma_right(n, 1.0 - xs) - math.pi ** (n + 1) * poly
        if n == 0:
            # scipy's conventions: psi(+0) = -inf, psi(-0) = +inf, nan at negative integers.
            at_zero = xn[pole] == 0
            res[pole] = np.where(
                at_zero, np.where(np.signbit(xn[pole].real), np.inf, -np.inf), np.nan
            )
        else:
            res[pole] = np.inf if n % 2 else -np.inf
        out[left] = res
    return out


def np_psi_gap(a: Any, b: Any, n: int = 0) -> Any:
    """``psi^(n)(b) - psi^(n)(a + b)`` for real a, b, without the cancellation of the two
    terms where ``|a| << b``: there the Taylor series ``-sum_k psi^(n+k)(b) a^k / k!``
    (ratio of terms below 5e-3 for ``|a| < 1e-3 b``, so 8 terms reach double precision).
    Elsewhere the difference loses at most a factor ``b / |a| <= 1e3``."""
    ad, bd = np.broadcast_arrays(as_float64(a, "betaln"), as_float64(b, "betaln"))
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        out = np.array(polygamma_f(n, np.array(bd)) - polygamma_f(n, ad + bd))
        near = (bd > 0) & (np.abs(ad) < 1e-3 * bd)
        an, bn = ad[near], bd[near]
        series = np.zeros_like(an)
        power = np.ones_like(an)
        for k in range(1, 9):
            power = power * an / k
            series -= polygamma_f(n + k, bn) * power
        out[near] = series
    return finish(out, float_dtype(a, b))


def np_polygamma(x: Any, n: int = 0) -> Any:
    dtype = float_dtype(x)
    wide = np.asarray(x, np.complex128 if is_complex_input(x) else np.float64)
    return finish(polygamma_f(n, wide), dtype)
