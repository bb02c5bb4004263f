"""Special functions (``scipy.special`` names and semantics), differentiable.

Everything is computed with numpy alone; SciPy is not needed. Each function is
a primitive with its own VJP and JVP rules, written with tapeflow operations so
higher derivatives work (``gammaln`` -> ``digamma`` -> ``polygamma(1)`` -> ...).

Numerics:

* ``logsumexp``, ``softmax`` and ``log_softmax`` subtract the maximum before
  exponentiating, so logits of any size (and ``-inf`` entries) give finite,
  correct values without warnings. ``log_softmax`` is its own primitive, not
  ``log(softmax(x))``, so it never takes the log of an underflowed 0.
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

from tapeflow.numpy._cotangent import dtype_of, shape_of
from tapeflow.numpy.elementwise import exp, log, log1p, where
from tapeflow.numpy.reductions import restore_reduced
from tapeflow.numpy.reductions import sum as _sum
from tapeflow.primitive import defjvp, defvjp, defvjp_direct, primitive

__all__ = [
    "logsumexp",
    "softmax",
    "log_softmax",
    "expit",
    "logit",
    "log_expit",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "ndtr",
    "log_ndtr",
    "ndtri",
    "gamma",
    "gammaln",
    "betaln",
    "digamma",
    "psi",
    "polygamma",
    "xlogy",
    "xlog1py",
    "entr",
    "rel_entr",
    "kl_div",
]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_EULER_GAMMA = 0.57721566490153286061
_SQRT2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_HALF_SQRT_PI = 0.5 * math.sqrt(math.pi)


def _float_dtype(x: Any) -> np.dtype[Any]:
    dtype = np.result_type(x)
    return dtype if np.issubdtype(dtype, np.inexact) else np.dtype(np.float64)


def _as_float64(x: Any) -> tuple[np.ndarray, np.dtype[Any]]:
    """``x`` as a float64 array, and the dtype the result should be given."""
    return np.asarray(x, dtype=np.float64), _float_dtype(x)


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


def _np_erf(x: Any) -> Any:
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


def _np_erfc(x: Any) -> Any:
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


def _np_erfcx(x: Any) -> Any:
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
        out[upper] = np.log1p(-0.5 * _np_erfc(xd[upper] / _SQRT2))
        lower = xd < -1.0
        # log(erfc(t) / 2) = log(erfcx(t) / 2) - t^2 with t = -x / sqrt 2: no underflow.
        t = -xd[lower] / _SQRT2
        out[lower] = np.log(0.5 * _np_erfcx(t)) - t * t
    return out


def _np_log_ndtr(x: Any) -> Any:
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


def _np_ndtri(p: Any) -> Any:
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


def _np_erfinv(x: Any) -> Any:
    xd, dtype = _as_float64(x)
    out = np.full(xd.shape, np.nan)
    ax = np.abs(xd)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        small = ax < 0.5
        v = xd[small]
        # Newton on erf(y) = v from the Taylor start: keeps full relative accuracy near 0.
        y = _HALF_SQRT_PI * v * (1.0 + math.pi / 12.0 * v * v)
        for _ in range(6):
            y = y - (_np_erf(y) - v) / (_TWO_OVER_SQRT_PI * np.exp(-y * y))
        out[small] = y
        # erfinv(x) = -ndtri((1 - |x|) / 2) / sqrt 2 with the sign of x; 1 - |x| is exact.
        big = (ax >= 0.5) & (ax <= 1.0)
        out[big] = np.copysign(-_np_ndtri((1.0 - ax[big]) / 2.0) / _SQRT2, xd[big])
    return _finish(out, dtype)


_FACTORIALS = np.array([float(math.factorial(k)) for k in range(171)])


def _np_gamma(x: Any) -> Any:
    xd, dtype = _as_float64(x)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        magnitude = np.array(np.exp(np.asarray(_np_gammaln(xd), np.float64)))
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


def _np_gammaln(x: Any) -> Any:
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


def _np_polygamma(x: Any, n: int = 0) -> Any:
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


def _np_expit(x: Any) -> Any:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    # exp(-|x|) <= 1 never overflows; the two branches are the same function.
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))[()]


def _np_logit(p: Any) -> Any:
    p = np.asarray(p)
    if not np.issubdtype(p.dtype, np.inexact):
        p = p.astype(np.float64)
    # log(0) = -inf and log1p(-1) = -inf are the right limits at p = 0 and 1.
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.log(p) - np.log1p(-p))[()]


def _np_xlogy(x: Any, y: Any, log_fun: Any = np.log) -> Any:
    x, y = np.asarray(x), np.asarray(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * log_fun(y)
    # 0 where x == 0 (even where log(y) is -inf), unless y is nan.
    return np.where((x == 0) & ~np.isnan(y), np.zeros((), out.dtype), out)[()]


def _np_xlog1py(x: Any, y: Any) -> Any:
    return _np_xlogy(x, y, np.log1p)


def _np_entr(x: Any) -> Any:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = -x * np.log(x)
    return np.where(x > 0, inside, np.where(x == 0, 0, np.where(x < 0, -np.inf, x)))[()]


def _np_rel_entr(x: Any, y: Any, kl: bool = False) -> Any:
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


def _np_kl_div(x: Any, y: Any) -> Any:
    return _np_rel_entr(x, y, kl=True)


def _lse_shift(a: np.ndarray, axis: Any) -> np.ndarray:
    """The max along ``axis`` (keepdims), 0 where it is not finite (all -inf rows...)."""
    m = np.max(a, axis=axis, keepdims=True, initial=-np.inf)
    return np.where(np.isfinite(m), m, np.zeros((), m.dtype))


def _np_logsumexp(a: Any, b: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.inexact):
        a = a.astype(np.float64)
    m = _lse_shift(a, axis)
    with np.errstate(divide="ignore", under="ignore"):
        e = np.exp(a - m)
        if b is not None:
            e = b * e
        out = np.log(np.sum(e, axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis) if axis is not None else out.reshape(())
    return out[()]


def _np_softmax(x: Any, axis: Any = None) -> Any:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    with np.errstate(under="ignore", invalid="ignore"):
        e = np.exp(x - _lse_shift(x, axis))
        return e / np.sum(e, axis=axis, keepdims=True)


def _np_log_softmax(x: Any, axis: Any = None) -> Any:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    shifted = x - _lse_shift(x, axis)
    with np.errstate(divide="ignore", under="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


# ----- primitives and their rules -------------------------------------------------
_logsumexp = primitive(_np_logsumexp, name="scipy.special.logsumexp")


def _lse_weights(ans, a, axis, keepdims):  # type: ignore[no-untyped-def]
    # d logsumexp / d a_i = exp(a_i - ans): the softmax, never above 1. Where the
    # answer is -inf (every term is 0) the weights are 0 rather than nan.
    full = restore_reduced(ans, shape_of(a), axis, keepdims)
    return exp(a - where(full == -np.inf, 0, full))


def _lse_vjp_a(ans, a, b=None, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
    w = _lse_weights(ans, a, axis, keepdims)
    if b is not None:
        w = w * b
    return lambda g: restore_reduced(g, shape_of(a), axis, keepdims) * w


def _lse_vjp_b(ans, a, b, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
    w = _lse_weights(ans, a, axis, keepdims)
    return lambda g: restore_reduced(g, shape_of(a), axis, keepdims) * w


def _lse_jvp_a(t, ans, a, b=None, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
    w = _lse_weights(ans, a, axis, keepdims)
    if b is not None:
        w = w * b
    return _sum(t * w, axis=axis, keepdims=keepdims)


def _lse_jvp_b(t, ans, a, b, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
    return _sum(t * _lse_weights(ans, a, axis, keepdims), axis=axis, keepdims=keepdims)


defvjp(_logsumexp, _lse_vjp_a, _lse_vjp_b)
defjvp(_logsumexp, _lse_jvp_a, _lse_jvp_b)


def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False) -> Any:
    """``log(sum(b * exp(a)))`` along ``axis``, computed without overflow.

    The maximum is subtracted before exponentiating, so huge logits and ``-inf``
    entries are fine (a row of only ``-inf`` gives ``-inf`` and zero gradient).
    The gradient with respect to ``a`` is the softmax (times ``b``).

    Args:
        a: the array.
        axis: int, tuple of ints or None (all axes).
        b: optional non-negative weights broadcastable to ``a`` (differentiable).
        keepdims: keep the reduced axes with length 1.

    Example:
        >>> float(logsumexp(np.array([1000.0, 1000.0])))  # 1000 + log 2
        1000.6931471805599
    """
    if b is not None:
        from tapeflow.numpy.shape import broadcast_to

        shape = np.broadcast_shapes(shape_of(a), shape_of(b))
        if shape_of(a) != shape:
            a = broadcast_to(a, shape)
        if shape_of(b) != shape:
            b = broadcast_to(b, shape)
    return _logsumexp(a, b, axis=axis, keepdims=keepdims)


_softmax = primitive(_np_softmax, name="scipy.special.softmax")


def _softmax_back(ans, g, axis):  # type: ignore[no-untyped-def]
    return ans * (g - _sum(g * ans, axis=axis, keepdims=True))


defvjp_direct(_softmax, lambda g, ans, x, axis=None: _softmax_back(ans, g, axis))
defjvp(_softmax, lambda t, ans, x, axis=None: _softmax_back(ans, t, axis))


def softmax(x: Any, axis: Any = None) -> Any:
    """``exp(x) / sum(exp(x))`` along ``axis`` (scipy.special.softmax), overflow-free.

    As in SciPy, ``axis=None`` normalizes over the whole array; pass ``axis=-1``
    for row-wise class probabilities.

    Example:
        >>> softmax(np.array([0.0, np.log(3.0)]))
        array([0.25, 0.75])
    """
    return _softmax(x, axis=axis)


_log_softmax = primitive(_np_log_softmax, name="scipy.special.log_softmax")
defvjp_direct(
    _log_softmax,
    lambda g, ans, x, axis=None: g - exp(ans) * _sum(g, axis=axis, keepdims=True),
)
defjvp(
    _log_softmax,
    lambda t, ans, x, axis=None: t - _sum(exp(ans) * t, axis=axis, keepdims=True),
)


def log_softmax(x: Any, axis: Any = None) -> Any:
    """``x - logsumexp(x)`` along ``axis`` (scipy.special.log_softmax), one stable primitive.

    As in SciPy, ``axis=None`` normalizes over the whole array. ``-inf`` entries
    stay ``-inf``; finite entries stay finite however large the logits.

    Example:
        >>> log_softmax(np.array([0.0, 1e4]))
        array([-10000.,      0.])
    """
    return _log_softmax(x, axis=axis)


expit = primitive(_np_expit, name="scipy.special.expit")
# sigma'(x) = sigma(x) sigma(-x); sigma(-x) rather than 1 - sigma(x) keeps the
# tiny slope accurate for large x instead of rounding it to 0.
defvjp_direct(expit, lambda g, ans, x: g * ans * expit(-x))
defjvp(expit, lambda t, ans, x: t * ans * expit(-x))
expit.__doc__ = """The logistic sigmoid ``1 / (1 + exp(-x))``, without overflow for any ``x``.

    Example:
        >>> expit(np.array([-1000.0, 0.0, 1000.0]))
        array([0. , 0.5, 1. ])
    """

logit = primitive(_np_logit, name="scipy.special.logit")
defvjp_direct(logit, lambda g, ans, p: g / (p * (1 - p)))
defjvp(logit, lambda t, ans, p: t / (p * (1 - p)))
logit.__doc__ = """``log(p / (1 - p))``, the inverse of :func:`expit` (-inf at 0, inf at 1).

    Example:
        >>> float(logit(0.5))
        0.0
    """


def log_expit(x: Any) -> Any:
    """``log(expit(x)) = -log(1 + exp(-x))``, stable for any ``x`` (via logaddexp).

    Example:
        >>> float(log_expit(-1000.0))
        -1000.0
    """
    from tapeflow.numpy.elementwise import logaddexp, negative

    return negative(logaddexp(0.0, negative(x)))


erf = primitive(_np_erf, name="scipy.special.erf")
defvjp_direct(erf, lambda g, ans, x: g * _TWO_OVER_SQRT_PI * exp(-x * x))
defjvp(erf, lambda t, ans, x: t * _TWO_OVER_SQRT_PI * exp(-x * x))
erf.__doc__ = """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``.

    Example:
        >>> round(float(erf(1.0)), 10)
        0.8427007929
    """

erfc = primitive(_np_erfc, name="scipy.special.erfc")
defvjp_direct(erfc, lambda g, ans, x: -g * _TWO_OVER_SQRT_PI * exp(-x * x))
defjvp(erfc, lambda t, ans, x: -t * _TWO_OVER_SQRT_PI * exp(-x * x))
erfc.__doc__ = """``1 - erf(x)``, accurate in the tail where ``erf(x)`` rounds to 1.

    Example:
        >>> float(erfc(10.0))
        2.0884875837625452e-45
    """

erfcx = primitive(_np_erfcx, name="scipy.special.erfcx")
# erfcx'(x) = 2 x erfcx(x) - 2 / sqrt(pi)
defvjp_direct(erfcx, lambda g, ans, x: g * (2 * x * ans - _TWO_OVER_SQRT_PI))
defjvp(erfcx, lambda t, ans, x: t * (2 * x * ans - _TWO_OVER_SQRT_PI))
erfcx.__doc__ = """The scaled complementary error function ``exp(x^2) erfc(x)``, finite for large x.

    Example:
        >>> round(float(erfcx(30.0)), 15)  # erfc(30) itself underflows to 0
        0.018795888861417
    """

erfinv = primitive(_np_erfinv, name="scipy.special.erfinv")
# d erfinv(x) / dx = sqrt(pi) / 2 * exp(erfinv(x)^2)
defvjp_direct(erfinv, lambda g, ans, x: g * _HALF_SQRT_PI * exp(ans * ans))
defjvp(erfinv, lambda t, ans, x: t * _HALF_SQRT_PI * exp(ans * ans))
erfinv.__doc__ = """The inverse of :func:`erf` on (-1, 1) (+-inf at +-1, nan outside).

    Example:
        >>> round(float(erfinv(0.5)), 12)
        0.476936276204
    """


def ndtr(x: Any) -> Any:
    """The standard normal CDF ``(1 + erf(x / sqrt 2)) / 2``, accurate in both tails.

    Example:
        >>> float(ndtr(0.0))
        0.5
    """
    from tapeflow.numpy.elementwise import multiply

    return multiply(erfc(multiply(x, -1 / _SQRT2)), 0.5)


log_ndtr = primitive(_np_log_ndtr, name="scipy.special.log_ndtr")
# d/dx log Phi(x) = phi(x) / Phi(x) = sqrt(2/pi) / erfcx(-x / sqrt 2): no cancellation,
# and 0 (not nan) where erfcx overflows for large x.
defvjp_direct(log_ndtr, lambda g, ans, x: g * _SQRT_2_OVER_PI / erfcx(x * (-1 / _SQRT2)))
defjvp(log_ndtr, lambda t, ans, x: t * _SQRT_2_OVER_PI / erfcx(x * (-1 / _SQRT2)))
log_ndtr.__doc__ = """``log(ndtr(x))``, finite far into the lower tail (no underflow to log 0).

    Example:
        >>> round(float(log_ndtr(-40.0)), 6)
        -804.608442
    """

ndtri = primitive(_np_ndtri, name="scipy.special.ndtri")
# d ndtri(p) / dp = 1 / phi(ndtri(p)) = sqrt(2 pi) exp(ndtri(p)^2 / 2)
defvjp_direct(ndtri, lambda g, ans, p: g * _SQRT_2PI * exp(0.5 * ans * ans))
defjvp(ndtri, lambda t, ans, p: t * _SQRT_2PI * exp(0.5 * ans * ans))
ndtri.__doc__ = """The inverse of :func:`ndtr` (the standard normal quantile function).

    Example:
        >>> round(float(ndtri(0.975)), 9)
        1.959963985
    """

_polygamma = primitive(_np_polygamma, name="scipy.special.polygamma")
defvjp_direct(_polygamma, lambda g, ans, x, n=0: g * _polygamma(x, n=n + 1))
defjvp(_polygamma, lambda t, ans, x, n=0: t * _polygamma(x, n=n + 1))


def polygamma(n: int, x: Any) -> Any:
    """The ``n``-th derivative of :func:`digamma` (``n`` a non-negative int, static).

    Example:
        >>> round(float(polygamma(1, 1.0)), 12)  # pi^2 / 6
        1.644934066848
    """
    if isinstance(n, (bool, np.bool_)) or int(n) != n or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative integer, got {n!r}")
    return _polygamma(x, n=int(n))


def digamma(x: Any) -> Any:
    """The logarithmic derivative of the gamma function, ``d/dx gammaln(x)``.

    Example:
        >>> round(float(digamma(1.0)), 12)  # -Euler's gamma
        -0.577215664902
    """
    return _polygamma(x, n=0)


psi = digamma

gammaln = primitive(_np_gammaln, name="scipy.special.gammaln")
defvjp_direct(gammaln, lambda g, ans, x: g * digamma(x))
defjvp(gammaln, lambda t, ans, x: t * digamma(x))
gammaln.__doc__ = """``log(abs(gamma(x)))``, finite for large ``x`` where gamma overflows.

    Example:
        >>> round(float(gammaln(10.0)), 9)  # log(9!)
        12.80182748
    """


gamma = primitive(_np_gamma, name="scipy.special.gamma")
defvjp_direct(gamma, lambda g, ans, x: g * ans * digamma(x))
defjvp(gamma, lambda t, ans, x: t * ans * digamma(x))
gamma.__doc__ = """The gamma function (``inf`` past about 171.6; nan at the negative integers).

    Example:
        >>> float(gamma(5.0))
        24.0
    """


def betaln(a: Any, b: Any) -> Any:
    """``log(abs(beta(a, b)))`` = ``gammaln(a) + gammaln(b) - gammaln(a + b)``.

    Example:
        >>> round(float(betaln(2.0, 3.0)), 11)  # log(1/12)
        -2.48490664979
    """
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def _nonzero_where(mask, y):  # type: ignore[no-untyped-def]
    return where(mask, 1, y)


# d/dx x log y = log y and d/dy = x / y, with the x == 0 convention carried over:
# at x == 0 the y-slope is 0, and where x == y == 0 the x-slope is taken as 0.
xlogy = primitive(_np_xlogy, name="scipy.special.xlogy", broadcasts=True)
defvjp_direct(
    xlogy,
    lambda g, ans, x, y: g * log(_nonzero_where((x == 0) & (y == 0), y)),
    lambda g, ans, x, y: g * x / _nonzero_where(x == 0, y),
)
defjvp(
    xlogy,
    lambda t, ans, x, y: t * log(_nonzero_where((x == 0) & (y == 0), y)),
    lambda t, ans, x, y: t * x / _nonzero_where(x == 0, y),
)
xlogy.__doc__ = """``x * log(y)``, and 0 where ``x == 0`` (even for ``y == 0``).

    Example:
        >>> xlogy(np.array([0.0, 2.0]), np.array([0.0, np.e]))
        array([0., 2.])
    """

xlog1py = primitive(_np_xlog1py, name="scipy.special.xlog1py", broadcasts=True)
defvjp_direct(
    xlog1py,
    lambda g, ans, x, y: g * log1p(_nonzero_where((x == 0) & (y == -1), y)),
    lambda g, ans, x, y: g * x / (_nonzero_where(x == 0, y) + 1),
)
defjvp(
    xlog1py,
    lambda t, ans, x, y: t * log1p(_nonzero_where((x == 0) & (y == -1), y)),
    lambda t, ans, x, y: t * x / (_nonzero_where(x == 0, y) + 1),
)
xlog1py.__doc__ = """``x * log1p(y)``, and 0 where ``x == 0`` (even for ``y == -1``).

    Example:
        >>> xlog1py(np.array([0.0, 1.0]), np.array([-1.0, 0.0]))
        array([0., 0.])
    """


def _entr_slope(x):  # type: ignore[no-untyped-def]
    # -(1 + log x) for x > 0; +inf at 0 (the one-sided limit); 0 where entr is -inf.
    dtype = _float_dtype(dtype_of(x))  # constants in x's dtype: float32 stays float32
    inside = -(log(where(x > 0, x, 1)) + 1)
    return where(x > 0, inside, where(x == 0, np.array(np.inf, dtype), np.array(0, dtype)))


entr = primitive(_np_entr, name="scipy.special.entr")
defvjp_direct(entr, lambda g, ans, x: g * _entr_slope(x))
defjvp(entr, lambda t, ans, x: t * _entr_slope(x))
entr.__doc__ = """The entropy term ``-x log x`` for ``x > 0``, 0 at 0 and ``-inf`` for ``x < 0``.

    Example:
        >>> float(entr(0.5))
        0.34657359027997264
    """


def _rel_entr_mask(x, y):  # type: ignore[no-untyped-def]
    return (x > 0) & (y > 0)


def _log_ratio(x, y):  # type: ignore[no-untyped-def]
    """log(x / y) where both are positive, 0 elsewhere (guarded so no log of 0 is taken)."""
    inside = _rel_entr_mask(x, y)
    return where(inside, log(where(inside, x, 1) / where(inside, y, 1)), 0)


def _ratio(x, y):  # type: ignore[no-untyped-def]
    """x / y where both are positive, 0 elsewhere."""
    inside = _rel_entr_mask(x, y)
    return where(inside, x / where(inside, y, 1), 0)


# Slopes inside x > 0, y > 0. Outside, where the value is 0 or inf, they are taken as 0
# (the one-sided x-slope at x = 0 is really -inf); kl_div's y-slope is 1 along x = 0.
rel_entr = primitive(_np_rel_entr, name="scipy.special.rel_entr", broadcasts=True)
defvjp_direct(
    rel_entr,
    lambda g, ans, x, y: g * where(_rel_entr_mask(x, y), _log_ratio(x, y) + 1, 0),
    lambda g, ans, x, y: -g * _ratio(x, y),
)
defjvp(
    rel_entr,
    lambda t, ans, x, y: t * where(_rel_entr_mask(x, y), _log_ratio(x, y) + 1, 0),
    lambda t, ans, x, y: -t * _ratio(x, y),
)
rel_entr.__doc__ = """``x log(x / y)`` for x, y > 0; 0 at x == 0 (y >= 0); inf elsewhere.

    Example:
        >>> float(rel_entr(1.0, np.e))
        -1.0
    """


def _kl_div_y_slope(x, y):  # type: ignore[no-untyped-def]
    # 1 - x / y inside; 1 along x == 0 (where kl_div(0, y) = y); 0 where the value is inf.
    return where(_rel_entr_mask(x, y) | ((x == 0) & (y >= 0)), 1 - _ratio(x, y), 0)


kl_div = primitive(_np_kl_div, name="scipy.special.kl_div", broadcasts=True)
defvjp_direct(
    kl_div,
    lambda g, ans, x, y: g * _log_ratio(x, y),
    lambda g, ans, x, y: g * _kl_div_y_slope(x, y),
)
defjvp(
    kl_div,
    lambda t, ans, x, y: t * _log_ratio(x, y),
    lambda t, ans, x, y: t * _kl_div_y_slope(x, y),
)
kl_div.__doc__ = """``x log(x / y) - x + y`` for x, y > 0; ``y`` at x == 0 (y >= 0); inf elsewhere.

    Example:
        >>> float(kl_div(1.0, 1.0))
        0.0
    """
