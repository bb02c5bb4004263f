"""Student's t distribution (scipy.stats.t) with ``df`` degrees of freedom.

Differentiable in ``x``, ``df``, ``loc`` and ``scale``. The CDF is the regularized
incomplete beta function: with ``w = df / (df + z^2)`` the tail beyond ``|z|`` is
``I_w(df/2, 1/2) / 2``, computed as ``(1 - I_{1-w}(1/2, df/2)) / 2`` for
``z^2 <= min(df, 1)``, where ``1 - w = z^2 / (df + z^2)`` is the accurate one, and as
an odd power series in ``z`` at the center itself, where the tails' ``|z|`` has a kink.
``df`` must be finite and positive, ``scale`` positive (else nan, as in SciPy).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.numpy.elementwise import exp, log, log1p, where
from tapeflow.scipy.special import betainc, gammaln
from tapeflow.scipy.stats._common import checked, floats, safe

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def _standard(name: str, x: Any, df: Any, loc: Any, scale: Any) -> tuple[Any, ...]:
    """(z, df guarded, scale guarded, valid)."""
    x, df, loc, scale = floats(f"t.{name}", x, df, loc, scale)
    valid = (df > 0) & (scale > 0) & (df < np.inf)
    df, scale = safe(valid, df, 1), safe(valid, scale, 1)
    return (x - loc) / scale, df, scale, valid


_STIRLING = 30.0  # from here on, Stirling's series to 1/h^7 is exact to float64


def _stirling_tail(h: Any) -> Any:
    """``lgamma(h) - ((h - 1/2) log h - h + log(2 pi) / 2)``, for ``h >= 30``."""
    r = 1 / (h * h)
    return (1 / 12 - r * (1 / 360 - r * (1 / 1260 - r / 1680))) / h


def _log_gamma_ratio(h: Any) -> Any:
    """``lgamma(h + 1/2) - lgamma(h)``, the log of the density's constant times ``sqrt(pi)``.

    For large ``h`` the two gammaln are large and nearly equal (``h = 5e5`` would lose
    ten digits), so there Stirling's formula is subtracted term by term instead.
    """
    large = h >= _STIRLING
    hl, hs = safe(large, h, _STIRLING), safe(large, 1, h)
    stirling = (
        (hl - 0.5) * log1p(0.5 / hl)
        - 0.5
        + 0.5 * log(hl + 0.5)
        + (_stirling_tail(hl + 0.5) - _stirling_tail(hl))
    )
    return where(large, stirling, gammaln(hs + 0.5) - gammaln(hs))


def logpdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of the t density.

    Example:
        >>> round(float(logpdf(0.0, 1.0)), 12)  # Cauchy: -log(pi)
        -1.144729885849
    """
    z, df, scale, valid = _standard("logpdf", x, df, loc, scale)
    value = (
        _log_gamma_ratio(0.5 * df)
        - 0.5 * log(df * math.pi)
        - log(scale)
        - (0.5 * df + 0.5) * log1p(z * z / df)
    )
    return checked(valid, value)


def pdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The t density.

    Example:
        >>> round(float(pdf(0.0, 1.0)), 12)  # 1 / pi
        0.318309886184
    """
    return exp(logpdf(x, df, loc, scale))


_CENTER = 0.05  # the series below runs where its terms shrink at least this fast
_TERMS = 16  # 0.05^16 is below float64's resolution


def _odd_part(z: Any, df: Any) -> Any:
    """``cdf(z) - 1/2`` near the center, as an odd power series in ``z``.

    ``z pdf(0) sum_n ((df+1)/2)_n (-z^2/df)^n / (n! (2n + 1))``: the term-by-term integral
    of ``pdf(0) (1 + z^2/df)^(-(df+1)/2)``. Unlike the tails, which go through ``|z|``, it
    is smooth at 0, so derivatives of every order are right at the center itself.
    """
    u = -z * z / df
    rise = 0.5 * (df + 1)
    term = u * rise
    total = 1 + term / 3
    for n in range(2, _TERMS):
        term = term * u * (rise + (n - 1)) / n
        total = total + term / (2 * n + 1)
    density_at_0 = exp(_log_gamma_ratio(0.5 * df) - 0.5 * log(df * math.pi))
    return z * density_at_0 * total


def _tails(name: str, x: Any, df: Any, loc: Any, scale: Any) -> tuple[Any, ...]:
    """(P(T > |z|), whether z < 0, valid, center, cdf - 1/2 at the center).

    Each branch sees only arguments of its own regime (harmless fills elsewhere), so no
    discarded branch leaks a nan into the gradient: the far tail ``z^2 > min(df, 1)``, the near
    tail, and the center, where the tails' ``|z|`` has a kink and the odd series is used.
    """
    z, df, _, valid = _standard(name, x, df, loc, scale)
    z2 = z * z
    # Beyond |z| = min(1, sqrt(df)) the tail is I_w itself; inside, 1 - I_{1-w} loses no
    # digits (I_{1-w} is not near 1 there), and a small tail is never such a difference.
    far = (z2 > df) | (z2 > 1)
    center = (z2 <= _CENTER * df) & (z2 * (df + 1) <= 2 * _CENTER * df)
    z2_far = safe(far, z2, 2 * df)
    z2_near = safe(far | center, 0.5 * df, z2)
    tail_far = 0.5 * betainc(0.5 * df, 0.5, df / (df + z2_far))
    tail_near = 0.5 - 0.5 * betainc(0.5, 0.5 * df, z2_near / (df + z2_near))
    odd = _odd_part(safe(center, z, 0), df)
    return where(far, tail_far, tail_near), z < 0, valid, center, odd


def cdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The t cumulative distribution function.

    Example:
        >>> round(float(cdf(1.0, 1.0)), 12)  # Cauchy: 3/4
        0.75
    """
    tail, lower, valid, center, odd = _tails("cdf", x, df, loc, scale)
    return checked(valid, where(center, 0.5 + odd, where(lower, tail, 1 - tail)))


def sf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The survival function ``1 - cdf``.

    Example:
        >>> round(float(sf(1.0, 1.0)), 12)
        0.25
    """
    tail, lower, valid, center, odd = _tails("sf", x, df, loc, scale)
    return checked(valid, where(center, 0.5 - odd, where(lower, 1 - tail, tail)))


def logcdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of :func:`cdf` (``log1p(-tail)`` above the center).

    Example:
        >>> round(float(logcdf(-1.0, 1.0)), 12)  # log(1/4)
        -1.38629436112
    """
    tail, lower, valid, center, odd = _tails("logcdf", x, df, loc, scale)
    tails = where(lower, log(tail), log1p(-tail))
    return checked(valid, where(center, log(0.5 + odd), tails))


def logsf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The log of :func:`sf`.

    Example:
        >>> round(float(logsf(1.0, 1.0)), 12)
        -1.38629436112
    """
    tail, lower, valid, center, odd = _tails("logsf", x, df, loc, scale)
    tails = where(lower, log1p(-tail), log(tail))
    return checked(valid, where(center, log(0.5 - odd), tails))
