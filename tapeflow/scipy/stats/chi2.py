"""The chi-squared distribution (scipy.stats.chi2) with ``df`` degrees of freedom.

``chi2(df, loc, scale)`` is ``gamma(df / 2, loc, 2 * scale)``: every function here
calls :mod:`~tapeflow.scipy.stats.gamma`'s, so it is differentiable in ``x``, ``df``,
``loc`` and ``scale`` the same way.
"""

from __future__ import annotations

from typing import Any

from tapeflow.numpy.meta import as_operand
from tapeflow.scipy.stats import gamma

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def _operand(value: Any) -> Any:
    """Arrays as operands; Python numbers stay Python numbers, weak in numpy's promotion
    (``scale=1`` keeps float32 data float32)."""
    return value if isinstance(value, (bool, int, float)) else as_operand(value)


def _shape_scale(df: Any, scale: Any) -> tuple[Any, Any]:
    """gamma's shape and scale: ``df / 2`` and ``2 * scale``."""
    return 0.5 * _operand(df), 2 * _operand(scale)


def logpdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of the chi-squared density.

    Example:
        >>> round(float(logpdf(2.0, 2.0)), 12)  # log(exp(-1) / 2)
        -1.69314718056
    """
    a, gamma_scale = _shape_scale(df, scale)
    return gamma.logpdf(x, a, loc, gamma_scale)


def pdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The chi-squared density.

    Example:
        >>> round(float(pdf(2.0, 2.0)), 12)
        0.183939720586
    """
    a, gamma_scale = _shape_scale(df, scale)
    return gamma.pdf(x, a, loc, gamma_scale)


def cdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The chi-squared CDF, ``P(df / 2, x / 2)`` at ``loc = 0, scale = 1``.

    Example:
        >>> round(float(cdf(2.0, 2.0)), 12)  # 1 - exp(-1)
        0.632120558829
    """
    a, gamma_scale = _shape_scale(df, scale)
    return gamma.cdf(x, a, loc, gamma_scale)


def logcdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of :func:`cdf`.

    Example:
        >>> round(float(logcdf(2.0, 2.0)), 12)
        -0.458675145387
    """
    a, gamma_scale = _shape_scale(df, scale)
    return gamma.logcdf(x, a, loc, gamma_scale)


def sf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The survival function ``1 - cdf``.

    Example:
        >>> round(float(sf(2.0, 2.0)), 12)  # exp(-1)
        0.367879441171
    """
    a, gamma_scale = _shape_scale(df, scale)
    return gamma.sf(x, a, loc, gamma_scale)


def logsf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of :func:`sf`.

    Example:
        >>> round(float(logsf(2.0, 2.0)), 12)
        -1.0
    """
    a, gamma_scale = _shape_scale(df, scale)
    return gamma.logsf(x, a, loc, gamma_scale)
