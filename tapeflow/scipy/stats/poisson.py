"""The Poisson distribution (scipy.stats.poisson) with mean ``mu``, shifted by ``loc``.

Differentiable in ``mu``. The count ``k`` is discrete: like ``floor``, it carries no
gradient, and a ``k`` that is not an integer has probability 0. ``cdf(k)`` is
``Q(floor(k) + 1, mu)`` and ``sf(k)`` is ``P(floor(k) + 1, mu)`` (regularized
incomplete gamma functions), whose derivative in ``mu`` is ``-pmf`` and ``pmf``.
``mu`` must be non-negative (else nan, as in SciPy).
"""

from __future__ import annotations

from typing import Any

from tapeflow.numpy.elementwise import exp, floor, where
from tapeflow.scipy.special import gammainc, gammaincc, gammaln, xlogy
from tapeflow.scipy.stats._common import checked, floats, log_complement, safe

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"]

_INF = float("inf")


def _standard(name: str, k: Any, mu: Any, loc: Any) -> tuple[Any, ...]:
    """(floor(k - loc) where it is >= 0 else 0, mu guarded, valid, k - loc, counted)."""
    k, mu, loc = floats(f"poisson.{name}", k, mu, loc)
    valid = mu >= 0
    shifted = k - loc
    whole = floor(shifted)
    counted = whole >= 0
    return safe(counted, whole, 0), safe(valid, mu, 1), valid, shifted, counted


def logpmf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """The log of the probability ``mu^k e^-mu / k!`` (``-inf`` off the integers >= 0).

    Example:
        >>> round(float(logpmf(2, 3.0)), 12)  # log(9/2 e^-3)
        -1.495922603224
    """
    whole, mu, valid, shifted, counted = _standard("logpmf", k, mu, loc)
    value = xlogy(whole, mu) - gammaln(whole + 1) - mu
    return checked(valid, where(counted & (shifted == whole), value, -_INF))


def pmf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """The probability of ``k`` events.

    Example:
        >>> round(float(pmf(0, 2.0)), 12)  # exp(-2)
        0.135335283237
    """
    return exp(logpmf(k, mu, loc))


def cdf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """The probability of at most ``floor(k)`` events.

    Example:
        >>> round(float(cdf(1, 2.0)), 12)  # 3 exp(-2)
        0.40600584971
    """
    whole, mu, valid, _, counted = _standard("cdf", k, mu, loc)
    return checked(valid, where(counted, gammaincc(whole + 1, mu), 0))


def sf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """The probability of more than ``floor(k)`` events, ``1 - cdf``.

    Example:
        >>> round(float(sf(1, 2.0)), 12)
        0.59399415029
    """
    whole, mu, valid, _, counted = _standard("sf", k, mu, loc)
    return checked(valid, where(counted, gammainc(whole + 1, mu), 1))


def logcdf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """The log of :func:`cdf`.

    Example:
        >>> round(float(logcdf(1, 2.0)), 12)
        -0.901387711332
    """
    whole, mu, valid, _, counted = _standard("logcdf", k, mu, loc)
    value = log_complement(gammaincc(whole + 1, mu), gammainc(whole + 1, mu))
    return checked(valid, where(counted, value, -_INF))


def logsf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """The log of :func:`sf`.

    Example:
        >>> round(float(logsf(1, 2.0)), 12)
        -0.520885807664
    """
    whole, mu, valid, _, counted = _standard("logsf", k, mu, loc)
    value = log_complement(gammainc(whole + 1, mu), gammaincc(whole + 1, mu))
    return checked(valid, where(counted, value, 0))
