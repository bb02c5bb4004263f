"""The error function family on plain arrays: erf, erfc, erfcx, log_ndtr, ndtri, erfinv,
erfcinv, and the ratio pdf/cdf of the standard normal.

* ``erf``/``erfc``: a positive-term power series for small arguments and a continued
  fraction for the tail (relative error about 1e-15 in float64).
* ``erfcx`` comes straight from the continued fraction (no ``exp(-x^2)`` factor),
  ``log_ndtr`` uses it in the lower tail, ``ndtri`` is Newton's method on ``log_ndtr``
  (monotone from the left), ``erfinv`` Newton on ``erf`` near 0 and ``ndtri`` elsewhere,
  ``erfcinv`` one of them with an argument computed exactly.
* Complex input (erf, erfc, erfcx, log_ndtr, the normal ratio) goes to SciPy's kernels.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.scipy.kernels.common import (
    HALF_LOG_2PI,
    HALF_SQRT_PI,
    SQRT2,
    SQRT_2_OVER_PI,
    TWO_OVER_SQRT_PI,
    as_float64,
    by_range,
    finish,
    float_dtype,
    is_complex_input,
    scipy_complex,
    with_complex,
)

__all__ = [
    "np_erf",
    "np_erfc",
    "np_erfcx",
    "np_erfcx_derivative",
    "np_log_ndtr",
    "np_ndtr_ratio",
    "np_ndtri",
    "np_erfinv",
    "np_erfcinv",
]

# Terms that reach double precision on each range (measured against math.erf/erfc).
_SERIES_TERMS = ((0.5, 14), (1.0, 18), (np.inf, 30))  # for |x| < 2
_CF_TERMS = ((2.0, 84), (3.0, 52), (4.0, 30), (6.0, 22), (np.inf, 16))  # for x >= 1.5


def _erf_series_n(x: np.ndarray, terms: int) -> np.ndarray:
    # erf(x) = 2/sqrt(pi) exp(-x^2) sum_n (2x^2)^n x / (1*3*...*(2n+1)): all terms
    # positive, so no cancellation. Horner's scheme, in place.
    x2 = 2.0 * x * x
    s = np.ones_like(x)
    for n in range(terms, 0, -1):
        s *= x2
        s *= 1.0 / (2 * n + 1)
        s += 1.0
    return TWO_OVER_SQRT_PI * _exp_minus_square(x) * x * s  # type: ignore[no-any-return]


def _erf_series(x: np.ndarray) -> np.ndarray:
    return by_range(x, np.abs(x), _SERIES_TERMS, _erf_series_n)


def _exp_minus_square(x: np.ndarray) -> np.ndarray:
    # exp(-x^2) with x^2 split exactly into hi^2 + (x - hi)(x + hi): avoids the
    # relative error x^2 * eps that a rounded x*x would carry into the result.
    # Beyond |x| = 40 it is 0 (and the split's second factor could overflow: 0 * inf).
    x = np.where(np.abs(x) < 40.0, x, 40.0)
    hi = np.round(x * 16.0) / 16.0
    return np.exp(-hi * hi) * np.exp(-(x - hi) * (x + hi))


def _erfcx_cf_n(x: np.ndarray, terms: int) -> np.ndarray:
    # erfcx(x) = exp(x^2) erfc(x) = 1 / sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
    # for x >= 1.5, evaluated from the back, in place.
    f = x.copy()
    for k in range(terms, 0, -1):
        np.divide(0.5 * k, f, out=f)
        f += x
    return 1.0 / (math.sqrt(math.pi) * f)  # type: ignore[no-any-return]


def _erfcx_cf(x: np.ndarray) -> np.ndarray:
    return by_range(x, x, _CF_TERMS, _erfcx_cf_n)


def _erfc_cf(x: np.ndarray) -> np.ndarray:
    return _exp_minus_square(x) * _erfcx_cf(x)  # type: ignore[no-any-return]


@with_complex("erf")
def np_erf(x: Any) -> Any:
    xd, dtype = as_float64(x, "erf"), float_dtype(x)
    out = np.full(xd.shape, np.nan)
    ax = np.abs(xd)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        small = ax < 2.0
        out[small] = _erf_series(xd[small])
        big = ax >= 2.0
        out[big] = np.copysign(1.0 - _erfc_cf(ax[big]), xd[big])
    out[np.isinf(xd)] = np.sign(xd[np.isinf(xd)])
    return finish(out, dtype)


@with_complex("erfc")
def np_erfc(x: Any) -> Any:
    xd, dtype = as_float64(x, "erfc"), float_dtype(x)
    out = np.full(xd.shape, np.nan)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        mid = np.abs(xd) < 1.5
        out[mid] = 1.0 - _erf_series(xd[mid])
        pos = xd >= 1.5
        out[pos] = _erfc_cf(xd[pos])
        neg = xd <= -1.5
        out[neg] = 2.0 - _erfc_cf(-xd[neg])
    out[xd == np.inf] = 0.0
    out[xd == -np.inf] = 2.0
    return finish(out, dtype)


@with_complex("erfcx")
def np_erfcx(x: Any) -> Any:
    xd, dtype = as_float64(x, "erfcx"), float_dtype(x)
    out = np.full(xd.shape, np.nan)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        big = xd >= 1.5
        out[big] = _erfcx_cf(xd[big])
        mid = np.abs(xd) < 1.5
        out[mid] = (1.0 - _erf_series(xd[mid])) / _exp_minus_square(xd[mid])
        neg = xd <= -1.5  # overflows to inf below about -26.6, like the true value
        out[neg] = (2.0 - _erfc_cf(-xd[neg])) / _exp_minus_square(xd[neg])
    out[xd == np.inf] = 0.0
    out[xd == -np.inf] = np.inf
    return finish(out, dtype)


# Above this, erfcx's derivatives come from its asymptotic series (below, the recurrence
# loses at most a factor 2 x^2 per order to cancellation: 1e-13 relative at x = 10).
_ERFCX_ASYMPTOTIC = 10.0


def _erfcx_asymptotic(x: np.ndarray, n: int) -> np.ndarray:
    """The n-th derivative of erfcx(x) ~ sum_k (-1)^k (2k-1)!! / 2^k x^-(2k+1) / sqrt(pi),
    term by term (for x >= 10 the terms fall below 1e-17 of the sum well before they grow)."""
    inv2 = 1.0 / (x * x)
    total = np.zeros_like(x)
    coef = 1.0  # (-1)^k (2k-1)!! / 2^k
    power = x ** -(1.0 + n)  # x^-(2k+1+n)
    last = np.full_like(x, np.inf)
    for k in range(80):
        m = 2 * k + 1
        falling = math.prod(-(m + i) for i in range(n))  # d^n x^-m = falling * x^-(m+n)
        term = coef * falling * power
        if k > n and np.any(np.abs(term) > last):
            break  # the series diverges from here on: its smallest term is its error
        total += term
        if np.all(np.abs(term) <= 1e-17 * np.abs(total)):
            break
        last = np.abs(term)
        coef *= -(2 * k + 1) / 2.0
        power = power * inv2
    return total / math.sqrt(math.pi)


def np_erfcx_derivative(x: Any, orders: tuple[int, ...] = (0,)) -> Any:
    """The ``orders[0]``-th derivative of erfcx. Below x = 10 (and for complex z) by the
    recurrence f^(k) = 2 z f^(k-1) + 2 (k-1) f^(k-2) from f' = 2 z f - 2/sqrt(pi); above,
    by the asymptotic series, where the recurrence would cancel to nothing."""
    (n,) = orders
    f0 = np_erfcx(x)
    if n == 0:
        return f0
    dtype = float_dtype(x)
    z = np.asarray(x, np.complex128 if is_complex_input(x) else np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        prev, cur = np.asarray(f0, z.dtype), 2.0 * z * f0 - TWO_OVER_SQRT_PI
        for k in range(2, n + 1):
            prev, cur = cur, 2.0 * z * cur + 2.0 * (k - 1) * prev
        out = np.asarray(cur, z.dtype).copy()
        if not is_complex_input(x):
            far = z >= _ERFCX_ASYMPTOTIC
            out[far] = _erfcx_asymptotic(z[far], n)
    return finish(out, dtype)


def _log_ndtr_f64(xd: np.ndarray) -> np.ndarray:
    out = np.full(xd.shape, np.nan)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        upper = xd >= -1.0
        # log(1 - erfc(x / sqrt 2) / 2): accurate where the CDF is close to 1.
        out[upper] = np.log1p(-0.5 * np_erfc(xd[upper] / SQRT2))
        lower = xd < -1.0
        # log(erfc(t) / 2) = log(erfcx(t) / 2) - t^2 with t = -x / sqrt 2: no underflow.
        t = -xd[lower] / SQRT2
        out[lower] = np.log(0.5 * np_erfcx(t)) - t * t
    return out


@with_complex("log_ndtr")
def np_log_ndtr(x: Any) -> Any:
    return finish(_log_ndtr_f64(as_float64(x, "log_ndtr")), float_dtype(x))


def np_ndtr_ratio(x: Any) -> Any:
    """pdf / cdf of the standard normal, ``sqrt(2/pi) / erfcx(-x / sqrt 2)``: no cancellation
    in the lower tail, and 0 (not nan) where the cdf is 1 and the pdf underflows."""
    dtype = float_dtype(x)
    if is_complex_input(x):
        wide = np.asarray(x, np.complex128)
        return finish(SQRT_2_OVER_PI / scipy_complex("erfcx", -wide / SQRT2), dtype)
    with np.errstate(over="ignore", divide="ignore"):
        return finish(SQRT_2_OVER_PI / np_erfcx(-as_float64(x, "log_ndtr") / SQRT2), dtype)


def _ndtri_lower(q: np.ndarray) -> np.ndarray:
    """ndtri(q) for 0 < q < 1/2 by Newton's method on log_ndtr(y) = log(q).

    log_ndtr is concave and the start -sqrt(-2 log q) lies left of the root, so
    the iterates increase monotonically to it (no overshoot, no bracketing).
    """
    target = np.log(q)
    y = -np.sqrt(-2.0 * target)
    for _ in range(40):
        lp = _log_ndtr_f64(y)
        log_pdf = -0.5 * y * y - HALF_LOG_2PI
        step = (lp - target) * np.exp(lp - log_pdf)
        y = y - step
        # Convergence is quadratic: once every step is below 1e-9 the next one is at
        # rounding level (~1e-15), so finish with it.
        if np.all(np.abs(step) <= 1e-9 * np.maximum(np.abs(y), 1.0)):
            lp = _log_ndtr_f64(y)
            out: np.ndarray = y - (lp - target) * np.exp(lp + 0.5 * y * y + HALF_LOG_2PI)
            return out
    return y  # type: ignore[no-any-return]


def _ndtri_f64(pd: np.ndarray) -> np.ndarray:
    out = np.full(pd.shape, np.nan)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        lower = (pd > 0) & (pd < 0.5)
        out[lower] = _ndtri_lower(pd[lower])
        upper = (pd >= 0.5) & (pd < 1)
        out[upper] = -_ndtri_lower(1.0 - pd[upper])  # 1 - p is exact for p >= 1/2
        out[upper & (pd == 0.5)] = 0.0
    out[pd == 0] = -np.inf
    out[pd == 1] = np.inf
    return out


def np_ndtri(p: Any) -> Any:
    return finish(_ndtri_f64(as_float64(p, "ndtri")), float_dtype(p))


def _erfinv_f64(xd: np.ndarray) -> np.ndarray:
    out = np.full(xd.shape, np.nan)
    ax = np.abs(xd)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        small = ax < 0.5
        v = xd[small]
        # Newton on erf(y) = v from the Taylor start: keeps full relative accuracy near 0.
        y = HALF_SQRT_PI * v * (1.0 + math.pi / 12.0 * v * v)
        for _ in range(6):
            y = y - (np_erf(y) - v) / (TWO_OVER_SQRT_PI * np.exp(-y * y))
        out[small] = y
        # erfinv(x) = -ndtri((1 - |x|) / 2) / sqrt 2 with the sign of x; 1 - |x| is exact.
        big = (ax >= 0.5) & (ax <= 1.0)
        out[big] = np.copysign(-_ndtri_f64((1.0 - ax[big]) / 2.0) / SQRT2, xd[big])
    return out


def np_erfinv(x: Any) -> Any:
    return finish(_erfinv_f64(as_float64(x, "erfinv")), float_dtype(x))


def np_erfcinv(y: Any) -> Any:
    yd = as_float64(y, "erfcinv")
    out = np.full(yd.shape, np.nan)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        # Each branch gets an argument computed exactly: 1 - y on [0.5, 1.5] and 2 - y on
        # [1.5, 2] (Sterbenz), y / 2 below 0.5.
        mid = (yd >= 0.5) & (yd <= 1.5)
        out[mid] = _erfinv_f64(1.0 - yd[mid])
        low = (yd >= 0.0) & (yd < 0.5)
        out[low] = -_ndtri_f64(yd[low] / 2.0) / SQRT2
        high = (yd > 1.5) & (yd <= 2.0)
        out[high] = _ndtri_f64((2.0 - yd[high]) / 2.0) / SQRT2
    return finish(out, float_dtype(y))
