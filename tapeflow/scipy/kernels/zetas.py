"""The Hurwitz and Riemann zeta functions and the dilogarithm (``spence``), on plain arrays.

* ``zeta(s, q)`` (Hurwitz, ``s > 1``, ``q > 0``): the Euler-Maclaurin formula after a
  head sum that brings ``q`` past 20, with 12 Bernoulli corrections. Run on jets in ``s``
  (:mod:`~tapeflow.scipy.kernels.jets`) it gives the derivatives in ``s``; those in ``q``
  are closed-form, ``d^k/dq^k zeta(s, q) = (-1)^k s (s+1) ... (s+k-1) zeta(s + k, q)``.
* ``zeta(s)`` (Riemann, any real ``s``): the same formula at ``q = 1`` for ``s >= -1/2``, the
  reflection ``zeta(s) = 2^s pi^(s-1) sin(pi s / 2) Gamma(1 - s) zeta(1 - s)`` (in log
  form, so nothing overflows before the end) for ``s < -1/2``. Complex values come from
  SciPy; their derivatives from the same jets with complex coefficients.
* ``spence(z) = Li2(1 - z)``: the series of the dilogarithm in ``u = -log(1 - x)`` (with
  Bernoulli numbers, fast for ``|u| <= log 2``) after the reflection and inversion
  formulas bring the argument there. Complex values come from SciPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.scipy.backend import scipy_module
from tapeflow.scipy.kernels import jets
from tapeflow.scipy.kernels.common import (
    B2K,
    as_float64,
    finish,
    float_dtype,
    horner,
    is_complex_input,
    scipy_complex,
)
from tapeflow.scipy.kernels.gammas import lgamma_f64, polygamma_f
from tapeflow.scipy.kernels.jets import Jet

__all__ = ["np_hurwitz_zeta", "np_riemann_zeta", "np_spence"]

_HEAD = 20.0  # the head sum brings q past this
_CORRECTIONS = [float(b / math.factorial(2 * j)) for j, b in enumerate(B2K[:12], start=1)]


def _power(base: Any, exponent: Jet) -> Jet:
    """base ** exponent for a positive constant base."""
    return jets.exp(exponent * np.log(base))


def _hurwitz_jet(s: Jet, q: np.ndarray) -> Jet:
    """zeta(s, q) for q > 0 and Re s > -20 (s != 1), by Euler-Maclaurin."""
    # More head terms far from the real axis, where the corrections grow with |s|.
    reach = np.maximum(_HEAD, 1.5 * np.abs(np.imag(s.value)))
    count = np.maximum(np.ceil(reach - q), 0.0)
    head = s * 0.0
    for n in range(int(count.max(initial=0.0))):
        head = head + _power(n + q, -s) * (n < count)
    w = q + count
    w_minus_s = _power(w, -s)
    tail = (w_minus_s * w) / (s - 1.0) + w_minus_s * 0.5
    rising = s  # s (s+1) ... (s + 2j - 2)
    for j, correction in enumerate(_CORRECTIONS, start=1):
        tail = tail + rising * w_minus_s * (correction / w ** (2 * j - 1))
        rising = rising * (s + (2 * j - 1)) * (s + 2 * j)
    out: Jet = head + tail
    return out


def _lgamma_jet(j: Jet) -> Jet:
    v = j.value
    if np.iscomplexobj(v):
        # exp of it is all that is used: any branch of log Gamma serves.
        value = scipy_module("special", "zeta of complex input").loggamma(v)
    else:
        value = lgamma_f64(v)
    coeffs = [value] + [
        polygamma_f(k - 1, v) / math.factorial(k) for k in range(1, j.basis.degree + 1)
    ]
    return j.compose(coeffs)


def _riemann_jet(s: Jet) -> Jet:
    # Reflection left of -1/2 only: near 0 it would multiply sin(pi s / 2) ~ s by the pole
    # of zeta(1 - s), whose argument 1 - s has lost the low digits of s.
    left = np.real(s.value) < -0.5
    with np.errstate(all="ignore"):
        right = _hurwitz_jet(jets.where(left, s * 0.0 + 2.0, s), np.ones(np.shape(s.value)))
        r = jets.where(left, s, s * 0.0 - 1.0)  # s < -1/2 here
        log_factor = r * math.log(2.0) + (r - 1.0) * math.log(math.pi) + _lgamma_jet(1.0 - r)
        reflected = (
            jets.exp(log_factor)
            * jets.sin(r * (math.pi / 2))
            * _hurwitz_jet(1.0 - r, np.ones(np.shape(s.value)))
        )
    return jets.where(left, reflected, right)


def _rising(s: Jet, k: int) -> Jet:
    out = s * 0.0 + 1.0
    for i in range(k):
        out = out * (s + float(i))
    return out


def np_hurwitz_zeta(x: Any, q: Any, orders: tuple[int, int] = (0, 0)) -> Any:
    dtype = float_dtype(x, q)
    xd, qd = np.broadcast_arrays(as_float64(x, "zeta"), as_float64(q, "zeta"))
    shape = xd.shape
    xd, qd = xd.ravel(), qd.ravel()
    i, k = orders
    out = np.full(xd.shape, np.nan)
    inside = (xd > 1) & (qd > 0) & np.isfinite(xd) & np.isfinite(qd)
    if inside.any():
        s = Jet.variable(xd[inside], 0, (i,))
        # d^k/dq^k zeta(s, q) = (-1)^k (s)_k zeta(s + k, q), differentiated i times in s.
        value = _rising(s, k) * _hurwitz_jet(s + float(k), qd[inside]) * (-1.0) ** k
        out[inside] = value.derivative((i,))
    if orders == (0, 0):
        out[(xd == 1) & (qd > 0)] = np.inf
        out[(xd > 1) & (qd == np.inf)] = 0.0
        # q <= 0 (SciPy's values): a pole at the integers, and for integer x a finite sum
        # brought to positive q.
        neg = (qd <= 0) & (xd > 1) & (xd == np.round(xd))
        out[neg & (qd == np.round(qd))] = np.inf
        shifted = neg & (qd != np.round(qd))
        if shifted.any():
            xs, qs = xd[shifted], qd[shifted]
            steps = np.ceil(-qs)
            total = np.zeros_like(qs)
            for n in range(int(steps.max())):
                total += np.where(n < steps, np.power(qs + n, -xs), 0.0)
            total += np_hurwitz_zeta(xs, qs + steps)
            out[shifted] = total
    return finish(out.reshape(shape), dtype)


def np_riemann_zeta(x: Any, orders: tuple[int] = (0,)) -> Any:
    dtype = float_dtype(x)
    if is_complex_input(x) and orders == (0,):
        return scipy_complex("zeta", x)
    wide = np.asarray(x, np.complex128 if is_complex_input(x) else np.float64)
    shape = wide.shape
    s = wide.ravel()
    out = np.full(s.shape, np.nan, s.dtype)
    inside = np.isfinite(s) & (s != 1)
    if inside.any():
        jet = Jet.variable(s[inside], 0, orders)
        out[inside] = _riemann_jet(jet).derivative(orders)
    if orders == (0,) and not np.iscomplexobj(s):
        out[s == 1] = np.inf
        out[s == np.inf] = 1.0
        out[s == -np.inf] = np.nan
        # The trivial zeros are exact zeros (sin(pi s / 2) rounds to 1e-16 there).
        out[(s < 0) & (s % 2 == 0)] = 0.0
    return finish(out.reshape(shape), dtype)


# ----- spence --------------------------------------------------------------------------
_LI2_COEFFS = [float(b / math.factorial(2 * k + 1)) for k, b in enumerate(B2K, start=1)]


def _li2_series(u: np.ndarray) -> np.ndarray:
    """Li2(x) with u = -log(1 - x), |u| <= log 2: sum_n B_n u^(n+1) / (n+1)!."""
    u2 = u * u
    out: np.ndarray = u - 0.25 * u2 + u * u2 * horner(_LI2_COEFFS, u2)
    return out


def np_spence(z: Any) -> Any:
    if is_complex_input(z):
        return scipy_complex("spence", z)
    zd = as_float64(z, "spence")
    shape = zd.shape
    zd = zd.ravel()
    out = np.full(zd.shape, np.nan)
    pi2_6 = math.pi**2 / 6
    with np.errstate(all="ignore"):
        mid = (zd >= 0.5) & (zd <= 2.0)  # x = 1 - z in [-1, 0.5], u = -log(z)
        out[mid] = _li2_series(-np.log(zd[mid]))
        low = (zd > 0) & (zd < 0.5)  # reflection: Li2(1-z) = pi^2/6 - log z log(1-z) - Li2(z)
        zl = zd[low]
        out[low] = pi2_6 - np.log(zl) * np.log1p(-zl) - _li2_series(-np.log1p(-zl))
        high = (zd > 2.0) & np.isfinite(zd)  # inversion, with w = 1/(1-z) in (-1, 0)
        zh = zd[high]
        out[high] = -pi2_6 - 0.5 * np.log(zh - 1.0) ** 2 - _li2_series(np.log1p(-1.0 / zh))
    out[zd == 0] = pi2_6
    return finish(out.reshape(shape), float_dtype(z))
