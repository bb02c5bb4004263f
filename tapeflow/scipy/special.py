"""Special functions (``scipy.special`` names and semantics), differentiable.

Everything is computed with numpy alone; SciPy is not needed. Each function is
a primitive with its own derivative, written with tapeflow operations so higher
derivatives work (``gammaln`` -> ``digamma`` -> ``polygamma(1)`` -> ...). What the
primitives compute, and how accurately, is in :mod:`tapeflow.scipy.kernels`;
``logsumexp`` is ``tapeflow.numpy.logsumexp``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.batching import axis_rule
from tapeflow.core.primitive import defbatch, defelementwise, defjvp, defvjp, primitive
from tapeflow.numpy.elementwise import exp, log, log1p, logaddexp, multiply, negative, where
from tapeflow.numpy.meta import dtype_of
from tapeflow.numpy.reductions import logsumexp
from tapeflow.numpy.reductions import sum as _sum
from tapeflow.scipy.kernels import (
    float_dtype,
    np_entr,
    np_erf,
    np_erfc,
    np_erfcx,
    np_erfinv,
    np_expit,
    np_gamma,
    np_gammaln,
    np_kl_div,
    np_log_ndtr,
    np_log_softmax,
    np_logit,
    np_ndtri,
    np_polygamma,
    np_rel_entr,
    np_softmax,
    np_xlog1py,
    np_xlogy,
)

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
_SQRT2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_HALF_SQRT_PI = 0.5 * math.sqrt(math.pi)


_softmax = primitive(np_softmax, name="scipy.special.softmax")


def _softmax_back(ans, g, axis):  # type: ignore[no-untyped-def]
    return ans * (g - _sum(g * ans, axis=axis, keepdims=True))


# The Jacobian is symmetric, so one function serves both modes (softmax is not elementwise).
defvjp(_softmax, lambda ans, x, axis=None: lambda g: _softmax_back(ans, g, axis))
defjvp(_softmax, lambda t, ans, x, axis=None: _softmax_back(ans, t, axis))
defbatch(_softmax, axis_rule(_softmax, "all"))


def softmax(x: Any, axis: Any = None) -> Any:
    """``exp(x) / sum(exp(x))`` along ``axis`` (scipy.special.softmax), overflow-free.

    As in SciPy, ``axis=None`` normalizes over the whole array; pass ``axis=-1``
    for row-wise class probabilities.

    Example:
        >>> softmax(np.array([0.0, np.log(3.0)]))
        array([0.25, 0.75])
    """
    return _softmax(x, axis=axis)


_log_softmax = primitive(np_log_softmax, name="scipy.special.log_softmax")
defvjp(
    _log_softmax,
    lambda ans, x, axis=None: lambda g: g - exp(ans) * _sum(g, axis=axis, keepdims=True),
)
defjvp(
    _log_softmax,
    lambda t, ans, x, axis=None: t - _sum(exp(ans) * t, axis=axis, keepdims=True),
)
defbatch(_log_softmax, axis_rule(_log_softmax, "all"))


def log_softmax(x: Any, axis: Any = None) -> Any:
    """``x - logsumexp(x)`` along ``axis`` (scipy.special.log_softmax), one stable primitive.

    As in SciPy, ``axis=None`` normalizes over the whole array. ``-inf`` entries
    stay ``-inf``; finite entries stay finite however large the logits.

    Example:
        >>> log_softmax(np.array([0.0, 1e4]))
        array([-10000.,      0.])
    """
    return _log_softmax(x, axis=axis)


expit = primitive(np_expit, name="scipy.special.expit")
# sigma'(x) = sigma(x) sigma(-x); sigma(-x) rather than 1 - sigma(x) keeps the
# tiny slope accurate for large x instead of rounding it to 0.
defelementwise(expit, lambda u, ans, x: u * ans * expit(-x))
expit.__doc__ = """The logistic sigmoid ``1 / (1 + exp(-x))``, without overflow for any ``x``.

    Example:
        >>> expit(np.array([-1000.0, 0.0, 1000.0]))
        array([0. , 0.5, 1. ])
    """

logit = primitive(np_logit, name="scipy.special.logit")
defelementwise(logit, lambda u, ans, p: u / (p * (1 - p)))
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
    return negative(logaddexp(0.0, negative(x)))


erf = primitive(np_erf, name="scipy.special.erf")
defelementwise(erf, lambda u, ans, x: u * _TWO_OVER_SQRT_PI * exp(-x * x))
erf.__doc__ = """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``.

    Example:
        >>> round(float(erf(1.0)), 10)
        0.8427007929
    """

erfc = primitive(np_erfc, name="scipy.special.erfc")
defelementwise(erfc, lambda u, ans, x: -u * _TWO_OVER_SQRT_PI * exp(-x * x))
erfc.__doc__ = """``1 - erf(x)``, accurate in the tail where ``erf(x)`` rounds to 1.

    Example:
        >>> float(erfc(10.0))
        2.0884875837625452e-45
    """

erfcx = primitive(np_erfcx, name="scipy.special.erfcx")
# erfcx'(x) = 2 x erfcx(x) - 2 / sqrt(pi)
defelementwise(erfcx, lambda u, ans, x: u * (2 * x * ans - _TWO_OVER_SQRT_PI))
erfcx.__doc__ = """The scaled complementary error function ``exp(x^2) erfc(x)``, finite for large x.

    Example:
        >>> round(float(erfcx(30.0)), 15)  # erfc(30) itself underflows to 0
        0.018795888861417
    """

erfinv = primitive(np_erfinv, name="scipy.special.erfinv")
# d erfinv(x) / dx = sqrt(pi) / 2 * exp(erfinv(x)^2)
defelementwise(erfinv, lambda u, ans, x: u * _HALF_SQRT_PI * exp(ans * ans))
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
    return multiply(erfc(multiply(x, -1 / _SQRT2)), 0.5)


log_ndtr = primitive(np_log_ndtr, name="scipy.special.log_ndtr")
# d/dx log Phi(x) = phi(x) / Phi(x) = sqrt(2/pi) / erfcx(-x / sqrt 2): no cancellation,
# and 0 (not nan) where erfcx overflows for large x.
defelementwise(log_ndtr, lambda u, ans, x: u * _SQRT_2_OVER_PI / erfcx(x * (-1 / _SQRT2)))
log_ndtr.__doc__ = """``log(ndtr(x))``, finite far into the lower tail (no underflow to log 0).

    Example:
        >>> round(float(log_ndtr(-40.0)), 6)
        -804.608442
    """

ndtri = primitive(np_ndtri, name="scipy.special.ndtri")
# d ndtri(p) / dp = 1 / phi(ndtri(p)) = sqrt(2 pi) exp(ndtri(p)^2 / 2)
defelementwise(ndtri, lambda u, ans, p: u * _SQRT_2PI * exp(0.5 * ans * ans))
ndtri.__doc__ = """The inverse of :func:`ndtr` (the standard normal quantile function).

    Example:
        >>> round(float(ndtri(0.975)), 9)
        1.959963985
    """

_polygamma = primitive(np_polygamma, name="scipy.special.polygamma")
defelementwise(_polygamma, lambda u, ans, x, n=0: u * _polygamma(x, n=n + 1))


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

gammaln = primitive(np_gammaln, name="scipy.special.gammaln")
defelementwise(gammaln, lambda u, ans, x: u * digamma(x))
gammaln.__doc__ = """``log(abs(gamma(x)))``, finite for large ``x`` where gamma overflows.

    Example:
        >>> round(float(gammaln(10.0)), 9)  # log(9!)
        12.80182748
    """


gamma = primitive(np_gamma, name="scipy.special.gamma")
defelementwise(gamma, lambda u, ans, x: u * ans * digamma(x))
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
xlogy = primitive(np_xlogy, name="scipy.special.xlogy", broadcasts=True)
defelementwise(
    xlogy,
    lambda u, ans, x, y: u * log(_nonzero_where((x == 0) & (y == 0), y)),
    lambda u, ans, x, y: u * x / _nonzero_where(x == 0, y),
)
xlogy.__doc__ = """``x * log(y)``, and 0 where ``x == 0`` (even for ``y == 0``).

    Example:
        >>> xlogy(np.array([0.0, 2.0]), np.array([0.0, np.e]))
        array([0., 2.])
    """

xlog1py = primitive(np_xlog1py, name="scipy.special.xlog1py", broadcasts=True)
defelementwise(
    xlog1py,
    lambda u, ans, x, y: u * log1p(_nonzero_where((x == 0) & (y == -1), y)),
    lambda u, ans, x, y: u * x / (_nonzero_where(x == 0, y) + 1),
)
xlog1py.__doc__ = """``x * log1p(y)``, and 0 where ``x == 0`` (even for ``y == -1``).

    Example:
        >>> xlog1py(np.array([0.0, 1.0]), np.array([-1.0, 0.0]))
        array([0., 0.])
    """


def _entr_slope(x):  # type: ignore[no-untyped-def]
    # -(1 + log x) for x > 0; +inf at 0 (the one-sided limit); 0 where entr is -inf.
    dtype = float_dtype(dtype_of(x))  # constants in x's dtype: float32 stays float32
    inside = -(log(where(x > 0, x, 1)) + 1)
    return where(x > 0, inside, where(x == 0, np.array(np.inf, dtype), np.array(0, dtype)))


entr = primitive(np_entr, name="scipy.special.entr")
defelementwise(entr, lambda u, ans, x: u * _entr_slope(x))
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
rel_entr = primitive(np_rel_entr, name="scipy.special.rel_entr", broadcasts=True)
defelementwise(
    rel_entr,
    lambda u, ans, x, y: u * where(_rel_entr_mask(x, y), _log_ratio(x, y) + 1, 0),
    lambda u, ans, x, y: -u * _ratio(x, y),
)
rel_entr.__doc__ = """``x log(x / y)`` for x, y > 0; 0 at x == 0 (y >= 0); inf elsewhere.

    Example:
        >>> float(rel_entr(1.0, np.e))
        -1.0
    """


def _kl_div_y_slope(x, y):  # type: ignore[no-untyped-def]
    # 1 - x / y inside; 1 along x == 0 (where kl_div(0, y) = y); 0 where the value is inf.
    return where(_rel_entr_mask(x, y) | ((x == 0) & (y >= 0)), 1 - _ratio(x, y), 0)


kl_div = primitive(np_kl_div, name="scipy.special.kl_div", broadcasts=True)
defelementwise(
    kl_div,
    lambda u, ans, x, y: u * _log_ratio(x, y),
    lambda u, ans, x, y: u * _kl_div_y_slope(x, y),
)
kl_div.__doc__ = """``x log(x / y) - x + y`` for x, y > 0; ``y`` at x == 0 (y >= 0); inf elsewhere.

    Example:
        >>> float(kl_div(1.0, 1.0))
        0.0
    """
