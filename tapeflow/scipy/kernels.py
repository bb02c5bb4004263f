"""What the special functions compute, on plain arrays, with numpy alone.

Numerics:

* ``softmax`` and ``log_softmax`` subtract the maximum before exponentiating, so
  logits of any size (and ``-inf`` entries) give finite, correct values without
  warnings. ``log_softmax`` never takes the log of an underflowed 0.
* ``expit`` evaluates ``exp(-|x|)`` only, so it cannot overflow.
* ``erf``/``erfc``: a positive-term power series for small arguments and a
  continued fraction for the tail (relative error about 1e-15 in float64).
* ``gammaln``: Stirling's series after shifting the argument above 10 with the
  recurrence, a Taylor series in ``zeta`` values near its zeros at 1 and 2, and
  the reflection formula for negative arguments.
* ``digamma``/``polygamma``: the asymptotic series after the same shift, and
  the reflection formula (derivatives of ``pi * cot(pi x)``) for ``x < 0``.
* ``erfcx`` comes straight from the continued fraction (no ``exp(-x^2)``
  factor), ``log_ndtr`` uses it in the lower tail, ``ndtri`` is Newton's method
  on ``log_ndtr`` (monotone from the left), ``erfinv`` Newton on ``erf`` near 0
  and ``ndtri`` elsewhere, ``gamma`` is ``exp(gammaln)`` with its sign.

Inputs are computed in float64 and the result is returned in the input's float
dtype (float32 stays float32; integers give float64).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from tapeflow.numpy.reductions import max_shift

__all__ = [
    "np_erf",
    "np_erfc",
    "np_erfcx",
    "np_log_ndtr",
    "np_ndtri",
    "np_erfinv",
    "np_gamma",
    "np_gammaln",
    "np_polygamma",
    "np_expit",
    "np_logit",
    "np_xlogy",
    "np_xlog1py",
    "np_entr",
    "np_rel_entr",
    "np_kl_div",
    "np_softmax",
    "np_log_softmax",
    "float_dtype",
]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_EULER_GAMMA = 0.57721566490153286061
_SQRT2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_HALF_SQRT_PI = 0.5 * math.sqrt(math.pi)


def float_dtype(x: Any) -> np.dtype[Any]:
    dtype = np.result_type(x)
    return dtype if np.issubdtype(dtype, np.inexact) else np.dtype(np.float64)


def _as_float64(x: Any) -> tuple[np.ndarray, np.dtype[Any]]:
    """``x`` as a float64 array, and the dtype the result should be given."""
    return np.asarray(x, dtype=np.float64), float_dtype(x)


def _finish(out: np.ndarray, dtype: np.dtype[Any]) -> Any:
    # ``[()]`` turns 0-d results into numpy scalars, like numpy's own ufuncs.
    return out.astype(dtype, copy=False)[()]


# ----- Bernoulli numbers, zeta values, cot-derivative polynomials ---------------
def _bernoulli_even(count: int) -> list[Fraction]:
    """B_2, B_4, ..., B_{2 count} exactly, from the standard recurrence."""
    b = [Fraction(1)]
    for m in range(1, 2 * count + 1):
        b.append(-sum((math.comb(m + 1, k) * b[k] for k in range(m)), Fraction(0)) / (m + 1))
    return [b[2 * k] for k in range(1, count + 1)]


_B2K = _bernoulli_even(12)


def _zeta(s: int) -> float:
    """Riemann zeta(s) for integer s >= 2 (Euler-Maclaurin after 16 terms, exact to rounding)."""
    n = 16
    head = math.fsum(k**-s for k in range(1, n))
    tail: float = n ** (1 - s) / (s - 1) + 0.5 * n**-s
    rising = Fraction(s)  # s (s+1) ... (s + 2j - 2)
    for j, b in enumerate(_B2K[:6], start=1):
        tail += float(b / math.factorial(2 * j) * rising) * n ** (-s - 2 * j + 1)
        rising *= (s + 2 * j - 1) * (s + 2 * j)
    return head + tail


# lgamma(1 + z) = -gamma z + sum_{k>=2} (-1)^k zeta(k) z^k / k, for |z| < 1.
_LGAMMA1_COEFFS = [-_EULER_GAMMA] + [(-1) ** k * _zeta(k) / k for k in range(2, 30)]


def _cot_derivative_polys(n_max: int) -> list[np.ndarray]:
    """P_n with d^n/dx^n cot(pi x) = pi^n P_n(cot(pi x)); coefficients, lowest first."""
    polys = [np.array([0.0, 1.0])]
    for _ in range(n_max):
        p = polys[-1]
        dp = np.polynomial.polynomial.polyder(p)
        polys.append(-np.polynomial.polynomial.polymul([1.0, 0.0, 1.0], dp))
    return polys


_COT_POLYS: list[np.ndarray] = _cot_derivative_polys(8)


def _cot_poly(n: int) -> np.ndarray:
    while len(_COT_POLYS) <= n:
        dp = np.polynomial.polynomial.polyder(_COT_POLYS[-1])
        _COT_POLYS.append(-np.polynomial.polynomial.polymul([1.0, 0.0, 1.0], dp))
    return _COT_POLYS[n]


def _horner(coeffs: Any, z: np.ndarray) -> np.ndarray:
    """sum_k coeffs[k] z^k."""
    out = np.zeros_like(z)
    for c in reversed(list(coeffs)):
        out = out * z + c
    return out


def _shift_above(x: np.ndarray, bound: float, term: Any) -> tuple[np.ndarray, np.ndarray]:
    """Apply the recurrence until every entry is >= bound: (shifted x, sum of term(x + j))."""
    z = x.copy()
    acc = np.zeros_like(x)
    low = z < bound
    while low.any():
        acc[low] += term(z[low])
        z[low] += 1.0
        low = z < bound
    return z, acc


# ----- numpy implementations ---------------------------------------------------------
def _by_range(x: np.ndarray, key: np.ndarray, table: Any, fun: Any) -> np.ndarray:
    """``fun(x, terms)`` with the number of terms looked up by the range ``key`` falls in."""
    out = np.empty_like(x)
    lower = -np.inf
    for upper, terms in table:
        sel = (key >= lower) & (key < upper)
        if sel.any():
            out[sel] = fun(x[sel], terms)
        lower = upper
    return out


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
    return _TWO_OVER_SQRT_PI * _exp_minus_square(x) * x * s  # type: ignore[no-any-return]


def _erf_series(x: np.ndarray) -> np.ndarray:
    return _by_range(x, np.abs(x), _SERIES_TERMS, _erf_series_n)


def _exp_minus_square(x: np.ndarray) -> np.ndarray:
    # exp(-x^2) with x^2 split exactly into hi^2 + (x - hi)(x + hi): avoids the
    # relative error x^2 * eps that a rounded x*x would carry into the result.
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
    return _by_range(x, x, _CF_TERMS, _erfcx_cf_n)


def _erfc_cf(x: np.ndarray) -> np.ndarray:
    return _exp_minus_square(x) * _erfcx_cf(x)  # type: ignore[no-any-return]


def np_erf(x: Any) -> Any:
    xd, dtype = _as_float64(x)
    out = np.full(xd.shape, np.nan)
    ax = np.abs(xd)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        small = ax < 2.0
        out[small] = _erf_series(xd[small])
        big = ax >= 2.0
        out[big] = np.copysign(1.0 - _erfc_cf(ax[big]), xd[big])
    out[np.isinf(xd)] = np.sign(xd[np.isinf(xd)])
    return _finish(out, dtype)


def np_erfc(x: Any) -> Any:
    xd, dtype = _as_float64(x)
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
    return _finish(out, dtype)


def np_erfcx(x: Any) -> Any:
    xd, dtype = _as_float64(x)
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
    return _finish(out, dtype)


def _log_ndtr_f64(xd: np.ndarray) -> np.ndarray:
    out = np.full(xd.shape, np.nan)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        upper = xd >= -1.0
        # log(1 - erfc(x / sqrt 2) / 2): accurate where the CDF is close to 1.
        out[upper] = np.log1p(-0.5 * np_erfc(xd[upper] / _SQRT2))
        lower = xd < -1.0
        # log(erfc(t) / 2) = log(erfcx(t) / 2) - t^2 with t = -x / sqrt 2: no underflow.
        t = -xd[lower] / _SQRT2
        out[lower] = np.log(0.5 * np_erfcx(t)) - t * t
    return out


def np_log_ndtr(x: Any) -> Any:
    xd, dtype = _as_float64(x)
    return _finish(_log_ndtr_f64(xd), dtype)


def _ndtri_lower(q: np.ndarray) -> np.ndarray:
    """ndtri(q) for 0 < q < 1/2 by Newton's method on log_ndtr(y) = log(q).

    log_ndtr is concave and the start -sqrt(-2 log q) lies left of the root, so
    the iterates increase monotonically to it (no overshoot, no bracketing).
    """
    target = np.log(q)
    y = -np.sqrt(-2.0 * target)
    for _ in range(40):
        lp = _log_ndtr_f64(y)
        log_pdf = -0.5 * y * y - _HALF_LOG_2PI
        step = (lp - target) * np.exp(lp - log_pdf)
        y = y - step
        # Convergence is quadratic: once every step is below 1e-9 the next one is at
        # rounding level (~1e-15), so finish with it.
        if np.all(np.abs(step) <= 1e-9 * np.maximum(np.abs(y), 1.0)):
            lp = _log_ndtr_f64(y)
            return y - (lp - target) * np.exp(lp + 0.5 * y * y + _HALF_LOG_2PI)  # type: ignore[no-any-return]
    return y  # type: ignore[no-any-return]


def np_ndtri(p: Any) -> Any:
    pd, dtype = _as_float64(p)
    out = np.full(pd.shape, np.nan)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        lower = (pd > 0) & (pd < 0.5)
        out[lower] = _ndtri_lower(pd[lower])
        upper = (pd >= 0.5) & (pd < 1)
        out[upper] = -_ndtri_lower(1.0 - pd[upper])  # 1 - p is exact for p >= 1/2
        out[upper & (pd == 0.5)] = 0.0
    out[pd == 0] = -np.inf
    out[pd == 1] = np.inf
    return _finish(out, dtype)


def np_erfinv(x: Any) -> Any:
    xd, dtype = _as_float64(x)
    out = np.full(xd.shape, np.nan)
    ax = np.abs(xd)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        small = ax < 0.5
        v = xd[small]
        # Newton on erf(y) = v from the Taylor start: keeps full relative accuracy near 0.
        y = _HALF_SQRT_PI * v * (1.0 + math.pi / 12.0 * v * v)
        for _ in range(6):
            y = y - (np_erf(y) - v) / (_TWO_OVER_SQRT_PI * np.exp(-y * y))
        out[small] = y
        # erfinv(x) = -ndtri((1 - |x|) / 2) / sqrt 2 with the sign of x; 1 - |x| is exact.
        big = (ax >= 0.5) & (ax <= 1.0)
        out[big] = np.copysign(-np_ndtri((1.0 - ax[big]) / 2.0) / _SQRT2, xd[big])
    return _finish(out, dtype)


_FACTORIALS = np.array([float(math.factorial(k)) for k in range(171)])


def np_gamma(x: Any) -> Any:
    xd, dtype = _as_float64(x)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        magnitude = np.array(np.exp(np.asarray(np_gammaln(xd), np.float64)))
        # Exact at the positive integers: gamma(n) = (n - 1)!.
        whole = (xd >= 1) & (xd <= 171) & (xd == np.round(xd))
        magnitude[whole] = _FACTORIALS[xd[whole].astype(np.int64) - 1]
        # Gamma is negative on (-1, 0), (-3, -2), ...: where floor(-x) is even, for x < 0.
        negative = (xd < 0) & (np.floor(-xd) % 2 == 0)
        out = np.where(negative, -magnitude, magnitude)
        out = np.where(xd == 0, np.copysign(np.inf, xd), out)
        out = np.where((xd < 0) & (xd == np.round(xd)), np.nan, out)  # poles: nan, like scipy
        out = np.where(xd == -np.inf, np.nan, out)
    return _finish(np.asarray(out, np.float64), dtype)


def _stirling_lgamma(z: np.ndarray) -> np.ndarray:
    # lgamma(z) ~ (z - 1/2) log z - z + log(2 pi)/2 + sum_k B_2k / (2k (2k-1) z^(2k-1)), z >= 10.
    r = 1.0 / z
    coeffs = [float(b / (2 * k * (2 * k - 1))) for k, b in enumerate(_B2K[:9], start=1)]
    return (z - 0.5) * np.log(z) - z + _HALF_LOG_2PI + r * _horner(coeffs, r * r)  # type: ignore[no-any-return]


def _lgamma_positive(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    near1 = np.abs(x - 1.0) < 0.2
    near2 = np.abs(x - 2.0) < 0.2
    z = x[near1] - 1.0
    out[near1] = z * _horner(_LGAMMA1_COEFFS, z)
    z = x[near2] - 2.0
    out[near2] = z * _horner(_LGAMMA1_COEFFS, z) + np.log1p(z)
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
    out[rest] = _stirling_lgamma(z) - np.log(prod)
    return out


def np_gammaln(x: Any) -> Any:
    xd, dtype = _as_float64(x)
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
    return _finish(out, dtype)


def _polygamma_asymptotic(n: int, z: np.ndarray) -> np.ndarray:
    """psi^(n)(z) for z >= 10 + 2n from the asymptotic (Bernoulli) series."""
    r = 1.0 / z
    if n == 0:
        coeffs = [float(b / (2 * k)) for k, b in enumerate(_B2K[:10], start=1)]
        return np.log(z) - 0.5 * r - r * r * _horner(coeffs, r * r)  # type: ignore[no-any-return]
    sign = (-1.0) ** (n + 1)
    lead = math.factorial(n - 1) * r**n + 0.5 * math.factorial(n) * r ** (n + 1)
    coeffs = [
        float(b * math.factorial(2 * k + n - 1) / math.factorial(2 * k))
        for k, b in enumerate(_B2K[:10], start=1)
    ]
    return sign * (lead + r ** (n + 2) * _horner(coeffs, r * r))  # type: ignore[no-any-return]


def _polygamma_positive(n: int, x: np.ndarray) -> np.ndarray:
    # psi^(n)(x) = psi^(n)(x + 1) + (-1)^(n+1) n! / x^(n+1): shift up, then the series.
    sign_fact = (-1.0) ** (n + 1) * math.factorial(n)
    if n == 0:
        z, acc = _shift_above(x, 10.0, lambda v: -1.0 / v)
    else:
        z, acc = _shift_above(x, 10.0 + 2 * n, lambda v: sign_fact / v ** (n + 1))
    return _polygamma_asymptotic(n, z) + acc  # type: ignore[no-any-return]


def np_polygamma(x: Any, n: int = 0) -> Any:
    xd, dtype = _as_float64(x)
    out = np.full(xd.shape, np.nan)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        pos = xd > 0
        out[pos] = _polygamma_positive(n, xd[pos])
        out[xd == np.inf] = np.inf if n == 0 else 0.0
        neg = (xd <= 0) & np.isfinite(xd)
        xn = xd[neg]
        frac = xn - np.round(xn)
        pole = frac == 0
        res = np.empty(xn.shape)
        # Reflection: psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) P_n(cot(pi x)).
        xs = xn[~pole]
        cot = 1.0 / np.tan(math.pi * frac[~pole])
        poly = np.polynomial.polynomial.polyval(cot, _cot_poly(n))
        res[~pole] = (-1.0) ** n * _polygamma_positive(n, 1.0 - xs) - math.pi ** (n + 1) * poly
        if n == 0:
            # scipy's conventions: psi(+0) = -inf, psi(-0) = +inf, nan at negative integers.
            at_zero = xn[pole] == 0
            res[pole] = np.where(at_zero, np.where(np.signbit(xn[pole]), np.inf, -np.inf), np.nan)
        else:
            res[pole] = np.inf if n % 2 else -np.inf
        out[neg] = res
    return _finish(out, dtype)


def np_expit(x: Any) -> Any:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    # exp(-|x|) <= 1 never overflows; the two branches are the same function.
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))[()]


def np_logit(p: Any) -> Any:
    p = np.asarray(p)
    if not np.issubdtype(p.dtype, np.inexact):
        p = p.astype(np.float64)
    # log(0) = -inf and log1p(-1) = -inf are the right limits at p = 0 and 1.
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.log(p) - np.log1p(-p))[()]


def np_xlogy(x: Any, y: Any, log_fun: Any = np.log) -> Any:
    x, y = np.asarray(x), np.asarray(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * log_fun(y)
    # 0 where x == 0 (even where log(y) is -inf), unless y is nan.
    return np.where((x == 0) & ~np.isnan(y), np.zeros((), out.dtype), out)[()]


def np_xlog1py(x: Any, y: Any) -> Any:
    return np_xlogy(x, y, np.log1p)


def np_entr(x: Any) -> Any:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = -x * np.log(x)
    return np.where(x > 0, inside, np.where(x == 0, 0, np.where(x < 0, -np.inf, x)))[()]


def np_rel_entr(x: Any, y: Any, kl: bool = False) -> Any:
    x, y = np.asarray(x), np.asarray(y)
    if not np.issubdtype(np.result_type(x, y), np.inexact):
        x = x.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = x * np.log(x / y)
        if kl:
            inside = inside - x + y
    zero = y if kl else np.zeros_like(inside)  # value at x == 0, y >= 0
    out = np.where((x > 0) & (y > 0), inside, np.where((x == 0) & (y >= 0), zero, np.inf))
    out = np.where(np.isnan(x) | np.isnan(y), np.nan, out)
    return out.astype(inside.dtype, copy=False)[()]


def np_kl_div(x: Any, y: Any) -> Any:
    return np_rel_entr(x, y, kl=True)


def np_softmax(x: Any, axis: Any = None) -> Any:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    with np.errstate(under="ignore", invalid="ignore"):
        e = np.exp(x - max_shift(x, axis))
        return e / np.sum(e, axis=axis, keepdims=True)


def np_log_softmax(x: Any, axis: Any = None) -> Any:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    shifted = x - max_shift(x, axis)
    with np.errstate(divide="ignore", under="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
