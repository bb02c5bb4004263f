"""Student's t distribution (scipy.stats.t) with ``df`` degrees of freedom.

Differentiable in ``x``, ``df``, ``loc`` and ``scale``. The CDF is the regularized
incomplete beta function: with ``w = df / (df + z^2)`` the tail beyond ``|z|`` is
``I_w(df/2, 1/2) / 2``, computed as ``(1 - I_{1-w}(1/2, df/2)) / 2`` near the center,
where ``1 - w = z^2 / (df + z^2)`` is the accurate one. ``df`` must be finite and
positive, ``scale`` positive (else nan, as in SciPy).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.numpy.elementwise import exp, log, log1p, where
from tapeflow.scipy.special import gammaln
from tapeflow.scipy.stats._common import checked, floats, safe
from tapeflow.scipy.stats._incomplete import betainc

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def _standard(name: str, x: Any, df: Any, loc: Any, scale: Any) -> tuple[Any, ...]:
    """(z, df guarded, scale guarded, valid)."""
    x, df, loc, scale = floats(f"t.{name}", x, df, loc, scale)
    valid = (df > 0) & (scale > 0) & (df < np.inf)
    df, scale = safe(valid, df, 1), safe(valid, scale, 1)
    return (x - loc) / scale, df, scale, valid


def logpdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of the t density.

    Example:
        >>> round(float(logpdf(0.0, 1.0)), 12)  # Cauchy: -log(pi)
        -1.144729885849
    """
    z, df, scale, valid = _standard("logpdf", x, df, loc, scale)
    half = 0.5 * df
    value = (
        gammaln(half + 0.5)
        - gammaln(half)
        - 0.5 * log(df * math.pi)
        - log(scale)
        - (half + 0.5) * log1p(z * z / df)
    )
    return checked(valid, value)


def pdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The t density.

    Example:
        >>> round(float(pdf(0.0, 1.0)), 12)  # 1 / pi
        0.318309886184
    """
    return exp(logpdf(x, df, loc, scale))


def _tails(name: str, x: Any, df: Any, loc: Any, scale: Any) -> tuple[Any, Any, Any]:
    """(P(T > |z|), whether z < 0, valid), each branch on inputs safe for its gradient."""
    z, df, _, valid = _standard(name, x, df, loc, scale)
    z2 = z * z
    far = z2 > df
    # The far branch sees only far arguments, so where it is discarded (near 0) it leaks
    # no 0 * inf. The near branch goes through |z|, whose slope at 0 is 0 * inf: there z
    # moves by a tiny amount (the value changes below rounding), and the slope is the
    # density at 0, as it should be.
    tiny = np.sqrt(np.finfo(z2.dtype).tiny) * z2.dtype.type(1e4)
    z2_far = safe(far, z2, 2 * df)
    z_near = z + where(z == 0, tiny, z2.dtype.type(0))
    z2_near = z_near * z_near
    tail_far = 0.5 * betainc(0.5 * df, 0.5, df / (df + z2_far))
    tail_near = 0.5 - 0.5 * betainc(0.5, 0.5 * df, z2_near / (df + z2_near))
    return where(far, tail_far, tail_near), z < 0, valid


def cdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The t cumulative distribution function.

    Example:
        >>> round(float(cdf(1.0, 1.0)), 12)  # Cauchy: 3/4
        0.75
    """
    tail, lower, valid = _tails("cdf", x, df, loc, scale)
    return checked(valid, where(lower, tail, 1 - tail))


def sf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The survival function ``1 - cdf``.

    Example:
        >>> round(float(sf(1.0, 1.0)), 12)
        0.25
    """
    tail, lower, valid = _tails("sf", x, df, loc, scale)
    return checked(valid, where(lower, 1 - tail, tail))


def logcdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of :func:`cdf` (``log1p(-tail)`` above the center).

    Example:
        >>> round(float(logcdf(-1.0, 1.0)), 12)  # log(1/4)
        -1.38629436112
    """
    tail, lower, valid = _tails("logcdf", x, df, loc, scale)
    return checked(valid, where(lower, log(tail), log1p(-tail)))


def logsf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of :func:`sf`.

    Example:
        >>> round(float(logsf(1.0, 1.0)), 12)
        -1.38629436112
    """
    tail, lower, valid = _tails("logsf", x, df, loc, scale)
    return checked(valid, where(lower, log1p(-tail), log(tail)))
