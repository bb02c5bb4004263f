"""The normal distribution (scipy.stats.norm): ``loc`` the mean, ``scale`` the deviation.

Differentiable in ``x``, ``loc`` and ``scale``; the tails use ``log_ndtr``, so
``logcdf`` and ``logsf`` stay finite far beyond where ``cdf`` underflows. A ``scale``
that is not positive gives nan, as in SciPy.
"""

from __future__ import annotations

import math
from typing import Any

from tapeflow.numpy.elementwise import exp, log
from tapeflow.scipy.special import log_ndtr, ndtr, ndtri
from tapeflow.scipy.stats._common import checked, floats, safe

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _standard(name: str, x: Any, loc: Any, scale: Any) -> tuple[Any, Any, Any]:
    """(z, valid, scale guarded to stay positive)."""
    x, loc, scale = floats(f"norm.{name}", x, loc, scale)
    valid = scale > 0
    scale = safe(valid, scale, 1)
    return (x - loc) / scale, valid, scale


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of the normal density.

    Example:
        >>> round(float(logpdf(0.0)), 12)
        -0.918938533205
    """
    z, valid, scale = _standard("logpdf", x, loc, scale)
    return checked(valid, -0.5 * z * z - log(scale) - _HALF_LOG_2PI)


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The normal density.

    Example:
        >>> round(float(pdf(1.0, loc=1.0, scale=2.0)), 12)
        0.199471140201
    """
    return exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The normal cumulative distribution function.

    Example:
        >>> float(cdf(0.0))
        0.5
    """
    z, valid, _ = _standard("cdf", x, loc, scale)
    return checked(valid, ndtr(z))


def logcdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of :func:`cdf`, finite far into the lower tail.

    Example:
        >>> round(float(logcdf(-40.0)), 6)
        -804.608442
    """
    z, valid, _ = _standard("logcdf", x, loc, scale)
    return checked(valid, log_ndtr(z))


def sf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The survival function ``1 - cdf``, accurate in the upper tail.

    Example:
        >>> float(sf(0.0))
        0.5
    """
    z, valid, _ = _standard("sf", x, loc, scale)
    return checked(valid, ndtr(-z))


def logsf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of :func:`sf`.

    Example:
        >>> round(float(logsf(40.0)), 6)
        -804.608442
    """
    z, valid, _ = _standard("logsf", x, loc, scale)
    return checked(valid, log_ndtr(-z))


def ppf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The quantile function, the inverse of :func:`cdf`.

    Example:
        >>> round(float(ppf(0.975)), 9)
        1.959963985
    """
    q, loc, scale = floats("norm.ppf", q, loc, scale)
    return checked(scale > 0, loc + scale * ndtri(q))


def isf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The inverse of :func:`sf`: ``ppf(1 - q)``, accurate for small ``q``.

    Example:
        >>> round(float(isf(0.025)), 9)
        1.959963985
    """
    q, loc, scale = floats("norm.isf", q, loc, scale)
    return checked(scale > 0, loc - scale * ndtri(q))
