"""The gamma distribution (scipy.stats.gamma) with shape ``a``, ``loc`` and ``scale``.

Differentiable in ``x``, ``a``, ``loc`` and ``scale``. The CDF and survival function
are the regularized incomplete gamma functions ``P(a, y)`` and ``Q(a, y)`` of
``y = (x - loc) / scale`` (:func:`tapeflow.scipy.special.gammainc` and
``gammaincc``); their derivatives in ``a`` have no closed form and are computed to full
precision by the series themselves. Below ``loc`` the density is 0; ``a`` and
``scale`` must be positive (else nan).
"""

from __future__ import annotations

from typing import Any

from tapeflow.numpy.elementwise import exp, log, where
from tapeflow.scipy.special import gammainc, gammaincc, gammaln, xlogy
from tapeflow.scipy.stats._common import checked, floats, log_complement, safe

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

_INF = float("inf")


def _standard(name: str, x: Any, a: Any, loc: Any, scale: Any) -> tuple[Any, ...]:
    """(y, a guarded, scale guarded, valid, inside the support)."""
    x, a, loc, scale = floats(f"gamma.{name}", x, a, loc, scale)
    valid = (a > 0) & (scale > 0)
    a, scale = safe(valid, a, 1), safe(valid, scale, 1)
    y = (x - loc) / scale
    inside = y >= 0
    return safe(inside, y, 1), a, scale, valid, inside


def logpdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of the gamma density ``y^(a-1) e^-y / Gamma(a) / scale``.

    Example:
        >>> round(float(logpdf(1.0, 1.0)), 12)  # exponential: -1
        -1.0
    """
    y, a, scale, valid, inside = _standard("logpdf", x, a, loc, scale)
    value = xlogy(a - 1, y) - y - gammaln(a) - log(scale)
    return checked(valid, where(inside, value, -_INF))


def pdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The gamma density.

    Example:
        >>> round(float(pdf(2.0, 1.0)), 12)  # exp(-2)
        0.135335283237
    """
    return exp(logpdf(x, a, loc, scale))


def cdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The gamma CDF, ``P(a, y)``.

    Example:
        >>> round(float(cdf(2.0, 1.0)), 12)  # 1 - exp(-2)
        0.864664716763
    """
    y, a, _, valid, inside = _standard("cdf", x, a, loc, scale)
    return checked(valid, where(inside, gammainc(a, y), 0))


def sf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The survival function ``Q(a, y)``, accurate in the upper tail.

    Example:
        >>> round(float(sf(2.0, 1.0)), 12)  # exp(-2)
        0.135335283237
    """
    y, a, _, valid, inside = _standard("sf", x, a, loc, scale)
    return checked(valid, where(inside, gammaincc(a, y), 1))


def logcdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of :func:`cdf` (``-inf`` below ``loc``; ``log1p(-sf)`` where cdf is near 1).

    Example:
        >>> round(float(logcdf(2.0, 1.0)), 12)
        -0.145413457869
    """
    y, a, _, valid, inside = _standard("logcdf", x, a, loc, scale)
    return checked(valid, where(inside, log_complement(gammainc(a, y), gammaincc(a, y)), -_INF))


def logsf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of :func:`sf` (``log1p(-cdf)`` where sf is near 1).

    Example:
        >>> round(float(logsf(2.0, 1.0)), 12)
        -2.0
    """
    y, a, _, valid, inside = _standard("logsf", x, a, loc, scale)
    return checked(valid, where(inside, log_complement(gammaincc(a, y), gammainc(a, y)), 0))
