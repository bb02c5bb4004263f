"""The beta distribution (scipy.stats.beta) with shapes ``a``, ``b``, ``loc`` and ``scale``.

Differentiable in ``x``, ``a``, ``b``, ``loc`` and ``scale``. The CDF is the
regularized incomplete beta function ``I_y(a, b)`` of ``y = (x - loc) / scale`` and
the survival function ``I_{1-y}(b, a)`` (:func:`tapeflow.scipy.special.betainc`); their
derivatives in ``a`` and ``b`` are computed to full precision by the algorithm itself.
Outside ``[0, 1]`` the density is 0; ``a``, ``b`` and ``scale`` must be positive.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.numpy.elementwise import exp, log, where
from tapeflow.numpy.meta import dtype_of
from tapeflow.scipy.special import betainc, betaln, xlog1py, xlogy
from tapeflow.scipy.stats._common import checked, floats, log_complement, safe

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

_INF = float("inf")


def _standard(name: str, x: Any, a: Any, b: Any, loc: Any, scale: Any) -> tuple[Any, ...]:
    """(y, a, b, scale guarded, valid, inside [0, 1], below 0)."""
    x, a, b, loc, scale = floats(f"beta.{name}", x, a, b, loc, scale)
    valid = (a > 0) & (b > 0) & (scale > 0)
    a, b, scale = safe(valid, a, 1), safe(valid, b, 1), safe(valid, scale, 1)
    y = (x - loc) / scale
    inside = (y >= 0) & (y <= 1)
    return safe(inside, y, 0.5), a, b, scale, valid, inside, y < 0


def _outside(below: Any, low: float, high: float, like: Any) -> Any:
    """``low`` below the support and ``high`` above it, in ``like``'s dtype."""
    return np.where(below, low, high).astype(dtype_of(like))


def logpdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of the beta density ``y^(a-1) (1-y)^(b-1) / B(a, b) / scale``.

    Example:
        >>> round(float(logpdf(0.5, 2.0, 2.0)), 12)  # log(6 / 4)
        0.405465108108
    """
    y, a, b, scale, valid, inside, _ = _standard("logpdf", x, a, b, loc, scale)
    value = xlogy(a - 1, y) + xlog1py(b - 1, -y) - betaln(a, b) - log(scale)
    return checked(valid, where(inside, value, -_INF))


def pdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The beta density.

    Example:
        >>> round(float(pdf(0.5, 2.0, 2.0)), 12)
        1.5
    """
    return exp(logpdf(x, a, b, loc, scale))


def cdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The beta CDF, ``I_y(a, b)``.

    Example:
        >>> round(float(cdf(0.5, 2.0, 1.0)), 12)  # y ** 2
        0.25
    """
    y, a, b, _, valid, inside, below = _standard("cdf", x, a, b, loc, scale)
    return checked(valid, where(inside, betainc(a, b, y), _outside(below, 0, 1, y)))


def sf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The survival function ``I_{1-y}(b, a)``.

    Example:
        >>> round(float(sf(0.5, 2.0, 1.0)), 12)
        0.75
    """
    y, a, b, _, valid, inside, below = _standard("sf", x, a, b, loc, scale)
    return checked(valid, where(inside, betainc(b, a, 1 - y), _outside(below, 1, 0, y)))


def logcdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of :func:`cdf` (``log1p(-sf)`` where cdf is near 1).

    Example:
        >>> round(float(logcdf(0.5, 2.0, 1.0)), 12)
        -1.38629436112
    """
    y, a, b, _, valid, inside, below = _standard("logcdf", x, a, b, loc, scale)
    value = log_complement(betainc(a, b, y), betainc(b, a, 1 - y))
    return checked(valid, where(inside, value, _outside(below, -_INF, 0, y)))


def logsf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of :func:`sf` (``log1p(-cdf)`` where sf is near 1).

    Example:
        >>> round(float(logsf(0.5, 2.0, 1.0)), 12)
        -0.287682072452
    """
    y, a, b, _, valid, inside, below = _standard("logsf", x, a, b, loc, scale)
    value = log_complement(betainc(b, a, 1 - y), betainc(a, b, y))
    return checked(valid, where(inside, value, _outside(below, 0, -_INF, y)))
